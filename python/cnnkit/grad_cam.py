"""What did the model look at? Grad-CAM heat maps (Selvaraju et al., 2017).

A convolutional layer's feature maps still know *where* things are; the output layer knows *what*.
Grad-CAM weighs each feature map of a late convolutional layer by how much the class score grows
with it (its gradient, averaged over the positions), adds them up, keeps the positive part and
scales it up to the image: a heat map of the regions that speak *for* the class. :func:`grad_cam`
computes it for any Keras classifier, looking inside a nested pretrained backbone for the layer;
:func:`plot_grad_cam` draws the maps over the images.

A map is only worth reading if it depends on what the model learnt: with the weights re-randomised
it must change (the "sanity check" of Adebayo et al., 2018, which ``tests/python/test_grad_cam.py``
runs).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, otherwise, public
from ._data_checks import check_images, image_array, model_classes
from ._model_info import model_input_shape
from ._plot import check_target, finish, new_figure
from .contract import check as check_range
from .evaluate import _names
from .feature_maps import _unit
from .keras_compat import replaced_call
from .saving import class_names_of

BATCH = 32
_FOLLOWERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.Activation,
              keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU)


def ordered_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer in the order the model computes them, nested models opened where they are called
    (the nested model itself left out)."""
    out: list[keras.layers.Layer] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += ordered_layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            out.append(layer)
    return out


def _output_shape(layer: keras.layers.Layer) -> tuple | None:
    try:
        return tuple(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError):  # a shared layer has no single output
        return None


def _spatial(shape: tuple | None) -> bool:
    """A 4-D output with more than one position (None: unknown size, taken as more than one)."""
    return shape is not None and len(shape) == 4 and not (shape[1] == 1 and shape[2] == 1)


def _is_conv(layer: keras.layers.Layer) -> bool:
    return "conv" in type(layer).__name__.lower() and any(
        getattr(layer, k, None) is not None for k in ("kernel", "depthwise_kernel", "pointwise_kernel"))


def default_layer(model: keras.Model) -> keras.layers.Layer:
    """The last convolutional layer with more than one output position, followed through the
    normalisation and activation layers right after it (its activated feature maps)."""
    layers = ordered_layers(model)
    convs = [i for i, layer in enumerate(layers) if _is_conv(layer) and _spatial(_output_shape(layer))]
    if not convs:
        raise ValueError(f"{caller()}(): `model` has no convolutional layer with feature maps (a 4-D output larger than "
                         "1x1), so there is nothing to localise; Grad-CAM needs a CNN. Pass `layer` to name a layer "
                         "with a 4-D output if the model has one.")
    i = convs[-1]
    shape = _output_shape(layers[i])
    while i + 1 < len(layers) and isinstance(layers[i + 1], _FOLLOWERS) and _output_shape(layers[i + 1]) == shape:
        i += 1
    return layers[i]


def find_layer(model: keras.Model, layer: Any) -> keras.layers.Layer:
    """``layer`` (a name, searched inside nested models too) checked for a 4-D output; ``None``: the default."""
    if layer is None:
        return default_layer(model)
    if not isinstance(layer, str) or not layer:
        raise TypeError(f"{caller()}(): `layer` must be a layer name (a string; NULL/None for the last convolutional "
                        f"layer), got {layer!r}.")
    layers = ordered_layers(model)
    maps = [x.name for x in layers if _spatial(_output_shape(x))]
    found = [x for x in layers if x.name == layer]
    if not found:
        raise ValueError(f"{caller()}(): `layer` {layer!r} is not a layer of the model (nested models searched too); "
                         f"layers with feature maps: {', '.join(maps[-8:]) or 'none'}.")
    shape = _output_shape(found[0])
    if shape is None or len(shape) != 4:
        raise ValueError(f"{caller()}(): `layer` {layer!r} has output shape {shape}: Grad-CAM needs feature maps "
                         f"(a 4-D output). Choose one of: {', '.join(maps[-8:]) or 'none'}.")
    return found[0]


