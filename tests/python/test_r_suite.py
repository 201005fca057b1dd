"""Drive the testthat suite through Rscript subprocesses (never in-process: an R crash must fail
a test, not abort the run). One pytest test per testthat file; testthat's counts are summed and
printed at the end of the pytest run.

Starting R, reticulate, TensorFlow and cnnkit costs about 6 s a process, so the files run in one
Rscript (started in the background when the tests are collected, see conftest.py; without it, by
the first R test), each file on its own through
``testthat::test_file()`` with its own log and counts; a few files that change the process for
good (installing environments, rendering documents) get a process each. If R dies part-way, the
files it did not reach fail with the log of the one it was running."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, background_result, r_env, run_tracked, start_in_background

R_FILES = sorted((ROOT / "tests" / "testthat").glob("test-*.R"))
# files run in a process of their own: they install Python environments or render documents
OWN_PROCESS = {"test-install.R", "test-vignette.R"}
# not in the fast tier (make check): the files that took 7 s or more (the fuzz files 40 s and 3 min; measured
# one after another in one Rscript on 2 busy cores, 2026-12-07); the others take about a minute together,
# in the background beside the Python tests.
SLOW_FILES = OWN_PROCESS | {
    "test-backbones.R", "test-data-checks.R", "test-photo-quirks.R", "test-efficientnet-lite.R", "test-fit.R",
    "test-fuzz-args.R", "test-fuzz-files.R", "test-grad-cam.R",
    "test-image-table.R", "test-job.R", "test-lr-find.R", "test-plot.R", "test-preprocessing.R", "test-reload.R",
    "test-semantic-traps.R", "test-top-losses.R", "test-transfer.R"}
RUNNER = r"""
args <- commandArgs(trailingOnly = TRUE)
out <- args[2]
files <- args[-(1:2)]
for (f in files) {
  name <- basename(f)
  log <- file(file.path(out, paste0(name, ".log")), open = "wt")
  sink(log); sink(log, type = "message")
  writeLines(paste("# started", name), file.path(out, "current"))
  res <- tryCatch(
    testthat::test_file(f, reporter = "progress", package = "cnnkit", load_package = "installed",
                        stop_on_failure = FALSE),
    error = function(e) { cat("testthat stopped:", conditionMessage(e), "\n"); NULL })
  sink(type = "message"); sink(); close(log)
  df <- if (is.null(res)) data.frame(passed = 0, failed = 1, error = FALSE, skipped = 0, warning = 0) else
    as.data.frame(res)
  counts <- list(passed = sum(df$passed), failed = sum(df$failed) + sum(df$error), skipped = sum(df$skipped),
                 warnings = sum(df$warning))
  writeLines(jsonlite::toJSON(counts, auto_unbox = TRUE), file.path(out, paste0(name, ".json")))
}
"""


def _run(files: list[Path], out: Path) -> subprocess.CompletedProcess:
    return run_tracked(["Rscript", "--vanilla", "-e", RUNNER, str(ROOT), str(out), *map(str, files)],
                       env=r_env(), cwd=ROOT, timeout=2400)


def _selected(items) -> list[Path]:
    """The testthat files of the selected tests (all of them, or those ``-k`` picked), in order."""
    chosen = {item.callspec.params["path"] for item in items
              if getattr(item, "originalname", None) == "test_testthat_file" and hasattr(item, "callspec")}
    return [p for p in R_FILES if p in chosen]


def R_BACKGROUND(items, factory):
    """Queue the selected files in the background (conftest.py): the shared Rscript, then each
    OWN_PROCESS file in its own."""
    files = _selected(items)
    shared = [p for p in files if p.name not in OWN_PROCESS]
    if shared:
        out = factory.mktemp("testthat")
        start_in_background("testthat", lambda: (out, _run(shared, out)))
    for path in files:
        if path.name in OWN_PROCESS:
            own = factory.mktemp(path.stem)
            start_in_background(f"testthat:{path.name}", lambda path=path, own=own: (own, _run([path], own)))


@pytest.fixture(scope="session")
def shared_r_run(request, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The selected testthat files but OWN_PROCESS in one Rscript: their logs and counts in one folder."""
    def run():
        out = tmp_path_factory.mktemp("testthat")
        return out, _run([p for p in _selected(request.session.items) if p.name not in OWN_PROCESS], out)
    return background_result("testthat", run)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW_FILES else [])
                                  for p in R_FILES])
def test_testthat_file(path: Path, tmp_path: Path, request):
    if path.name in OWN_PROCESS:
        out, proc = background_result(f"testthat:{path.name}", lambda: (tmp_path, _run([path], tmp_path)))
    else:
        out, proc = request.getfixturevalue("shared_r_run")
    counts_file, log_file = out / f"{path.name}.json", out / f"{path.name}.log"
    log = (f"--- log of {path.name} ---\n{log_file.read_text() if log_file.exists() else '(none)'}\n"
           f"--- Rscript stdout ---\n{proc.stdout[-4000:]}\n--- Rscript stderr ---\n{proc.stderr[-4000:]}")
    assert counts_file.exists(), (
        f"Rscript exited {proc.returncode} before {path.name} finished "
        f"({(out / 'current').read_text().strip() if (out / 'current').exists() else 'no file started'})\n{log}")
    counts = json.loads(counts_file.read_text())
    totals = request.config.__dict__.setdefault(
        "_testthat_totals", {"passed": 0, "failed": 0, "skipped": 0, "warnings": 0, "files": 0})
    for key in ("passed", "failed", "skipped", "warnings"):
        totals[key] += counts[key]
    totals["files"] += 1
    assert counts["failed"] == 0, log
    assert counts["skipped"] == 0, f"testthat skipped tests in {path.name}\n{log}"
    assert counts["passed"] > 0, f"no expectation ran in {path.name}\n{log}"


def test_the_slow_files_are_testthat_files():
    assert SLOW_FILES <= {p.name for p in R_FILES}, SLOW_FILES - {p.name for p in R_FILES}
