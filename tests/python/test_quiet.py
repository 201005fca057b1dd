"""A quiet console: no TensorFlow/absl log walls, and library(cnnkit) does not start Python."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT, r_env

NOISE = re.compile(r"absl|oneDNN|cpu_feature_guard|^[IWE]\d{4} |cuda|TF-TRT")


def test_python_import_and_first_model_print_nothing():
    code = "import cnnkit; m = cnnkit.simple_cnn(); m.predict(__import__('numpy').zeros((1, 32, 32, 3)), verbose=0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert not [l for l in proc.stderr.splitlines() if NOISE.search(l)], proc.stderr


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


def test_library_cnnkit_is_silent_and_does_not_start_python():
    """Attaching loads neither Python nor reticulate (whose own load takes ~0.65 s here)."""
    proc = _rscript("library(cnnkit); cat('reticulate' %in% loadedNamespaces(), '');"
                    "k <- keras; cat(reticulate::py_available(initialize = FALSE))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["FALSE", "FALSE"]  # touching `keras` still does not start Python
    assert proc.stderr.strip() == ""


def test_first_model_from_r_prints_no_tensorflow_log_lines():
    proc = _rscript("library(cnnkit); m <- simple_cnn(); invisible(m$predict(array(0, c(1, 32, 32, 3)), verbose = 0L)); cat('done')")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert not [l for l in proc.stderr.splitlines() if NOISE.search(l)], proc.stderr
