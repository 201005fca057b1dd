"""The README runs: every R and Python code block in README.md runs as written, each on its own (a
fresh environment or namespace and an empty working folder; each block loads cnnkit itself), and the
figures the README and the vignettes quote for the main job are those in bench/results/main_job.md.

What differs from "as written", and why (SMALLER below, each checked to be in the README so that the
list cannot go stale): the lines that train on all 60,000 images for 5 epochs run on a few hundred
images for 1 epoch, and the lines that download ImageNet weights for VGG16 and ConvNeXtTiny build the
same models with ``weights = NULL`` (no network here; the parameter counts are the same).
EfficientNet-Lite0's ImageNet weights install offline and are used as written. All R blocks run in
one Rscript and all Python blocks in one Python process, to pay the start-up of TensorFlow once per
language; both run in the background beside the other tests (conftest.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT, background_result, r_env, run_tracked, start_in_background

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(r|python)\n(.*?)^```", README, re.M | re.S)

SMALLER = {
    "r": {
        "load_fashion_mnist(pad = TRUE)": "load_fashion_mnist(pad = TRUE, n = 300, n_test = 100)",
        "epochs = 5, validation_split = 0.1)": "epochs = 1, validation_split = 0.1)",
        'transfer_model("vgg16", c(32, 32, 3), mode = "fine_tune")':
            'transfer_model("vgg16", c(32, 32, 3), mode = "fine_tune", weights = NULL)',
        'backbone("vgg16", c(32, 32, 3))': 'backbone("vgg16", c(32, 32, 3), weights = NULL)',
        'domain_adapted_model("convnext_tiny", c(32, 32, 1), num_classes = 10)':
            'domain_adapted_model("convnext_tiny", c(32, 32, 1), num_classes = 10, weights = NULL)',
        "load_fashion_mnist(n = 512, pad = TRUE)": "load_fashion_mnist(n = 64, pad = TRUE)",
        "head_epochs = 2, epochs = 1": "head_epochs = 1, epochs = 1",
    },
    "python": {
        "load_fashion_mnist(pad=True)": "load_fashion_mnist(pad=True, n=300, n_test=100)",
        "epochs=5, validation_split=0.1)": "epochs=1, validation_split=0.1)",
        'cnnkit.backbone("vgg16", (32, 32, 3))': 'cnnkit.backbone("vgg16", (32, 32, 3), weights=None)',
        "load_fashion_mnist(n=512, pad=True)": "load_fashion_mnist(n=64, pad=True)",
        "head_epochs=2, epochs=1": "head_epochs=1, epochs=1",
    },
}


def _as_run(lang: str, code: str) -> str:
    for old, new in SMALLER[lang].items():
        code = code.replace(old, new)
    return code


R_RUNNER = r"""
args <- commandArgs(trailingOnly = TRUE)
blocks <- jsonlite::fromJSON(args[1])
failed <- character()
for (i in seq_along(blocks)) {
  wd <- file.path(args[2], paste0("r", i)); dir.create(wd); setwd(wd)
  pdf(NULL)                                   # a graphics device, as a console session has
  cat(sprintf("---- R block %d ----\n", i))
  ok <- tryCatch({
    exprs <- parse(text = blocks[[i]])
    env <- new.env(parent = globalenv())
    for (e in exprs) { res <- withVisible(eval(e, env)); if (res$visible) print(res$value) }  # as the console
    TRUE
  }, error = function(e) { cat("ERROR: ", conditionMessage(e), "\n"); FALSE })
  if (!ok) failed <- c(failed, as.character(i))
  while (dev.cur() > 1) dev.off()
}
cat("FAILED:", failed, "\n")
"""

PY_RUNNER = r"""
import json, os, sys, traceback
import matplotlib
matplotlib.use("Agg")
blocks = json.loads(open(sys.argv[1]).read())
failed = []
for i, code in enumerate(blocks, 1):
    wd = os.path.join(sys.argv[2], f"py{i}"); os.makedirs(wd); os.chdir(wd)
    print(f"---- Python block {i} ----", flush=True)
    try:
        exec(compile(code, f"README python block {i}", "exec"), {"__name__": "__main__"})
    except Exception:
        traceback.print_exc()
        failed.append(str(i))
print("FAILED:", " ".join(failed))
"""


def test_readme_has_self_contained_blocks():
    assert len([b for b in BLOCKS if b[0] == "r"]) >= 4 and len([b for b in BLOCKS if b[0] == "python"]) >= 3
    for lang, code in BLOCKS:
        first = code.lstrip().splitlines()[0]
        assert first.startswith("library(cnnkit)" if lang == "r" else "import cnnkit"), first
    for lang, subs in SMALLER.items():
        text = "\n".join(code for lng, code in BLOCKS if lng == lang)
        stale = [old for old in subs if old not in text]
        assert not stale, f"SMALLER lists {lang} lines the README no longer has: {stale}"


def _blocks(lang: str) -> list[str]:
    return [_as_run(lang, code) for lng, code in BLOCKS if lng == lang]


def _run_blocks(lang: str, folder) -> subprocess.CompletedProcess:
    spec = folder / "blocks.json"
    spec.write_text(json.dumps(_blocks(lang)))
    if lang == "r":
        cmd = ["Rscript", "--vanilla", "-e", R_RUNNER, str(spec), str(folder)]
    else:
        cmd = [sys.executable, "-c", PY_RUNNER, str(spec), str(folder)]
    return run_tracked(cmd, env=r_env(), cwd=folder, timeout=900)


def R_BACKGROUND(items, factory):
    """Queue the selected languages' runs in the background (conftest.py): subprocesses, like the R work."""
    for item in items:
        if getattr(item, "originalname", None) == "test_readme_blocks_run":
            lang = item.callspec.params["lang"]
            folder = factory.mktemp(f"readme-{lang}")
            start_in_background(f"readme:{lang}", lambda lang=lang, folder=folder: _run_blocks(lang, folder))


@pytest.mark.parametrize("lang", ["r", "python"])
def test_readme_blocks_run(lang, tmp_path):
    blocks = _blocks(lang)
    proc = background_result(f"readme:{lang}", lambda: _run_blocks(lang, tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    failed = re.search(r"^FAILED:(.*)$", proc.stdout, re.M)
    assert failed, out[-6000:]
    failed_blocks = failed.group(1).split()
    assert not failed_blocks, f"{lang} blocks {failed_blocks} failed:\n{out[-6000:]}"
    assert out.count(f"---- {'R' if lang == 'r' else 'Python'} block") == len(blocks)


def test_quoted_main_job_figures_come_from_bench_results():
    rows = re.findall(r"^\| \d+ \| (\w+) \| ([\d.]+) % \| ([\d.]+) \|", (ROOT / "bench/results/main_job.md").read_text(), re.M)
    measured = {(acc, s) for _precision, acc, s in rows}
    assert measured
    docs = [ROOT / "README.md", *sorted((ROOT / "vignettes").glob("workshop-*.qmd"))]
    for doc in docs:
        text = " ".join(doc.read_text().split())
        quoted = set(re.findall(r"(9\d\.\d+) %\** in (?:about )?([\d.]+) s", text))
        assert quoted, f"{doc.name} quotes no main-job figure"
        assert quoted <= measured, f"{doc.name} quotes {quoted - measured}, bench/results/main_job.md has {measured}"
