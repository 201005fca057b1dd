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


# --- test tiers --------------------------------------------------------------------------------
# ``--tier=full`` (the default; ``make test``, CI): every test. ``--tier=fast`` (``make check``, the
# everyday tier, under 3 minutes on 2 cores): the tests not marked ``slow``, and a sample of the
# contract matrices (test_fuzz_args.py, test_fuzz_files.py read the option). Mark a test ``slow``
# when it takes more than a few seconds (list it in slow_tests.txt, with its time, or decorate it); a
# whole module only when none of its tests is fast (R CMD check, ...). The terminal summary of a fast run
# names the modules that contributed no test.


def pytest_addoption(parser):
    parser.addoption("--tier", choices=("full", "fast"), default="full",
                     help="full: every test (make test); fast: the tests not marked slow and a sample of the "
                          "contract matrices (make check)")


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_r: drives R through Rscript; not run by scripts/test_pip_install.sh "
                            "(the Python-only install has no R package)")
    config.addinivalue_line("markers", "slow: not in the fast tier (--tier=fast, make check); make test runs it")


SLOW_LIST = Path(__file__).with_name("slow_tests.txt")


def slow_tests() -> set[str]:
    """The entries of slow_tests.txt: ``module.py``, ``module.py::test`` or ``module.py::test[param]``."""
    lines = (line.split("#", 1)[0].strip() for line in SLOW_LIST.read_text().splitlines())
    return {line for line in lines if line}


def is_slow(item, listed: set[str]) -> bool:
    module = item.path.name
    name = f"{module}::{item.name}"
    return (item.get_closest_marker("slow") is not None or module in listed or name in listed
            or name.split("[", 1)[0] in listed)


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in slow_tests.txt ``slow``; ``--tier=fast`` deselects the ``slow`` ones."""
    listed = slow_tests()
    for item in items:
        if is_slow(item, listed) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)
    if config.getoption("tier") != "fast":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config._tier_info = (len(keep), len(drop), sorted({i.path.name for i in drop} - {i.path.name for i in keep}))


def record_subcases(request, ran: int, total: int) -> None:
    """Record how many sub-cases (subtests) a matrix test ran, of how many it has: shown in the item's
    report (``user_properties``, e.g. in --junitxml) and summed per test at the end of the run."""
    request.node.user_properties.append(("sub-cases", f"{ran} of {total}"))
    counts = request.config.__dict__.setdefault("_subcase_counts", {})
    counts[request.node.nodeid] = (ran, total)


def _write_subcase_counts(terminalreporter, counts: dict) -> None:
    by_test: dict = {}
    for nodeid, (ran, total) in counts.items():
        name, _, param = nodeid.partition("[")
        by_test.setdefault(name, []).append((param.rstrip("]"), ran, total))
    for name, rows in by_test.items():
        ran, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
        terminalreporter.write_sep("-", f"sub-cases of {name.split('::')[-1]}: {ran} of {total} in {len(rows)} items")
        line = ""
        for param, n, of in rows:
            cell = f"{param} {n}" + ("" if n == of else f"/{of}")
            if line and len(line) + len(cell) + 2 > 110:
                terminalreporter.write_line(line)
                line = ""
            line = f"{line}, {cell}" if line else cell
        if line:
            terminalreporter.write_line(line)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the matrix tests' sub-case counts, and testthat's own counts (collected by
    test_r_suite.py) next to pytest's."""
    tier = getattr(config, "_tier_info", None)
    if tier:
        terminalreporter.write_sep("=", "the fast tier (--tier=fast)")
        terminalreporter.write_line(f"{tier[0]} tests selected, {tier[1]} slow ones left for the full tier (make test); "
                                    f"modules without a fast test: {', '.join(tier[2]) or 'none'}")
    counts = getattr(config, "_subcase_counts", None)
    if counts:
        terminalreporter.write_sep("=", f"contract matrices (--tier={config.getoption('tier')}): sub-cases per item")
        _write_subcase_counts(terminalreporter, counts)
    totals = getattr(config, "_testthat_totals", None)
    if totals:
        terminalreporter.write_sep("=", "testthat (R suite, run through Rscript)")
        terminalreporter.write_line(
            "testthat: {passed} passed, {failed} failed, {skipped} skipped, {warnings} warnings "
            "in {files} files".format(**totals)
        )


