#!/usr/bin/env bash
# The test command: set up (idempotent), lint (scripts/lint.sh: ruff and mypy), then pytest, which also
# runs the testthat suite through Rscript and R CMD check. Prints pytest's and testthat's counts; exits
# non-zero if the lint, pytest or testthat fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export R_LD_LIBRARY_PATH=/usr/lib/R/lib
export RETICULATE_PYTHON="$root/.venv/bin/python"
export R_LIBS="$root/.rlib"
export CNNKIT_REQUIRE_PYTHON=1
export KERAS_HOME="${KERAS_HOME:-$root/.venv/keras-home}"
# Two tiers (tests/python/conftest.py, --tier):
#   no arguments (make test, CI): the lint, the whole suite, then a selection of the Python tests against
#     the Python-only install (scripts/test_pip_install.sh: the wheel with what pip resolves for it --
#     NumPy 2, the full tensorflow build -- in .venv-pip; about 2 minutes on 2 idle cores, environment
#     included), then the R package on reticulate 1.46 with that Python and the py_require() route
#     (scripts/test_reticulate146.sh; about 2 minutes once reticulate is built).
#   --tier=fast (make check, the everyday tier): the lint, then the tests not marked slow and a sample of
#     the contract matrices (with the R suite's fast files); not the Python-only install.
# With paths (-k, -x ... as well): just those tests, no lint, e.g.
#   bash scripts/test.sh tests/python/test_models.py -q
has_path=0 fast=0
for a in "$@"; do
  case "$a" in tests/*) has_path=1;; --tier=fast) fast=1;; esac
done
if [ "$has_path" = 1 ]; then
  exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
lint_status=0
bash scripts/lint.sh || lint_status=$?
status=0
.venv/bin/python -m pytest -p no:cacheprovider tests/python "$@" || status=$?
pip_status=0 ret_status=0
if [ "$fast" = 0 ]; then
  printf '\n[test] the Python-only install (NumPy 2): scripts/test_pip_install.sh\n'
  unset RETICULATE_PYTHON R_LIBS CNNKIT_REQUIRE_PYTHON
  KERAS_HOME= bash scripts/test_pip_install.sh "$@" || pip_status=$?
  # Today's reticulate (1.46) with that NumPy 2 Python, for the testthat files that meet reticulate,
  # and the py_require() route once with uv; skipped where ../shared/deps has no reticulate tarball.
  printf '\n[test] the R package on reticulate 1.46: scripts/test_reticulate146.sh\n'
  bash scripts/test_reticulate146.sh || ret_status=$?
fi
[ "$lint_status" = 0 ] || { echo "[test] the lint failed (scripts/lint.sh, output above)" >&2; exit "$lint_status"; }
[ "$status" = 0 ] || { echo "[test] the main suite failed (exit status $status)" >&2; exit "$status"; }
[ "$pip_status" = 0 ] || exit "$pip_status"
exit "$ret_status"
