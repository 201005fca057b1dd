"""Which images does the model get wrong? The images with the highest loss, and the classes it confuses.

fastai's ``plot_top_losses`` and ``most_confused`` for any Keras classifier: :func:`top_losses` ranks
the images of a labelled data set by their cross-entropy loss (the model was confident and wrong, or
unsure and right), :func:`plot_top_losses` shows them with what the model said, and
:func:`most_confused` lists the pairs of classes an evaluation mixes up most.
"""

from __future__ import annotations

import heapq
import os
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, public
from ._data_checks import check_data, dataset_errors, is_dataset, model_classes, resolve_data
from ._execution import predictor
from ._images import read_images
from ._model_info import model_input_shape
from ._plot import check_target, finish, new_figure
from .evaluate import _as_classes, _names, _probabilities, counts_and_names, predict_files
from .feature_maps import _unit

EPSILON = 1e-7  # probabilities are clipped as Keras' cross-entropy clips them


def _losses(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(p[np.arange(len(y)), y], EPSILON, 1.0))


def _dataset_files(data: Any) -> tuple[list[str], np.ndarray] | None:
    """The files and labels an ``image_folder()`` dataset carries (``ds.files``, ``ds.labels``), sorted
    by path; ``None`` for any other data."""
    files, labels = getattr(data, "files", None), getattr(data, "labels", None)
    if not is_dataset(data) or files is None or labels is None or len(files) != len(labels) or not len(files):
        return None
    order = sorted(range(len(files)), key=lambda i: Path(files[i]))
    return [str(files[i]) for i in order], np.asarray(labels).reshape(-1)[order].astype("int64")


def _ranked_files(model: keras.Model, files: list[str], y: np.ndarray, k: int, batch_size: int):
    """:func:`_ranked` for a dataset's files: each predicted once, in sorted order (the dataset's own
    shuffle left out: the same rows every call), read as its pipeline reads them ([0, 1]); the fifth
    entry is the file's path."""
    kept, p, _ = predict_files(model, files, batch_size, "float32", 0, False, scale=False)
    loss = _losses(p, y)
    order = np.argsort(-loss, kind="stable")[:k]
    return [(int(i), int(y[i]), p[i], float(loss[i]), kept[i]) for i in order]


def _ranked(model: keras.Model, data: Any, k: int, batch_size: int):
    """``(index, label, probabilities, loss, image)`` of the ``k`` images with the highest loss, highest first."""

    named = _dataset_files(data)
    data = check_data(model, data, "data")
    if named is not None:
        return _ranked_files(model, *named, k, batch_size)
    if not is_dataset(data):
        x, y = data[0], np.asarray(data[1]).reshape(-1).astype("int64")
        p = _probabilities(model, x, batch_size, "float32")
        loss = _losses(p, y)
        order = np.argsort(-loss, kind="stable")[:k]
        return [(int(i), int(y[i]), p[i], float(loss[i]), x[i]) for i in order]
    import tensorflow as tf

    f = predictor(model, "float32")
    best: list[tuple] = []  # a heap of the k highest losses so far: (loss, -index, ...)
    seen = 0
    with dataset_errors():  # the guard check_data() put on the dataset
        for batch in data:
            xb, yb = np.asarray(batch[0], dtype="float32"), np.asarray(batch[1]).reshape(-1).astype("int64")
            p = _as_classes(model, np.asarray(f(tf.constant(xb)), dtype="float64"))
            for j, loss in enumerate(_losses(p, yb)):
                item = (float(loss), -(seen + j), int(yb[j]), p[j], xb[j])
                if len(best) < k:
                    heapq.heappush(best, item)
                elif item[:2] > best[0][:2]:
                    heapq.heapreplace(best, item)
            seen += len(yb)
    if not seen:
        raise ValueError(f"{caller()}(): `data` is an empty dataset.")
    best.sort(key=lambda t: t[:2], reverse=True)
    return [(-neg, label, p, loss, img) for loss, neg, label, p, img in best]


def _table(model: keras.Model, data: Any, k: Any, class_names: Any, batch_size: Any):
    classes = model_classes(model)[1]
    k = v.positive_int(k, "k")
    batch_size = v.positive_int(batch_size, "batch_size")
    data, carried = resolve_data(model, data, "data")
    names = _names(model, class_names, classes) if class_names is not None or carried is None else carried
    ranked = _ranked(model, data, k, batch_size)
    rows, images = [], [r[4] for r in ranked]
    for index, label, p, loss, image in ranked:
        pred = int(np.argmax(p))
        rows.append({"index": index, "true_id": label, "true": names[label], "predicted_id": pred,
                     "predicted": names[pred], "probability": float(p[pred]), "loss": loss})
        if isinstance(image, str):  # a file of an image_folder() dataset: its path
            rows[-1]["file"] = image
    return rows, images


