"""The set-up doctor (cnnkit.config(), ``cnnkit doctor``) and what a Python without Keras says.

The "without Keras" cases run in a throwaway virtual environment that has nothing installed
(``python -m venv --without-pip``) with the source tree on ``PYTHONPATH``: there ``import cnnkit``
works, the report names what is missing, and a model function raises the real
ModuleNotFoundError (never "'_Package' object is not subscriptable").
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv

import pytest

import cnnkit
from cnnkit import config as config_fn
from cnnkit._quiet import NOISE
from conftest import ROOT

CONFIG = __import__("importlib").import_module("cnnkit.config")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """A Python with no packages at all (no Keras, TensorFlow or NumPy)."""
    where = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    return str(where / "bin" / "python")


def _run(python: str, *args: str) -> subprocess.CompletedProcess:
    """``python args`` with the source tree importable and TensorFlow's log level as a user has it (unset)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CNNKIT_VERBOSE_TF")}
    environ["PYTHONPATH"] = str(ROOT / "python")
    return subprocess.run([python, *args], capture_output=True, text=True, env=environ, cwd=ROOT, timeout=300)


def test_config_is_the_function_and_reports_a_working_setup():
    assert cnnkit.config is config_fn and callable(cnnkit.config)  # not the submodule of the same name
    assert "config" not in cnnkit.__all__  # R: cnnkit_config() (tests/spec/r_parity.json)
    report = cnnkit.config()
    text = str(report)
    assert report.ok, text
    assert report.problems == []
    titles = [t for t, _ in report.sections]
    for title in ("Python", "Packages", "Together", "CPU", "GPUs", "precision", "Keras cache", "limits"):
        assert title in titles, text
    assert repr(report) == text
    assert text.endswith("cnnkit can build and train models here.")
    assert len(text.splitlines()) <= 24, "more than one screen"
    assert max(len(line) for line in text.splitlines()) <= 130, text
    facts = report.facts
    assert facts["versions"]["keras"] and facts["versions"]["tensorflow"] and facts["versions"]["numpy"]
    assert facts["builds_model"] is True
    assert facts["keras_cache"] == cnnkit.backbones.cache_dir()
    assert set(facts["limits"]) == set(cnnkit.limits())
    assert facts["fast_bfloat16"] == cnnkit.precision.fast_bfloat16()


def test_report_says_what_precision_auto_picks(monkeypatch):
    monkeypatch.setattr(cnnkit.precision, "fast_bfloat16", lambda: "cpu")
    row = dict(cnnkit.config().sections)["precision"]
    assert "mixed_bfloat16" in row and "depthwise" in row and "AMX-BF16" in row
    monkeypatch.setattr(cnnkit.precision, "fast_bfloat16", lambda: None)
    assert dict(cnnkit.config().sections)["precision"].startswith('"auto" picks float32')


def test_limits_in_force_are_shown_with_their_variable(monkeypatch):
    monkeypatch.setenv("CNNKIT_MAX_EPOCHS", "50")
    row = dict(cnnkit.config().sections)["limits"]
    assert "epochs 50 (CNNKIT_MAX_EPOCHS)" in row and "1 changed" in row
    monkeypatch.setenv("CNNKIT_MAX_EPOCHS", "many")
    report = cnnkit.config()
    assert not report.ok and "CNNKIT_MAX_EPOCHS" in report.problems[0]


def test_cpu_features_come_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
                    "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    cpu = CONFIG.cpu_facts(str(info))
    assert cpu["model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert cpu["flags"] == {"AVX2": True, "AVX-512": True, "AVX512_BF16": True, "AVX512_VNNI": False,
                            "AMX-BF16": True, "AMX": True}
    assert CONFIG.cpu_facts(str(tmp_path / "none"))["flags"]["AVX-512"] is False  # no /proc: all "no"


def test_a_failing_model_build_is_a_problem_not_an_exception(monkeypatch):
    monkeypatch.setattr(CONFIG, "build_check", lambda: "Keras cannot build a model here: RuntimeError: broken")
    report = cnnkit.config()
    assert not report.ok and report.problems == ["Keras cannot build a model here: RuntimeError: broken"]
    assert "Problems:" in str(report)


def test_cnnkit_doctor_prints_the_report_without_tensorflow_log_lines():
    proc = _run(sys.executable, "-m", "cnnkit", "doctor")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("cnnkit ") and "Together" in proc.stdout and "AVX-512" in proc.stdout
    noise = [line for line in (proc.stdout + proc.stderr).splitlines() if NOISE.search(line)]
    assert not noise, proc.stderr
    assert proc.stderr.strip() == ""


def test_doctor_in_a_python_without_keras_names_what_is_missing(bare_python):
    proc = _run(bare_python, "-m", "cnnkit", "doctor")
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the environment: see cli.py
    assert "TensorFlow MISSING, Keras MISSING, NumPy MISSING" in proc.stdout
    assert f"this Python ({bare_python}) has no TensorFlow, Keras and NumPy" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_missing_keras_is_the_real_error_also_through_subscription(bare_python):
    code = ("import cnnkit\n"
            "for get in (lambda: cnnkit.lenet5, lambda: cnnkit['lenet5'], lambda: cnnkit.saving):\n"
            "    try:\n        get()\n    except ModuleNotFoundError as e:\n        print(type(e).__name__, e.name, '|', e)\n"
            "print('config' in dir(cnnkit), cnnkit.config().ok)\n")
    proc = _run(bare_python, "-c", code)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4, proc.stdout
    for line in lines[:3]:
        assert line.startswith("ModuleNotFoundError keras |") or line.startswith("ModuleNotFoundError numpy |"), line
        assert "needs the Python package" in line and "pip install cnnkit" in line
        assert "not subscriptable" not in line
    assert lines[3] == "True False"


def test_subscription_of_the_package_is_attribute_access():
    assert cnnkit["lenet5"] is cnnkit.lenet5
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        cnnkit["no_such_thing"]
    with pytest.raises(TypeError, match="takes a name"):
        cnnkit[0]


def test_versions_do_not_use_up_the_quiet_import_hook():
    """versions() looks packages up without sys.meta_path, so TensorFlow still imports through the filter."""
    code = ("import cnnkit, importlib\nimportlib.import_module('cnnkit.config').versions()\n"
            "import keras\nprint('ok')\n")
    proc = _run(sys.executable, "-c", code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert not [line for line in proc.stderr.splitlines() if NOISE.search(line)], proc.stderr
