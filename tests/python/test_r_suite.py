"""Drive the testthat suite through Rscript subprocesses (never in-process: an R crash must fail
a test, not abort the run). One pytest test per testthat file; testthat's counts are summed and
printed at the end of the pytest run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, r_env

R_FILES = sorted((ROOT / "tests" / "testthat").glob("test-*.R"))
RUNNER = r"""
args <- commandArgs(trailingOnly = TRUE)
res <- testthat::test_dir(file.path(args[1], "tests", "testthat"), filter = args[2], package = "cnnkit",
                          load_package = "installed", reporter = "progress", stop_on_failure = FALSE)
df <- as.data.frame(res)
counts <- list(passed = sum(df$passed), failed = sum(df$failed) + sum(df$error), skipped = sum(df$skipped),
               warnings = sum(df$warning))
writeLines(jsonlite::toJSON(counts, auto_unbox = TRUE), args[3])
"""


@pytest.mark.parametrize("path", R_FILES, ids=lambda p: p.name)
def test_testthat_file(path: Path, tmp_path: Path, request):
    out = tmp_path / "counts.json"
    name = path.name[len("test-"):-len(".R")]
    proc = subprocess.run(
        ["Rscript", "--vanilla", "-e", RUNNER, str(ROOT), f"^{name}$", str(out)],
        env=r_env(), cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    log = f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    assert proc.returncode == 0, f"Rscript exited {proc.returncode}\n{log}"
    counts = json.loads(out.read_text())
    totals = request.config.__dict__.setdefault(
        "_testthat_totals", {"passed": 0, "failed": 0, "skipped": 0, "warnings": 0, "files": 0})
    for key in ("passed", "failed", "skipped", "warnings"):
        totals[key] += counts[key]
    totals["files"] += 1
    assert counts["failed"] == 0, log
    assert counts["skipped"] == 0, f"testthat skipped tests in {path.name}\n{log}"
    assert counts["passed"] > 0, f"no expectation ran in {path.name}\n{log}"
