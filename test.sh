#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite, slow end-to-end tests included.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow" for the quick part only.
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=${EXTRAS:-dev,hifigan,eval,web,browser,live,onnx} ./setup.sh
# The browser tests must run here, never be skipped for a missing Chromium.
VAEGAN_REQUIRE_BROWSER=1 .venv/bin/python -m pytest -q "$@"
