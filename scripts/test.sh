#!/usr/bin/env bash
# The test command: set up (idempotent), then pytest, which also runs the testthat suite through
# Rscript and R CMD check. Prints pytest's and testthat's counts; exits non-zero if either fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export R_LD_LIBRARY_PATH=/usr/lib/R/lib
export RETICULATE_PYTHON="$root/.venv/bin/python"
export R_LIBS="$root/.rlib"
export CNNKIT_REQUIRE_PYTHON=1
export KERAS_HOME="${KERAS_HOME:-$root/.venv/keras-home}"
exec .venv/bin/python -m pytest tests/python -p no:cacheprovider "$@"
