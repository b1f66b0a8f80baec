#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite, slow end-to-end tests included.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow" for the quick part only.
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=${EXTRAS:-dev,hifigan,eval} ./setup.sh
.venv/bin/python -m pytest -q "$@"