@contextlib.contextmanager
def _capture(layer: keras.layers.Layer) -> Iterator[dict]:
    """Record ``layer``'s output each time it is called (the tensor the tape differentiates against)."""
    seen: dict[str, Any] = {}
    original = layer.call

    def call(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        seen["maps"] = out
        return out

    with replaced_call(layer, call):
        yield seen


def _output_layer(model: keras.Model) -> keras.layers.Layer:
    last = model.layers[-1]
    while isinstance(last, keras.Model) and last.layers:
        last = last.layers[-1]
    return last


@contextlib.contextmanager
def _logits(model: keras.Model) -> Iterator[None]:
    """The class scores before the output activation (softmax or sigmoid saturate: their gradients vanish
    for confident predictions), by switching the output layer's activation off for the duration."""
    last = _output_layer(model)
    act = getattr(last, "activation", None)
    name = getattr(act, "__name__", None)
    if name not in ("softmax", "sigmoid"):
        yield
        return
    last.activation = keras.activations.linear
    try:
        yield
    finally:
        last.activation = act


def _class_ids(class_id: Any, n: int, k: int, kind: str, names: list[str] | None) -> np.ndarray | None:
    """``None`` (the predicted classes) or one class id per image from an id, a name or one per image."""
    if class_id is None:
        return None
    classes = 2 if kind == "binary" else k
    items = list(class_id) if isinstance(class_id, (list, tuple, np.ndarray)) else [class_id]
    if len(items) not in (1, n):
        raise ValueError(f"{caller()}(): `class_id` must be one class or one per image ({n}), got {len(items)} values.")
    ids = []
    for c in items:
        if isinstance(c, str) and names and c in names:
            ids.append(names.index(c))
        elif v._is_intlike(c) and 0 <= int(c) < classes:
            ids.append(int(c))
        else:
            known = f" or a class name ({', '.join(names)})" if names else ""
            raise ValueError(f"{caller()}(): `class_id` must be a class id from 0 to {classes - 1} (0-based, as "
                             f"predict_classes() gives){known}, got {c!r}.")
    return np.asarray(ids * n if len(ids) == 1 else ids, dtype="int64")


def _images(model: keras.Model, images: Any) -> np.ndarray:
    want = model_input_shape(model)
    arr, _ = image_array(images)
    if arr.dtype.kind in "biuf" and arr.ndim == len(want) - 1:
        images = arr[None]  # one image
    images = check_images(model, images, "images")
    check_range(model, images, arg="images")  # images in another range than the model was trained on: a warning
    return images


@otherwise("grad_cam")
def heat_maps(model: keras.Model, images: Any, layer: Any = None,
              class_id: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, keras.layers.Layer]:
    """``(maps (n, H, W) in [0, 1], class ids explained, class probabilities (n, k), layer)``."""
    import tensorflow as tf

    kind, k = model_classes(model)
    x = _images(model, images)
    target = find_layer(model, layer)
    ids = _class_ids(class_id, len(x), k, kind, class_names_of(model))
    maps, used, probs = [], [], []
    with _capture(target) as seen, _logits(model):
        for i in range(0, len(x), BATCH):
            xb = tf.constant(x[i:i + BATCH])
            with tf.GradientTape() as tape:
                tape.watch(xb)
                scores = model(xb, training=False)
                scores = tf.cast(scores, tf.float32)
                if kind == "binary":
                    scores = tf.concat([-scores, scores], axis=1)
                chosen = tf.argmax(scores, axis=1) if ids is None else tf.constant(ids[i:i + BATCH])
                total = tf.reduce_sum(tf.gather(scores, chosen, axis=1, batch_dims=1))
            a = seen.get("maps")
            grads = None if a is None else tape.gradient(total, a)
            if grads is None:
                raise ValueError(f"{caller()}(): `layer` {target.name!r} does not lead to the model's output (the class "
                                 "score does not depend on it); choose a layer on the way to the output.")
            a, grads = tf.cast(a, tf.float32), tf.cast(grads, tf.float32)
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(weights * a, axis=-1, keepdims=True))
            cam = tf.image.resize(cam, x.shape[1:3], method="bilinear")[..., 0]
            top = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
            maps.append(np.asarray(tf.math.divide_no_nan(cam, top)))
            used.append(np.asarray(chosen))
            probs.append(_probabilities(np.asarray(scores, dtype="float64"), kind))
    return (np.clip(np.concatenate(maps), 0.0, 1.0).astype("float32"), np.concatenate(used).astype("int64"),
            np.concatenate(probs), target)