def fashion_test_images(n: int = 4):
    """The first ``n`` Fashion-MNIST test images (28x28 uint8), read by cnnkit's own reader (the
    Debian package's files)."""
    from cnnkit.data import fashion_mnist_raw

    return fashion_mnist_raw()[0]["x_test"][:n].copy()


@pytest.fixture(scope="session")
def r_build(tmp_path_factory) -> dict:
    """``R CMD build`` of the R package, once per test run: it renders the four vignettes (the only
    place they are rendered in the test command; engine ``cnnkit::qmd``, rmarkdown here, every chunk
    runs), so test_vignettes.py reads the HTML this build put in ``inst/doc`` and test_r_check.py
    checks this tarball without rendering them again. Returns the tarball, the folder holding the
    extracted ``inst/doc`` and the build's output (a failed build is reported by each user).
    Started in the background when the tests are collected (see ``pytest_collection_finish``)."""
    return background_result("r_build", lambda: build_r_package(tmp_path_factory.mktemp("r_build")))


def build_r_package(out: Path) -> dict:
    """``R CMD build --no-manual`` of a copy of the R package in ``out`` (see ``r_build``)."""
    import tarfile
    import time

    env = r_env()
    start = time.monotonic()
    source = _r_source_copy(out / "src")
    proc = run_tracked(["R", "CMD", "build", "--no-manual", str(source)], cwd=out, env=env, timeout=1500)
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


# --- the R work in the background ----------------------------------------------------------------
# R CMD build (the vignettes), R CMD check and the testthat files take about 11 minutes in
# subprocesses that use about one core (R, reticulate, small models), while the Python tests before
# them use about one core too: on a machine with 2 cores the R work runs in a background thread from
# the end of collection, one subprocess after another, and the tests that need it wait for its
# results (R_BACKGROUND below; CNNKIT_TEST_R_BACKGROUND=0 runs each when its first test needs it).
# Each test still fails on its own (a failed build, check or testthat file fails the tests that
# read it); an interrupted run kills what is still running.

_BACKGROUND: dict = {}  # name -> concurrent.futures.Future
_EXECUTOR = None
_RUNNING: set = set()  # the background subprocesses still running


def run_tracked(cmd: list[str], timeout: float, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True)``, killed at ``timeout`` or when the
    session ends (so that a background run never outlives pytest)."""
    import subprocess

    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs) as proc:
        _RUNNING.add(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.kill()
            raise
        finally:
            _RUNNING.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def start_in_background(name: str, fn) -> None:
    """Queue ``fn()`` (one background thread: the jobs run one after another, in the order queued)."""
    global _EXECUTOR
    from concurrent.futures import ThreadPoolExecutor

    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnkit-r")
    _BACKGROUND[name] = _EXECUTOR.submit(fn)


def queue_r_build(factory) -> None:
    """Queue the ``r_build`` fixture's ``R CMD build`` (once)."""
    if "r_build" not in _BACKGROUND:
        out = factory.mktemp("r_build")
        start_in_background("r_build", lambda: build_r_package(out))


def background_result(name: str, fn):
    """The result of the background job ``name`` (waiting for it), or of ``fn()`` if none was started."""
    return _BACKGROUND[name].result() if name in _BACKGROUND else fn()


def pytest_collection_finish(session):
    """Start the R work the selected tests need (R_BACKGROUND hooks of their modules, in the order of
    the tests) in the background; see the comment above ``run_tracked``."""
    if os.environ.get("CNNKIT_TEST_R_BACKGROUND", "1") == "0" or session.config.option.collectonly:
        return
    factory = session.config._tmp_path_factory
    seen = set()
    for item in session.items:
        hook = getattr(item.module, "R_BACKGROUND", None)
        if hook is not None and item.module not in seen:
            seen.add(item.module)
            hook(session.items, factory)


def pytest_sessionfinish(session, exitstatus):
    if _EXECUTOR is not None:
        _EXECUTOR.shutdown(wait=False, cancel_futures=True)
    for proc in list(_RUNNING):
        proc.kill()


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
