#!/usr/bin/env bash
# Create .venv and install vaegan-vc with the extras named in $EXTRAS (default: dev,hifigan,web: the
# tests, the pretrained HiFi-GAN vocoder and the web page). Extras: see pyproject.toml.
# torch is installed first and pinned by TORCH_SPEC, so a loose requirement never pulls a
# multi-GB build you did not ask for (set TORCH_SPEC="torch>=2.11,<2.14" to let pip choose).
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=${EXTRAS:-dev,hifigan,web}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q "$TORCH_SPEC"
fi
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
# Debian packages some extras need: Chromium for the browser tests (Playwright's own browser
# download is not used), PortAudio for `vaegan-vc live`, FluidSynth and a GM soundfont for
# `data synth-instruments`. Installed only when missing.
apt_packages=()
if [[ ",$EXTRAS," == *",browser,"* ]] && ! command -v chromium >/dev/null; then apt_packages+=(chromium); fi
if [[ ",$EXTRAS," == *",live,"* ]] && ! ldconfig -p 2>/dev/null | grep -q libportaudio; then apt_packages+=(libportaudio2); fi
if [[ ",$EXTRAS," == *",music,"* ]] && ! ldconfig -p 2>/dev/null | grep -q libfluidsynth; then apt_packages+=(libfluidsynth3); fi
if [[ ",$EXTRAS," == *",music,"* ]] && [ ! -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then apt_packages+=(fluid-soundfont-gm); fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing Debian packages: ${apt_packages[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi
echo "vaegan-vc installed in .venv (extras: ${EXTRAS}); activate with: source .venv/bin/activate"
