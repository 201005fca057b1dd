"""Every vignette renders to HTML without a chunk error and shows the slides' numbers (read from the
shared spec) and its pictures, drawn through the plot convention (R: the graphics device; Python: the
returned matplotlib Figure), not written to files and embedded by hand.

The documents are rendered once per test run, by ``R CMD build`` (the ``r_build`` fixture in
conftest.py; engine ``cnnkit::qmd``: rmarkdown here, no Quarto CLI): these tests read the HTML that
build put in the tarball's ``inst/doc``, the HTML ``vignette(package = "cnnkit")`` opens."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from conftest import ROOT, load_spec

VIGNETTES = sorted((ROOT / "vignettes").glob("*.qmd"))
MODELS = {m["id"]: m for m in load_spec("models")["models"]}
BLOCKS = {b["id"]: b for b in load_spec("models")["blocks"]}
TRANSFER = load_spec("transfer")
VGG16 = TRANSFER["vgg16_slides"]
SLIDE_FT = TRANSFER["slide_fine_tuning"]


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
    # the second half: VGG16 with its top (weights=None, said so), feature extraction, fine-tuning
    f"Total params: {_n(VGG16['total_params'])}",
    "randomly initialised, not pretrained",
    "efficientnet_lite0",
    f"Trainable params: {_n(SLIDE_FT['feature_extraction_trainable'])} ",
    f"Non-trainable params: {_n(VGG16['notop_params'])} ",
    f"Trainable params: {_n(SLIDE_FT['fixed_trainable'])} ",
]
# The R document runs the slides' py_for(layer ~ vgg16$layers[-5:-2], ...) chunk verbatim: R's
# meaning (16 of 20 layers, 14,602,625 trainable), cnnkit's warning naming both fixes.
R_WARNING = ("Warning: py_for(): `vgg16$layers[-5:-2]` is R indexing: it DROPS elements 2 to 5 and "
             f"keeps the other {SLIDE_FT['r_verbatim_selected']} of {VGG16['notop_layers']};")
WORKSHOP_R = WORKSHOP + [
    "py_for(layer ~ vgg16$layers[-5:-2], {\nlayer$trainable <- TRUE\n})",
    f"Trainable params: {_n(SLIDE_FT['r_verbatim_trainable'])} ",
    R_WARNING,
]
WORKSHOP_PY = WORKSHOP + [
    "for layer in vgg16.layers[-5:-2]:",
    str(SLIDE_FT["python_slice_layers"]),
]
EXPECT = {"workshop-r.qmd": WORKSHOP_R, "workshop-python.qmd": WORKSHOP_PY}
# feature maps, augmentation grid, training history, confusion matrix
MIN_IMAGES = {"workshop-r.qmd": 4, "workshop-python.qmd": 4}
ADAPTER = load_spec("transfer")["domain_adapter"]  # the exercise's model: counts from the spec
EXPECT["exercise-domain-adapter.qmd"] = ["graph LR", "adapter_rgb", _n(ADAPTER["total_params"]),
                                         _n(ADAPTER["trainable_params"]), "accuracy: ", "(500 images)"]
MIN_IMAGES["exercise-domain-adapter.qmd"] = 2  # history plot, confusion matrix
EXPECT["your-own-images.qmd"] = ["skipped 2 file(s): 1 unreadable", "1 not an image", "ankle_boot", "accuracy: ",
                                 "(96 images)", "new_8.jpg", "test accuracy: "]
MIN_IMAGES["your-own-images.qmd"] = 3  # augmentation grid, history plot, confusion matrix
WARNINGS = {"workshop-r.qmd": (R_WARNING, SLIDE_FT["warning_fix"])}
# the short training run was evaluated on the whole Fashion-MNIST test set
PATTERNS = {"workshop-r.qmd": [r"accuracy: 0\.\d{4} \(10000 images\)"],
            "workshop-python.qmd": [r"test accuracy \d+\.\d% \(10,000 images\)"]}


# issue 15: "What the model sees" (trained feature maps, Grad-CAM, top losses, most confused pairs) and
# RandAugment/AugMix in both workshop documents (5 more pictures each); the exercise solved in Python.
EXPECT["workshop-r.qmd"] = EXPECT["workshop-r.qmd"] + ["What the model sees", "heat_on_garment", "predicted_id",
                                                       "rand_augment(num_ops = 2"]
EXPECT["workshop-python.qmd"] = EXPECT["workshop-python.qmd"] + ["What the model sees", "heat on the garment",
                                                                 "taken for", "cnnkit.rand_augment(num_ops=2"]
for _name in ("workshop-r.qmd", "workshop-python.qmd"):
    MIN_IMAGES[_name] = MIN_IMAGES[_name] + 5
EXPECT["exercise-domain-adapter-python.qmd"] = ["adapter_rgb", "preprocessing", _n(ADAPTER["total_params"]),
                                                _n(ADAPTER["trainable_params"]), "test accuracy"]
MIN_IMAGES["exercise-domain-adapter-python.qmd"] = 2  # history plot, confusion matrix


def _text(html: str) -> str:
    """The HTML's text: tags dropped, entities decoded, knitr's wrapped output lines (``#>``) joined."""
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", html))
    return re.sub(r"\n#> (?=\S)", " ", text)


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("qmd", VIGNETTES, ids=lambda p: p.name)
def test_vignette_renders_with_the_slides_numbers(qmd, r_build):
    assert r_build["returncode"] == 0, r_build["log"][-8000:]
    html_file = r_build["doc"] / (qmd.stem + ".html")
    assert html_file.exists(), f"R CMD build made no {html_file.name}:\n" + r_build["log"][-3000:]
    html = html_file.read_text()
    text = _text(html)
    words = _words(text)  # prose wraps anywhere: compare with runs of white space as one space
    missing = [s for s in EXPECT.get(qmd.name, []) if _words(s) not in words]
    assert not missing, f"{qmd.name} lacks {missing}"
    missing = [p for p in PATTERNS.get(qmd.name, []) if not re.search(p, words)]
    assert not missing, f"{qmd.name} lacks {missing}"
    if qmd.name in WARNINGS:  # the warning, as knitr prints it, names every fix
        start, fixes = WARNINGS[qmd.name]
        warning = text[text.index(start):].split("\n", 1)[0]
        assert all(fix in warning for fix in fixes), warning
    assert html.count("<img src=\"data:image/png") >= MIN_IMAGES.get(qmd.name, 0)
    assert "## Error" not in html and "#&gt; Error in py_call_impl" not in html
    source = qmd.read_text()
    # the documents stay valid Quarto (format: html) and are built by cnnkit's engine
    assert "format: html" in source and "%\\VignetteEngine{cnnkit::qmd}" in source
    # plots come through the device / the returned Figure: no PNG written and embedded by hand
    assert "include_graphics" not in source and not re.search(r"!\[[^\]]*\]\([^)]*\.png\)", source)
    code = [line.split("#", 1)[0] for line in source.splitlines()]  # comments may show the file form
    written = [line for line in code if re.search(r"plot_\w+\(.*file\s*=", line)]
    assert not written, f"plots written to files instead of drawn: {written}"
