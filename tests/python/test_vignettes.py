"""Every vignette renders to HTML through knitr/rmarkdown (no Quarto CLI here) without a chunk
error, and shows the slides' numbers (read from the shared spec) and its pictures."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import ROOT, load_spec, r_env

VIGNETTES = sorted((ROOT / "vignettes").glob("*.qmd"))
MODELS = {m["id"]: m for m in load_spec("models")["models"]}
BLOCKS = {b["id"]: b for b in load_spec("models")["blocks"]}


def _n(x: int) -> str:
    return f"{x:,}"


def _shape(s) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in s) + ")"


# What each workshop document must show (numbers from tests/spec, not repeated here).
WORKSHOP = [
    _n(MODELS["mlp_slides"]["total_params"]),
    _shape(BLOCKS["three_blocks_slides"]["output_shape"]),
    _n(MODELS["simple_cnn_slides"]["total_params"]),
    _n(MODELS["lenet5_slides"]["total_params"]),
    "graph LR",
]
EXPECT = {"workshop-r.qmd": WORKSHOP, "workshop-python.qmd": WORKSHOP}
MIN_IMAGES = {"workshop-r.qmd": 1, "workshop-python.qmd": 1}
ADAPTER = load_spec("transfer")["domain_adapter"]  # the exercise's model: counts from the spec
EXPECT["exercise-domain-adapter.qmd"] = ["graph LR", "adapter_rgb", _n(ADAPTER["total_params"]), _n(ADAPTER["trainable_params"]), "accuracy: ", "(500 images)"]
MIN_IMAGES["exercise-domain-adapter.qmd"] = 2  # history plot, confusion matrix
EXPECT["your-own-images.qmd"] = ["skipped 2 file(s) that are not readable images", "ankle_boot", "accuracy: ", "(96 images)", "new_8.jpg", "test accuracy: "]
MIN_IMAGES["your-own-images.qmd"] = 3  # augmentation grid, history plot, confusion matrix

RENDER = r"""
args <- commandArgs(trailingOnly = TRUE)
rmarkdown::render(args[1], quiet = TRUE)
"""


@pytest.mark.parametrize("qmd", VIGNETTES, ids=lambda p: p.name)
def test_vignette_renders_with_the_slides_numbers(qmd, tmp_path):
    doc = tmp_path / qmd.name
    shutil.copy(qmd, doc)  # render where a user would: next to the document
    proc = subprocess.run(["Rscript", "--vanilla", "-e", RENDER, str(doc)],
                          env=r_env(), cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    html = (tmp_path / (qmd.stem + ".html")).read_text()
    missing = [s for s in EXPECT.get(qmd.name, []) if s not in html]
    assert not missing, f"{qmd.name} lacks {missing}"
    assert html.count("<img src=\"data:image/png") >= MIN_IMAGES.get(qmd.name, 0)
    assert "## Error" not in html and "#&gt; Error in py_call_impl" not in html
    # the documents stay valid Quarto: format: html in the YAML
    assert "format: html" in qmd.read_text()
