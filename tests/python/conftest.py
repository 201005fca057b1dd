"""Shared fixtures: the repository root, the shared spec, and the environment for R subprocesses."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "spec"


def load_spec(name: str) -> dict:
    return json.loads((SPEC / f"{name}.json").read_text())


def r_env() -> dict:
    """Environment for Rscript subprocesses: this venv's Python, the project-local R library."""
    env = dict(os.environ)
    env.update(
        RETICULATE_PYTHON=sys.executable,
        R_LIBS=str(ROOT / ".rlib"),
        R_LD_LIBRARY_PATH="/usr/lib/R/lib",
        CNNKIT_REQUIRE_PYTHON="1",
    )
    env.pop("LD_LIBRARY_PATH", None)
    return env


@pytest.fixture(scope="session")
def models_spec() -> dict:
    return load_spec("models")


@pytest.fixture(scope="session")
def bad_input_spec() -> dict:
    return load_spec("bad_input")


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_r: drives R through Rscript; not run by scripts/test_pip_install.sh "
                            "(the Python-only install has no R package)")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print testthat's own counts (collected by test_r_suite.py) next to pytest's."""
    totals = getattr(config, "_testthat_totals", None)
    if totals:
        terminalreporter.write_sep("=", "testthat (R suite, run through Rscript)")
        terminalreporter.write_line(
            "testthat: {passed} passed, {failed} failed, {skipped} skipped, {warnings} warnings "
            "in {files} files".format(**totals)
        )


def fashion_test_images(n: int = 4):
    """The first ``n`` Fashion-MNIST test images (28x28 uint8) from the Debian package's files."""
    import gzip

    import numpy as np

    path = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n].copy()


@pytest.fixture(scope="session")
def r_build(tmp_path_factory) -> dict:
    """``R CMD build`` of the R package, once per test run: it renders the four vignettes (the only
    place they are rendered in the test command; engine ``cnnkit::qmd``, rmarkdown here, every chunk
    runs), so test_vignettes.py reads the HTML this build put in ``inst/doc`` and test_r_check.py
    checks this tarball without rendering them again. Returns the tarball, the folder holding the
    extracted ``inst/doc`` and the build's output (a failed build is reported by each user)."""
    import subprocess
    import tarfile
    import time

    out = tmp_path_factory.mktemp("r_build")
    env = r_env()
    start = time.monotonic()
    source = _r_source_copy(out / "src")
    proc = subprocess.run(["R", "CMD", "build", "--no-manual", str(source)], cwd=out, env=env,
                          capture_output=True, text=True, timeout=1500)
    result = {"dir": out, "log": proc.stdout + proc.stderr, "returncode": proc.returncode,
              "seconds": time.monotonic() - start, "tarball": None, "doc": out / "doc"}
    tarballs = sorted(out.glob("cnnkit_*.tar.gz"))
    if proc.returncode == 0 and tarballs:
        result["tarball"] = tarballs[0]
        with tarfile.open(tarballs[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("cnnkit/inst/doc/")]
            tar.extractall(out, members=members)
        (out / "cnnkit" / "inst" / "doc").rename(result["doc"])
    return result


def _r_source_copy(dest: Path) -> Path:
    """The R package's files, without what .Rbuildignore excludes (and .git): R CMD build copies the
    whole folder before it applies .Rbuildignore, and .venv alone is 1.5 GB (minutes of copying)."""
    import re
    import shutil

    patterns = [re.compile(line) for line in (ROOT / ".Rbuildignore").read_text().splitlines() if line.strip()]

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(ROOT)
        return {n for n in names if n == ".git" or any(p.search((rel / n).as_posix()) for p in patterns)}

    shutil.copytree(ROOT, dest / "cnnkit", ignore=ignore, symlinks=True)
    return dest / "cnnkit"
