"""R CMD check --no-manual on the tarball ``R CMD build`` made in this test run (the ``r_build``
fixture, which rendered the vignettes): no ERROR and no WARNING, every man page's example run
(``@examplesIf cnnkit_available()``: cnnkit's Python is available here, so none is skipped), and the
installed package lists its four vignettes.

What check leaves out, and why: the testthat files (``--no-tests``; test_r_suite.py runs each of them)
and rebuilding the vignettes (``--no-build-vignettes``; the build in the same run rendered them from
the same sources, and test_vignettes.py checks that HTML): rendering them twice would cost minutes.
The build and the check run in the background while the Python tests run (conftest.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import ROOT, background_result, queue_r_build, r_env, run_tracked, start_in_background

MAX_EXAMPLE_S = 30  # CPU seconds of each man page's examples (small data, epochs = 1); CPU, not
# elapsed time, so that a machine shared with other work does not fail it


def R_BACKGROUND(items, factory):
    """Queue R CMD build and this check in the background (conftest.py) when a test here is selected."""
    if any("r_check" in item.fixturenames for item in items):
        queue_r_build(factory)
        start_in_background("r_check", lambda: _check(background_result("r_build", None)))


def _check(build: dict) -> dict | None:
    if build["returncode"] != 0 or build["tarball"] is None:
        return None  # the fixture reports the failed build
    env = r_env()
    env["_R_CHECK_FORCE_SUGGESTS_"] = "false"
    proc = run_tracked(["R", "CMD", "check", "--no-manual", "--no-tests", "--no-build-vignettes",
                        "--timings", build["tarball"].name], cwd=build["dir"], env=env, timeout=1200)
    return {"out": proc.stdout + proc.stderr, "dir": build["dir"] / "cnnkit.Rcheck"}


@pytest.fixture(scope="module")
def r_check(r_build):
    assert r_build["returncode"] == 0, r_build["log"][-8000:]
    result = background_result("r_check", lambda: _check(r_build))
    print(f"\nR CMD build (renders the vignettes): {r_build['seconds']:.0f} s")
    return result


def test_r_cmd_check_has_no_errors_or_warnings(r_check):
    out = r_check["out"]
    status = re.search(r"Status: (.*)", out)
    assert status, out
    assert "ERROR" not in status.group(1) and "WARNING" not in status.group(1), out


def test_examples_ran_and_are_quick(r_check):
    rout = (r_check["dir"] / "cnnkit-Ex.Rout").read_text()
    pages = sorted(p.stem for p in (ROOT / "man").glob("*.Rd") if "\\examples" in p.read_text())
    # @examplesIf wraps each page's examples in if (cnnkit_available()) ...: it was TRUE, so the
    # examples printed what they show (a model, a training history, an evaluation report)
    for shown in ("Trainable params", "epoch", "macro avg"):
        assert shown in rout, f"no example printed {shown!r}"
    timings = {}
    for line in (r_check["dir"] / "cnnkit-Ex.timings").read_text().splitlines()[1:]:
        name, user, system, _elapsed = line.rstrip("\t").split("\t")[:4]
        timings[name] = float(user) + float(system)
    assert set(pages) <= set(timings), set(pages) - set(timings)
    slow = {k: v for k, v in timings.items() if v > MAX_EXAMPLE_S}
    assert not slow, f"examples over {MAX_EXAMPLE_S} s: {slow}"
    print(f"\nR examples: {len(timings)} pages, {sum(timings.values()):.0f} CPU s; slowest: "
          + ", ".join(f"{k} {v:.1f}" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])[:5]))


def test_installed_package_lists_its_vignettes(r_check):
    code = ('v <- vignette(package = "cnnkit", lib.loc = commandArgs(TRUE)[1])$results; '
            'writeLines(paste(v[, "Item"], v[, "Title"], sep = "\\t"))')
    proc = subprocess.run(["Rscript", "--vanilla", "-e", code, str(r_check["dir"])], env=r_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    items = dict(line.split("\t", 1) for line in proc.stdout.splitlines())
    expected = {p.stem for p in (ROOT / "vignettes").glob("*.qmd")}
    assert set(items) == expected, items
    docs = r_check["dir"] / "cnnkit" / "doc"
    assert all((docs / f"{stem}.html").stat().st_size > 10_000 for stem in expected)
