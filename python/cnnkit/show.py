"""A look at the data: ``show_batch()`` draws a labelled grid of images, from arrays and labels or
from an ``image_folder()`` dataset (what fastai users reach for first: ``dls.show_batch()``)."""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from . import _arg_checks as v
from ._context import caller, public
from ._data_checks import _label_values, image_array, is_dataset
from ._data_kinds import _from_py_dataset, _is_py_dataset
from ._lang import code
from ._plot import check_target, finish, new_figure


@public
def show_batch(
    data: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    n: int = 16,
    cols: int | None = None,
    file: str | os.PathLike | None = None,
) -> Any:
    """A grid of the first ``n`` images, each titled with its class name.

    Args:
        data: images ``(m, height, width, channels)`` (values in [0, 1] or 0-255); or a
            ``tf.data.Dataset`` of ``(images, labels)`` batches (from :func:`image_folder`: a
            shuffled batch, titled with the folder's class names); or the dict :func:`image_folder`
            returns (its ``train`` dataset); or ``{"x": images, "y": labels}``.
        labels: with images: one label per image, class ids (0, 1, ...) or names; ``None``: no titles.
        class_names: names of the class ids (default: those the data carries).
        n: images to draw, at most 32 (``CNNKIT_MAX_PLOT_IMAGES``; see :func:`limits`).
        cols: columns of the grid (default: a square-ish grid).
        file: ``None`` (the default) returns the matplotlib ``Figure`` (Jupyter shows it inline); an
            image path (``.png``, ``.pdf``, ``.svg``, ``.jpg``) writes it there (atomically) instead.

    Returns:
        The ``Figure`` (``file=None``) or the path written.

    Example:
        >>> d = load_fashion_mnist(n=20)
        >>> fig = show_batch(d["x_train"], d["y_train"], d["class_names"], n=6)
        >>> [ax.get_title() for ax in fig.axes][:3]
        ['Bag', 'Dress', 'Pullover']
    """
    n = v.capped_int(n, "n", "plot_images", hint=" Draw several grids for more.")
    cols = None if cols is None else v.positive_int(cols, "cols")
    target = check_target(file)
    x, y, carried = _first_images(data, labels, n)
    titles = _titles(y, class_names if class_names is not None else carried, class_names is not None)
    k = len(x)
    cols = min(cols or math.ceil(math.sqrt(k)), k)
    rows = math.ceil(k / cols)
    fig = new_figure(max(3.0, 1.6 * cols), max(2.0, 1.75 * rows), target)
    axes = fig.subplots(rows, cols, squeeze=False)
    shown = _displayable(x)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= k:
            continue
        img = shown[i]
        ax.imshow(img[..., 0] if img.shape[-1] != 3 else img, cmap="gray" if img.shape[-1] != 3 else None,
                  vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    return finish(fig, target)


def _first_images(data: Any, labels: Any, n: int) -> tuple[np.ndarray, Any, Any]:
    """(images, labels or None, the class names the data carries or None): the first ``n``."""
    carried = None
    if isinstance(data, (tuple, list)) and len(data) == 2 and np.ndim(data[0]) == 4 and np.ndim(data[1]) == 1:
        if labels is not None:  # the (x, y) pair fit_classifier() takes
            raise ValueError(f"{caller()}(): `labels` must be None (NULL) when `data` holds its labels (x and y).")
        data, labels = data
    elif _is_py_dataset(data):
        data = _from_py_dataset(data)
    if isinstance(data, dict) and "train" in data:  # image_folder()'s result
        carried = data.get("class_names")
        data = data["train"]
    elif isinstance(data, dict) and "x" in data and "y" in data:  # R's list(x, y) at the seam
        carried = data.get("class_names")
        if labels is not None:
            raise ValueError(f"{caller()}(): `labels` must be None (NULL) when `data` holds its labels (x and y).")
        data, labels = data["x"], data["y"]
    if is_dataset(data):
        if labels is not None:
            raise ValueError(f"{caller()}(): `labels` must be None (NULL) when `data` is a dataset: its batches carry "
                             "the labels.")
        return (*_from_dataset(data, n), carried if carried is not None else getattr(data, "class_names", None))
    full = _images(data)
    x = full[:n]
    if labels is None:
        return x, None, carried
    y = np.asarray(list(labels), dtype=object) if isinstance(labels, (list, tuple)) else np.asarray(labels)
    if y.ndim != 1 or len(y) != len(full):
        raise ValueError(f"{caller()}(): `labels` must hold one label per image ({len(full)}), got "
                         f"{len(y) if y.ndim == 1 else 'an array of shape ' + str(y.shape)}.")
    return x, y[:n], carried


def _images(x: Any) -> np.ndarray:
    x, problem = image_array(x)
    if problem:
        raise TypeError(f"{caller()}(): `data` {problem}.")
    if x.ndim == 3:
        x = x[..., None]  # (m, height, width): grayscale without a channel axis
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"{caller()}(): `data` must be images (m, height, width, channels), "
                         f"{code('(x, y)', 'list(x, y)')}, an image_folder() dataset or a keras.utils.PyDataset; got an "
                         f"array of shape {x.shape}.")
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype("float32")


def _from_dataset(ds: Any, n: int) -> tuple[np.ndarray, Any]:
    from ._data_checks import dataset_errors

    xs, ys, got = [], [], 0
    with dataset_errors():
        for batch in ds:
            images, batch_labels = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
            xs.append(np.asarray(images))
            ys.append(None if batch_labels is None else np.asarray(batch_labels).reshape(len(xs[-1]), -1)[:, 0])
            got += len(xs[-1])
            if got >= n:
                break
    if not xs:
        raise ValueError(f"{caller()}(): `data` is an empty dataset.")
    x = _images(np.concatenate(xs))[:n]
    y = None if any(b is None for b in ys) else np.concatenate([b for b in ys if b is not None])[:n]
    return x, y


def _titles(y: Any, class_names: Any, given: bool) -> list[str] | None:
    if y is None:
        return None
    if y.dtype.kind in "USO" and len(y) and isinstance(y.flat[0], str):
        if given:
            raise ValueError(f"{caller()}(): `class_names` is for class ids; `labels` are names already.")
        return [str(s) for s in y]
    ids = _label_values(y, "labels").astype("float64")
    if np.isnan(ids).any() or (ids != np.round(ids)).any() or (ids < 0).any():
        raise ValueError(f"{caller()}(): `labels` must be {code('class ids 0, 1, ...', 'a factor, or class ids 0, 1, ...')}, "
                         f"got {y[:5].tolist()} ...")
    ids = ids.astype("int64")
    if class_names is None:
        return [str(i) for i in ids]
    names = v.strings(class_names, "class_names")
    if ids.max() >= len(names):
        raise ValueError(f"{caller()}(): `labels` has class id {int(ids.max())} but `class_names` names "
                         f"{len(names)} classes (ids 0 to {len(names) - 1}).")
    return [names[i] for i in ids]


def _displayable(x: np.ndarray) -> np.ndarray:
    """Images in [0, 1] for imshow: 0-255 values divided by 255; anything else (negative values after
    preprocessing) stretched image by image."""
    finite = np.nan_to_num(x)
    if finite.min() >= 0 and finite.max() <= 1:
        return finite
    if finite.min() >= 0 and finite.max() <= 255:
        return finite / 255.0
    lo = finite.min(axis=(1, 2, 3), keepdims=True)
    hi = finite.max(axis=(1, 2, 3), keepdims=True)
    return (finite - lo) / np.where(hi > lo, hi - lo, 1)
