"""The plotting convention (python/cnnkit/_plot.py), shared with R (R/plot.R, tests/testthat/test-plot.R):
``file=None`` returns a matplotlib Figure that Jupyter shows inline (``_repr_png_``) and knitr's Python
engine shows through pyplot; a file name writes the file atomically and returns the path."""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import cnnkit
from cnnkit import _plot

PNG = b"\x89PNG\r\n\x1a\n"
HISTORY = {"epoch": [1, 2, 3], "loss": [0.9, 0.6, 0.5], "accuracy": [0.6, 0.8, 0.85],
           "val_loss": [1.0, 0.7, 0.65], "val_accuracy": [0.55, 0.75, 0.8]}


PLOTS = ["plot_history", "plot_confusion_matrix", "plot_augmentation", "plot_feature_maps", "show_batch",
         "Evaluation.plot", "plot_roc_curves"]


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.random((3, 16, 16, 1)).astype("float32")


@pytest.fixture(scope="module")
def model():
    return cnnkit.simple_cnn((16, 16, 1), blocks=1, filters=4, units=8, num_classes=3)


def calls(images, model):
    """Every plotting function with small arguments, as (name, call taking file=)."""
    aug = cnnkit.augmentation(rotate=0.1, seed=1)
    return {
        "plot_history": lambda file: cnnkit.plot_history(HISTORY, file=file),
        "plot_confusion_matrix": lambda file: cnnkit.plot_confusion_matrix([[5, 1], [2, 7]], file=file),
        "plot_augmentation": lambda file: cnnkit.plot_augmentation(images[:2], aug, n=2, file=file),
        "plot_feature_maps": lambda file: cnnkit.plot_feature_maps(model, images[0], 1, max_maps=4, file=file),
        "show_batch": lambda file: cnnkit.show_batch(images, [0, 1, 2], class_names=["a", "b", "c"], file=file),
        "Evaluation.plot": lambda file: cnnkit.evaluate.evaluation_from_counts([[5, 1], [2, 7]]).plot(file=file),
        "plot_roc_curves": lambda file: cnnkit.plot_roc_curves(
            {"y_true": [0, 1, 2, 1], "probabilities": np.eye(3)[[0, 1, 2, 0]] * 0.7 + 0.1}, file=file),
    }


@pytest.mark.parametrize("name", PLOTS)
def test_file_none_returns_a_figure_shown_inline_and_by_pyplot(name, images, model):
    fig = calls(images, model)[name](None)
    assert isinstance(fig, Figure)
    assert fig.axes and any(ax.has_data() or ax.images for ax in fig.axes)
    png = fig._repr_png_()  # what Jupyter displays
    assert png.startswith(PNG) and len(png) > 2000
    # outside Jupyter, with pyplot in use (Keras imports it; knitr's Python engine too): the current figure,
    # which plt.show() -- what knitr calls for a figure a chunk returns -- draws
    assert "ipykernel" not in sys.modules and plt.gcf() is fig
    plt.close(fig)


@pytest.mark.parametrize("name", PLOTS)
def test_file_writes_atomically_and_returns_the_path(name, images, model, tmp_path):
    before = plt.get_fignums()
    out = calls(images, model)[name](tmp_path / "out.png")
    assert out == str(tmp_path / "out.png")
    assert (tmp_path / "out.png").read_bytes().startswith(PNG)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left
    assert plt.get_fignums() == before  # a file plot never touches pyplot
    with pytest.raises(ValueError, match=r"\w+\(\): `file` must end in .png"):
        calls(images, model)[name](tmp_path / "out.txt")


def test_in_jupyter_the_figure_is_not_given_to_pyplot(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules["sys"])  # any module object: "a kernel runs"
    before = plt.get_fignums()
    fig = cnnkit.plot_history(HISTORY)
    assert plt.get_fignums() == before and fig.canvas.manager is None  # shown once, by its _repr_png_
    assert fig._repr_png_().startswith(PNG)


def test_figure_pixels_renders_at_dpi_and_releases_pyplot():
    fig = cnnkit.plot_history(HISTORY)
    assert fig.number in plt.get_fignums()
    px = _plot.figure_pixels(fig, dpi=50)
    w, h = fig.get_size_inches()
    assert px.dtype == np.uint8 and px.shape == (round(h * 50), round(w * 50), 4)
    assert fig.number not in plt.get_fignums()  # R drew it: pyplot no longer holds it
    assert px[..., :3].min() < 100 and px[..., 3].min() == 255  # something dark drawn on an opaque page
    with pytest.raises(TypeError, match=r"draw_figure\(\): `figure`"):
        _plot.figure_pixels("no figure")
    with pytest.raises(ValueError, match=r"draw_figure\(\): `dpi`"):
        _plot.figure_pixels(fig, dpi=0)


def test_plot_history_marks_fine_tune_phases():
    h = {"epoch": [1, 2, 3], "phase": ["head", "head", "fine_tune"], "loss": [1.0, 0.8, 0.6],
         "accuracy": [0.5, 0.6, 0.7]}
    fig = cnnkit.plot_history(h)
    ax = fig.axes[0]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [2.5]
    assert "fine_tune" in [t.get_text() for t in ax.texts]
    plt.close(fig)


# --- bounded cost and no figures left open (issue 25, item 6) --------------------------------------

@pytest.mark.parametrize("name", PLOTS)
def test_calls_from_r_leave_no_figure_open_in_pyplot(name, images, model):
    from cnnkit import _lang

    before = plt.get_fignums()
    _lang.enter_r()  # what the R package's cnnkit_call() does around each call
    try:
        fig = calls(images, model)[name](None)
        with pytest.raises(ValueError):
            calls(images, model)[name]("bad.txt")  # an error: nothing left open either
    finally:
        _lang.leave_r()
    assert isinstance(fig, Figure) and fig.canvas.manager is None  # R draws it (figure_pixels)
    assert plt.get_fignums() == before


def test_confusion_matrix_of_many_classes_has_no_cell_text_and_a_bounded_size():
    from cnnkit.evaluate import CM_ANNOTATED_CLASSES as N

    def drawn(k):
        cm = np.eye(k, dtype=int) * 5 + 1
        fig = cnnkit.plot_confusion_matrix(cm, class_names=[f"c{i}" for i in range(k)])
        plt.close(fig)
        ax = fig.axes[0]
        return len(ax.texts), tuple(fig.get_size_inches()), len(ax.get_xticks())

    texts, size_n, ticks = drawn(N)
    assert texts == N * N and ticks == N  # up to 30 classes: the counts in every cell
    texts, size_big, ticks = drawn(150)
    assert texts == 0 and size_big == size_n and ticks <= N  # beyond: no text, the 30-class figure's size
