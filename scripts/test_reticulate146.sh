#!/usr/bin/env bash
# cnnkit's R package on today's reticulate (1.46, what CRAN users have; Debian 12 ships 1.28), tested:
# 1. the testthat files whose code meets reticulate -- the seam and conversions (coerce), the set-up
#    doctor and the choice of Python (config), install_cnnkit() (install), the slides' code (slides),
#    data exchange (data, data-kinds) -- against reticulate 1.46 with a NumPy 2 Python (.venv-pip,
#    the Python-only install scripts/test_pip_install.sh makes: TensorFlow, Keras, NumPy 2);
# 2. the py_require() route once: a session with no Python chosen and no r-cnnkit, uv on the PATH
#    (from the package index), where reticulate provisions what cnnkit declares and a model is built.
# reticulate 1.46 is built from ../shared/deps/reticulate_1.46.0.tar.gz into .rlib-ret146 (once,
# about a minute); without that file this script says so and does nothing. scripts/test.sh runs it
# after the Python-only install; alone: bash scripts/test_reticulate146.sh [testthat file names].
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[test-ret146] %s\n' "$*"; }
tarball="${CNNKIT_RETICULATE_TARBALL:-$root/../shared/deps/reticulate_1.46.0.tar.gz}"
if [ ! -f "$tarball" ]; then
  log "no $tarball: reticulate 1.46 not tested here"
  exit 0
fi
export R_LD_LIBRARY_PATH=/usr/lib/R/lib
lib=.rlib-ret146
stamp="$lib/.reticulate-$(sha1sum "$tarball" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "building reticulate from $(basename "$tarball") into $lib/ (about a minute)"
  rm -rf "$lib" && mkdir -p "$lib"
  if ! R CMD INSTALL --no-test-load -l "$lib" "$tarball" > "$lib/install.log" 2>&1; then
    cat "$lib/install.log" >&2; log "R CMD INSTALL of reticulate failed (log above)"; exit 1
  fi
  touch "$stamp"
fi
ls .rlib/.cnnkit-* >/dev/null 2>&1 || bash scripts/setup.sh >/dev/null
[ -x .venv-pip/bin/python ] || KERAS_HOME= bash scripts/test_pip_install.sh tests/python/test_imports.py >/dev/null
export R_LIBS="$root/$lib:$root/.rlib"   # reticulate 1.46 first; cnnkit from .rlib
export KERAS_HOME="${KERAS_HOME:-$root/.venv-pip/keras-home}"
unset RETICULATE_PYTHON_ENV VIRTUAL_ENV
log "$(Rscript -e 'cat("reticulate", format(packageVersion("reticulate")), "from", dirname(find.package("reticulate")))')," \
    "$(.venv-pip/bin/python -c 'import numpy; print("NumPy", numpy.__version__)')"

# --- 1. the testthat files that meet reticulate, with the NumPy 2 Python ---
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test-coerce.R test-config.R test-install.R test-slides.R test-data.R test-data-kinds.R)
status=0
for f in "${files[@]}"; do
  start=$SECONDS
  if RETICULATE_PYTHON="$root/.venv-pip/bin/python" CNNKIT_REQUIRE_PYTHON=1 Rscript -e \
      'r <- as.data.frame(testthat::test_file(commandArgs(TRUE)[1], reporter = "summary", package = "cnnkit",
                                               load_package = "installed", stop_on_failure = FALSE))
       cat(sprintf("\n%d passed, %d failed, %d skipped\n", sum(r$passed), sum(r$failed) + sum(r$error), sum(r$skipped)))
       quit(status = as.integer(sum(r$failed) + sum(r$error) + sum(r$skipped) > 0))' "tests/testthat/$f" \
      > "$lib/$f.log" 2>&1; then
    log "$f: $(tail -n 1 "$lib/$f.log") ($((SECONDS - start)) s)"
  else
    status=1; cat "$lib/$f.log" >&2; log "$f FAILED ($((SECONDS - start)) s; log above)"
  fi
done

# --- 2. the py_require() route: nothing chosen, no r-cnnkit, uv from the package index on the PATH ---
if [ "${CNNKIT_TEST_PY_REQUIRE:-1}" = 1 ] && [ $# -eq 0 ]; then
  start=$SECONDS
  [ -x .venv-pip/bin/uv ] || .venv-pip/bin/python -m pip install -q --disable-pip-version-check uv 2>&1 \
    | { grep -v '^WARNING: Location' || true; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/venvs"
  # uv cannot download Python builds here (GitHub): the system's Python; its cache outlives $work.
  if (cd "$work" && env -u RETICULATE_PYTHON PATH="$root/.venv-pip/bin:$PATH" UV_PYTHON_PREFERENCE=only-system \
        WORKON_HOME="$work/venvs" RETICULATE_VIRTUALENV_ROOT="$work/venvs" CNNKIT_CACHE_DIR="$work/cache" \
        Rscript -e 'library(cnnkit)
                    m <- lenet5()
                    cat("py_require route:", cnnkit:::python_in_use()$why, "\n")
                    cat("python:", reticulate::py_config()$python, "\n")
                    cat("lenet5 parameters:", m$count_params(), "\n")
                    tf <- reticulate::import("importlib.metadata")$distributions()
                    tf <- grep("^tensorflow", vapply(reticulate::iterate(tf), function(d) d$metadata$get("Name"), ""), value = TRUE)
                    tf <- gsub("_", "-", tolower(tf))
                    cat("TensorFlow distributions:", tf, "\n")
                    stopifnot(identical(sort(tf), c("tensorflow-cpu")) || Sys.info()[["sysname"]] != "Linux")
                    stopifnot(isTRUE(reticulate::py_config()$ephemeral), cnnkit_available())' \
        > "$root/$lib/py_require.log" 2>&1); then
    log "py_require route: $(grep -c . "$lib/py_require.log") lines, lenet5 built ($((SECONDS - start)) s)"
    grep -E "^(py_require route|lenet5|TensorFlow)" "$lib/py_require.log" | sed 's/^/[test-ret146]   /'
  else
    status=1; cat "$lib/py_require.log" >&2; log "py_require route FAILED ($((SECONDS - start)) s; log above)"
  fi
fi
log "done after ${SECONDS} s (exit status $status)"
exit "$status"