def _probabilities(scores: np.ndarray, kind: str) -> np.ndarray:
    """Class probabilities from the scores (``[-z, z]`` for a sigmoid unit's logit ``z``)."""
    if kind == "binary":
        p = 1 / (1 + np.exp(-scores[:, 1:]))
        return np.concatenate([1 - p, p], axis=1)
    e = np.exp(scores - scores.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@public
def grad_cam(model: keras.Model, images: Any, layer: str | None = None, class_id: Any = None) -> np.ndarray:
    """Grad-CAM heat maps: where in each image the evidence for a class lies.

    For each image: the feature maps ``A`` of ``layer``, each weighted by the mean gradient of the
    class score (before softmax/sigmoid) with respect to it, summed, the negative part set to 0,
    resized (bilinear) to the input's height and width and divided by its maximum.

    Args:
        model: a Keras classifier (1 sigmoid unit or n softmax units), e.g. a trained
            :func:`lenet5` or a :func:`transfer_model`.
        images: images ``(n, height, width, channels)`` as the model takes them (one image
            ``(height, width, channels)`` is a batch of one).
        layer: the name of a layer with feature maps (a 4-D output), looked for inside nested
            models too. ``None``: the last convolutional layer with more than one position (inside a
            pretrained backbone, its last one), with the BatchNormalization and activation layers
            right after it.
        class_id: the class to explain: ``None`` the predicted class of each image; one id
            (0-based, as :func:`predict_classes` gives) or class name for all images; or one per image.

    Returns:
        ``float32`` array ``(n, height, width)`` in [0, 1], one heat map per image (all 0 where no
        position speaks for the class).

    Example:
        >>> d = load_fashion_mnist(pad=True, n=16, n_test=8)
        >>> model = lenet5()  # untrained here; after fit_classifier() the maps show what it learnt
        >>> maps = grad_cam(model, d["x_test"][:4])
        >>> maps.shape, bool(maps.min() >= 0 and maps.max() <= 1)
        ((4, 32, 32), True)
    """
    return heat_maps(model, images, layer, class_id)[0]


@public
def plot_grad_cam(
    model: keras.Model,
    images: Any,
    layer: str | None = None,
    class_id: Any = None,
    file: str | os.PathLike | None = None,
    class_names: Sequence[str] | None = None,
    alpha: float = 0.5,
    cols: int = 4,
):
    """Draw each image with its Grad-CAM heat map on top, titled with the class explained.

    Args:
        model, images, layer, class_id: as in :func:`grad_cam` (at most ``CNNKIT_MAX_PLOT_IMAGES``
            images, 32 by default).
        file: an image file to write (``.png``, ``.pdf``, ``.svg``, ``.jpg``; atomically); ``None``
            returns the matplotlib ``Figure``.
        class_names: names for the titles (default: those saved with the model, else the ids).
        alpha: opacity of the heat map over the image, in [0, 1].
        cols: images per row.

    Returns:
        The path written (``file`` given) or the matplotlib ``Figure``.

    Example:
        >>> d = load_fashion_mnist(pad=True, n=16, n_test=8)
        >>> plot_grad_cam(lenet5(), d["x_test"][:8], file="grad_cam.png")
        'grad_cam.png'
    """

    target = check_target(file)
    alpha = _alpha(alpha)
    cols = v.positive_int(cols, "cols")
    k = model_classes(model)[1]
    x = _images(model, images)
    v.capped_int(len(x), "images", "plot_images", hint=" Draw several plots for more images.")
    names = _names(model, class_names, k)
    maps, ids, probs, at = heat_maps(model, x, layer, class_id)
    n = len(x)
    cols = min(cols, n)
    rows = -(-n // cols)
    fig = new_figure(2.2 * cols, 2.4 * rows + 0.3, file)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        ax = axes[i // cols, i % cols]
        img = _unit(x[i])
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img[..., :3], cmap="gray")
        ax.imshow(maps[i], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        ax.set_title(f"{names[ids[i]]} ({probs[i, ids[i]]:.2f})", fontsize=8)
    fig.suptitle(f"Grad-CAM at {at.name}: where the evidence for the class lies", fontsize=9)
    return finish(fig, target)


def _alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) or not 0 <= float(alpha) <= 1:
        raise ValueError(f"{caller()}(): `alpha` must be a number from 0 (image only) to 1 (heat map only), e.g. 0.5; "
                         f"got {alpha!r}.")
    return float(alpha)
