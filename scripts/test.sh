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
# With no arguments: the whole suite, then a selection of the Python tests against the Python-only
# install (scripts/test_pip_install.sh: the wheel with what pip resolves for it -- NumPy 2, the full
# tensorflow build -- in .venv-pip; about 2 minutes on 2 idle cores, environment included).
# With arguments (paths, -k, -x ...): just those, e.g.
#   bash scripts/test.sh tests/python/test_models.py -q
has_path=0
for a in "$@"; do case "$a" in tests/*) has_path=1;; esac; done
if [ "$has_path" = 1 ]; then
  exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
status=0
.venv/bin/python -m pytest -p no:cacheprovider tests/python "$@" || status=$?
printf '\n[test] the Python-only install (NumPy 2): scripts/test_pip_install.sh\n'
unset RETICULATE_PYTHON R_LIBS CNNKIT_REQUIRE_PYTHON
pip_status=0
KERAS_HOME= bash scripts/test_pip_install.sh "$@" || pip_status=$?
[ "$status" = 0 ] || { echo "[test] the main suite failed (exit status $status)" >&2; exit "$status"; }
exit "$pip_status"
