"""A quiet console: no TensorFlow/absl log walls, and library(cnnkit) does not start Python."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, r_env

NOISE = re.compile(r"absl|oneDNN|cpu_feature_guard|^[IWE]\d{4} |cuda|TF-TRT")


def test_python_import_and_first_model_print_nothing():
    code = "import cnnkit; m = cnnkit.simple_cnn(); m.predict(__import__('numpy').zeros((1, 32, 32, 3)), verbose=0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert not [ln for ln in proc.stderr.splitlines() if NOISE.search(ln)], proc.stderr


def test_python_import_keeps_real_stderr_lines(tmp_path):
    """The filter drops known noise only: anything else written while TensorFlow loads comes back."""
    (tmp_path / "tensorflow.py").write_text(
        "import os\nos.write(2, b'I0000 port.cc] oneDNN custom operations are on\\nsomething real went wrong\\n')\n"
    )
    quiet = ROOT / "python" / "cnnkit" / "_quiet.py"
    code = (
        "import importlib.util, os\n"
        "os.environ['KERAS_BACKEND'] = 'tensorflow'\n"
        f"spec = importlib.util.spec_from_file_location('q', {str(quiet)!r})\n"
        "q = importlib.util.module_from_spec(spec); spec.loader.exec_module(q)\n"
        "q.import_backend_quietly()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "something real went wrong" in proc.stderr
    assert "oneDNN" not in proc.stderr


def _rscript(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True,
                          env=r_env(), cwd=ROOT, timeout=300)


@pytest.mark.needs_r
def test_library_cnnkit_is_silent_and_does_not_start_python():
    """Attaching loads neither Python nor reticulate (whose own load takes ~0.65 s here)."""
    proc = _rscript("library(cnnkit); cat('reticulate' %in% loadedNamespaces(), '');"
                    "k <- keras; cat(reticulate::py_available(initialize = FALSE))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["FALSE", "FALSE"]  # touching `keras` still does not start Python
    assert proc.stderr.strip() == ""


@pytest.mark.needs_r
def test_first_model_from_r_prints_no_tensorflow_log_lines():
    proc = _rscript("library(cnnkit); m <- simple_cnn(); "
                    "invisible(m$predict(array(0, c(1, 32, 32, 3)), verbose = 0L)); cat('done')")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert not [ln for ln in proc.stderr.splitlines() if NOISE.search(ln)], proc.stderr


def _full_tensorflow() -> bool:
    """The standard `tensorflow` build (CUDA-capable on Linux), as `pip install ./python` gives it,
    rather than `tensorflow-cpu` (the set-up's pinned build, which never calls cuInit)."""
    try:
        importlib.metadata.version("tensorflow")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def test_no_cuinit_line_on_a_machine_without_an_nvidia_driver():
    """The full tensorflow build logs `failed call to cuInit` (an E-level line, after the import, at the
    first device lookup) on a machine without a driver; cnnkit drops it there, and only there."""
    from cnnkit._quiet import keep_lines, nvidia_driver_present

    line = "E0000 00:00:1795943551.644761 7769 cuda_platform.cc:52] failed call to cuInit: INTERNAL: UNKNOWN ERROR (303)"
    assert keep_lines(line + "\nreal error\n", driver=False) == ["real error"]
    assert keep_lines(line, driver=True) == [line]  # with a driver, a failing cuInit is a real problem
    code = ("import cnnkit, keras, numpy; keras.ops.convert_to_tensor(numpy.zeros(2)); "
            "cnnkit.simple_cnn().predict(numpy.zeros((1, 32, 32, 3)), verbose=0)")
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert "cuInit" not in quiet.stderr and not [ln for ln in quiet.stderr.splitlines() if NOISE.search(ln)], quiet.stderr
    if _full_tensorflow() and not nvidia_driver_present():  # the Python-only install (scripts/test_pip_install.sh)
        loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "CNNKIT_VERBOSE_TF": "1"})
        assert "failed call to cuInit" in loud.stderr, loud.stderr  # what the filter removed is really there


def test_import_cnnkit_loads_no_tensorflow_until_needed():
    code = ("import sys, cnnkit, cnnkit.cli; cnnkit.cli.build_parser(); print('tensorflow' in sys.modules); "
            "cnnkit.summary_text; print('tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
    assert not [ln for ln in proc.stderr.splitlines() if NOISE.search(ln)], proc.stderr
