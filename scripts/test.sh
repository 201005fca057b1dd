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
# With no arguments: the whole suite. With arguments (paths, -k, -x ...): just those, e.g.
#   bash scripts/test.sh tests/python/test_models.py -q
has_path=0
for a in "$@"; do case "$a" in tests/*) has_path=1;; esac; done
[ "$has_path" = 1 ] || set -- tests/python "$@"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