@public
def top_losses(model: keras.Model, data: Any, k: int = 9, class_names: Sequence[str] | None = None,
               batch_size: int = 256) -> list[dict[str, Any]]:
    """The ``k`` images of ``data`` with the highest loss: the model's worst mistakes (and least sure hits).

    The loss is each image's cross-entropy, ``-log(probability of its true class)``, as in training.

    Args:
        model: a trained classifier.
        data: ``(x, y)`` arrays (class ids 0..n-1), a dict with ``x``, ``y`` (and ``class_names``), or a
            ``tf.data.Dataset`` of ``(images, labels)`` batches (read once, in its order). A dataset of
            :func:`image_folder` (``d["train"]``, ``d["validation"]``) is read from its files instead, in
            sorted order and without its shuffle, so each call ranks the same images and names them.
        k: how many images.
        class_names: names of the classes (default: those the data carries, else those saved with the
            model, else ``"0"``, ``"1"``, ...).
        batch_size: images per prediction step (arrays), files read at a time (an image folder's).

    Returns:
        One row (a dict) per image, highest loss first: ``index`` (position in ``data``, 0-based; for an
        image folder's dataset, in its sorted files), ``true_id``, ``true``, ``predicted_id``,
        ``predicted`` (class ids from 0 and names), ``probability`` (of the predicted class) and
        ``loss``; for an image folder's dataset also ``file`` (the image's path).

    Example:
        >>> d = load_fashion_mnist(pad=True, n=16, n_test=32)
        >>> rows = top_losses(lenet5(), (d["x_test"], d["y_test"]), k=3, class_names=d["class_names"])
        >>> len(rows), sorted(rows[0])
        (3, ['index', 'loss', 'predicted', 'predicted_id', 'probability', 'true', 'true_id'])
    """
    return _table(model, data, k, class_names, batch_size)[0]


@public
def plot_top_losses(model: keras.Model, data: Any, k: int = 9, file: str | os.PathLike | None = None,
                    class_names: Sequence[str] | None = None, batch_size: int = 256, cols: int = 3):
    """Show the ``k`` images with the highest loss, titled ``predicted / true``, loss and probability
    (and the file's name, for an :func:`image_folder` dataset).

    Args:
        model, data, k, class_names, batch_size: as in :func:`top_losses` (``k`` at most
            ``CNNKIT_MAX_PLOT_IMAGES``, 32 by default).
        file: an image file to write (``.png``, ``.pdf``, ``.svg``, ``.jpg``; atomically); ``None``
            returns the matplotlib ``Figure``.
        cols: images per row.

    Returns:
        The path written (``file`` given) or the matplotlib ``Figure``.

    Example:
        >>> d = load_fashion_mnist(pad=True, n=16, n_test=32)
        >>> plot_top_losses(lenet5(), (d["x_test"], d["y_test"]), k=9, file="top_losses.png")
        'top_losses.png'
    """

    target = check_target(file)
    k = v.capped_int(k, "k", "plot_images", hint=" Draw several plots, or use top_losses() for the table.")
    cols = v.positive_int(cols, "cols")
    rows, images = _table(model, data, k, class_names, batch_size)
    if images and isinstance(images[0], str):  # files: read again, only these k
        shape = model_input_shape(model)
        images = list(read_images(images, shape[1:3], shape[-1], "data"))
    cols = min(cols, len(rows))
    nrows = -(-len(rows) // cols)
    fig = new_figure(2.4 * cols, 2.6 * nrows + 0.3, file)
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (row, img) in enumerate(zip(rows, images)):
        ax = axes[i // cols, i % cols]
        img = _unit(np.asarray(img, dtype="float32"))
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img[..., :3], cmap="gray")
        name = Path(row["file"]).name if "file" in row else None
        name = f"{name[:22]}...\n" if name and len(name) > 25 else f"{name}\n" if name else ""
        ax.set_title(f"{name}{row['predicted']} / {row['true']}\nloss {row['loss']:.2f}, p {row['probability']:.2f}",
                     fontsize=8, color="black" if row["predicted_id"] == row["true_id"] else "firebrick")
    fig.suptitle("Top losses: predicted / true class, loss, probability of the prediction", fontsize=9)
    return finish(fig, target)


@public
def most_confused(evaluation: Any, min_count: int = 1, class_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The pairs of classes an evaluation confuses most: true class, predicted class, count.

    Args:
        evaluation: the result of :func:`evaluate_classifier`, or a square matrix of counts (rows
            the true class, columns the predicted class).
        min_count: leave out pairs confused fewer times.
        class_names: names of the classes (default: the evaluation's, else ``"0"``, ``"1"``, ...).

    Returns:
        One row (a dict) per pair of different classes with at least ``min_count`` images, most
        frequent first: ``true``, ``predicted``, ``count``, ``share`` (of the true class's images).

    Example:
        >>> d = load_fashion_mnist(pad=True, n=16, n_test=64)
        >>> model = compile_classifier(lenet5())
        >>> pairs = most_confused(evaluate_classifier(model, (d["x_test"], d["y_test"])))
        >>> sorted(pairs[0])  # e.g. {'true': 'Shirt', 'predicted': 'T-shirt/top', 'count': 31, 'share': 0.31}
        ['count', 'predicted', 'share', 'true']
    """

    cm, names = counts_and_names(evaluation, class_names)
    k = cm.shape[0]
    min_count = v.positive_int(min_count, "min_count")
    support = cm.sum(1)
    pairs = [(int(cm[i, j]), i, j) for i in range(k) for j in range(k) if i != j and cm[i, j] >= min_count]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    return [{"true": names[i], "predicted": names[j], "count": c, "share": c / int(support[i])}
            for c, i, j in pairs]
