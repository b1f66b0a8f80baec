#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite, slow end-to-end tests included.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow" for the quick part only.
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=${EXTRAS:-dev,hifigan,eval,web,browser,live,onnx,music} ./setup.sh
# Tests that need Debian packages (Chromium, FluidSynth) must run here, never be skipped.
VAEGAN_REQUIRE_SYSTEM_DEPS=1 .venv/bin/python -m pytest -q "$@"
