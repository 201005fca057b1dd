"""What a convolutional layer sees: its feature maps for one image, as a grid.

The slides' "different filters extract different types of features from the same image", made
visible for any model and any layer with a 4-D output.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, public
from ._data_checks import image_array
from ._images import read_image
from ._lang import code
from ._plot import check_target, finish, new_figure


@public
def feature_maps(model: keras.Model, image: Any, layer: str | int) -> np.ndarray:
    """The activations of ``layer`` for one image, shape ``(height, width, channels)``.

    Args:
        model: a Keras model.
        image: one image as an array ``(H, W, C)`` or ``(1, H, W, C)`` matching the model's input,
            or a path to an image file (resized to the model's input size; pixel values as stored,
            0-255, so scale it as the model's training data was scaled, or pass an array). A file
            declaring more pixels than the limit (``CNNKIT_MAX_IMAGE_PIXELS``) is refused before
            it is decoded.
        layer: a layer name, or an index into ``model.layers`` (0-based; negative from the end).

    Returns:
        A NumPy array ``(h, w, channels)``.
    """
    return _activations(model, image, layer)[2]


def _activations(model: keras.Model, image: Any, layer: str | int):
    """(layer, the image batch of one, its feature maps (h, w, c)) after checking every argument."""
    target = _layer(model, layer)
    x = _image(model, image)
    maps = np.asarray(keras.Model(model.input, target.output)(x, training=False))[0]
    return target, x, maps


@public
def plot_feature_maps(
    model: keras.Model,
    image: Any,
    layer: str | int,
    file: str | os.PathLike | None = None,
    max_maps: int = 32,
    cols: int = 8,
    cmap: str = "viridis",
):
    """Draw the input image and the first ``max_maps`` feature maps of ``layer`` as a grid.

    Args:
        model: a Keras model.
        image: one image (array ``(H, W, C)``/``(1, H, W, C)`` or an image file path).
        layer: a layer name or a 0-based index (negative from the end) with a 4-D output.
        file: image path to write (``.png``, ``.pdf``, ``.svg``, ``.jpg``; atomically; a missing
            folder is created); ``None`` returns the matplotlib ``Figure`` instead.
        max_maps: how many channels to draw at most.
        cols: grid columns.
        cmap: matplotlib colour map for the maps.

    Returns:
        The path written (``file`` given) or the matplotlib ``Figure``.

    Example:
        >>> img = np.random.default_rng(0).random((32, 32, 3))
        >>> plot_feature_maps(simple_cnn(), img, "block1_conv", file="maps.png")
        'maps.png'
        >>> plot_feature_maps(simple_cnn(), img, "block1_conv")  # a Figure: Jupyter shows it
        <CnnkitFigure size ... with 40 Axes>
    """
    max_maps = v.positive_int(max_maps, "max_maps")
    cols = v.positive_int(cols, "cols")
    _check_cmap(cmap)
    file = check_target(file)
    target, x, maps = _activations(model, image, layer)
    n = min(max_maps, maps.shape[-1])
    cols = min(cols, n)
    rows = 1 + -(-n // cols)
    fig = new_figure(1.6 * cols, 1.7 * rows, file)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    shown = x[0]
    axes[0, 0].imshow(shown[..., 0] if shown.shape[-1] == 1 else _unit(shown), cmap="gray")
    axes[0, 0].set_title("input", fontsize=8)
    for i in range(n):
        ax = axes[1 + i // cols, i % cols]
        ax.imshow(maps[..., i], cmap=cmap)
        ax.set_title(f"{i + 1}", fontsize=7)
    fig.suptitle(f"{target.name}: {n} of {maps.shape[-1]} feature maps, {maps.shape[0]}×{maps.shape[1]}",
                 fontsize=10)
    return finish(fig, file)


def _check_cmap(cmap: Any) -> None:
    import matplotlib

    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise ValueError(f"{caller()}(): `cmap` must be the name of a matplotlib colour map such as 'viridis', 'gray' "
                         f"or 'magma', got {cmap!r}.")


def _unit(img: np.ndarray) -> np.ndarray:
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def _layer(model: keras.Model, layer: str | int) -> keras.layers.Layer:
    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be a Keras model, got {type(model).__name__}.")
    convs = [la.name for la in model.layers if len(la.output.shape) == 4 and not isinstance(la, keras.layers.InputLayer)]
    if isinstance(layer, str):
        try:
            target = model.get_layer(layer)
        except ValueError:
            raise ValueError(f"{caller()}(): `layer` {layer!r} is not in the model; layers with feature maps: "
                             f"{', '.join(convs)}.") from None
    elif v._is_intlike(layer):
        i, n = int(layer), len(model.layers)
        if not -n <= i < n:
            shown = code(f"{i} is out of range for {n} layers (0-based; -1 is the last)",
                         f"{i + 1 if i >= 0 else i} is out of range: the model has {n} layers (1 to {n}, or -{n} to -1)")
            raise ValueError(f"{caller()}(): `layer` index {shown}.")
        target = model.layers[i]
    else:
        raise TypeError(f"{caller()}(): `layer` must be a layer name or an index, got {layer!r}.")
    if len(target.output.shape) != 4:
        raise ValueError(f"{caller()}(): `layer` {target.name!r} has output shape {tuple(target.output.shape)}: "
                         f"feature maps need a 4-D output. Choose one of: {', '.join(convs)}.")
    return target


def _image(model: keras.Model, image: Any) -> np.ndarray:
    want = tuple(model.input_shape[1:])
    if isinstance(image, (str, os.PathLike)):
        image = read_image(image, size=want[:2], channels=1 if want[-1] == 1 else 3, scale=255,
                           where=f"`image` file {os.fspath(image)!r}")
    x, problem = image_array(image)
    if image is None or problem:
        raise TypeError(f"{caller()}(): `image` must be one image (an array) or an image file path; it "
                        f"{problem or 'is None'}.")
    x = x.astype("float32")
    if x.ndim == len(want) - 1 and want[-1] == 1:
        x = x[..., None]  # a grayscale matrix (H, W) without a channel axis
    if x.ndim == len(want):
        x = x[None]
    if x.ndim != len(want) + 1 or x.shape[0] != 1 or \
            tuple(x.shape[1:]) != tuple(d if d is not None else s for d, s in zip(want, x.shape[1:])):
        raise ValueError(f"{caller()}(): `image` must be one image of shape {want} (or (1, *shape)), "
                         f"got an array of shape {np.shape(image)}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{caller()}(): `image` contains NaN or infinite values.")
    return x
