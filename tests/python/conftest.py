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
