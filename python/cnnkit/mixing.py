"""MixUp and CutMix: train on blends of two images, their labels blended in the same proportion.

``fit_classifier(mixup=0.2)`` blends each training batch with a shuffled copy of itself
(``lam * a + (1 - lam) * b``, ``lam ~ Beta(alpha, alpha)`` per image: Keras' own
``keras.layers.MixUp``); ``cutmix=1.0`` pastes a rectangle of the other image instead, the labels
weighted by its share of the pixels (``keras.layers.CutMix``, ``factor``; the share counted exactly, where
Keras counts the box's continuous area); with both, each batch gets one of the
two at random (as timm and fastai do). Only the training batches are blended; validation and
prediction see the images as they are.

Blended labels are no longer class ids, so the model trains with a categorical cross-entropy on
one-hot labels (``keras.losses.CategoricalCrossentropy``, with ``label_smoothing``; a binary model's
``BinaryCrossentropy`` takes blended 0/1 labels as they are): cnnkit compiles it so and turns the
class ids of the training and validation data into one-hot rows itself -- also in later
``fit_classifier()`` calls on the same model, and for a model the user compiled with
``"categorical_crossentropy"``. Arrays become a ``tf.data`` pipeline (shuffled each epoch, the
``validation_split`` rows held out as Keras holds them out); a frozen backbone's features are not
cached while mixing (a blend of images has other features than the blend of their features).

MixUp and CutMix regularise: they pay off in long runs and on small datasets (the fastest recipes
and timm use them for tens to hundreds of epochs), and cost accuracy in short ones -- measure on a
validation split (bench/results/mixing.md has the main job's figures).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ._context import caller
from ._lang import code

DEFAULTS = {"mixup": 0.2, "cutmix": 1.0}  # what True means: Keras' own defaults (MixUp alpha, CutMix factor)
SOFT_LOSSES = ("categorical_crossentropy", "CategoricalCrossentropy", "categorical_focal_crossentropy",
               "CategoricalFocalCrossentropy")


def check_mixing(value: Any, arg: str) -> float:
    """``mixup`` (MixUp's alpha) or ``cutmix`` (CutMix's factor) checked: ``0``, ``False`` or
    ``None`` (off: 0.0), ``True`` (Keras' default) or a number in (0, 1]."""
    if value is None or value is False or (isinstance(value, np.bool_) and not value):
        return 0.0
    if value is True or isinstance(value, np.bool_):
        return DEFAULTS[arg]
    what = "MixUp's alpha: each image's share is drawn from Beta(alpha, alpha)" if arg == "mixup" else \
        "CutMix's factor: the pasted rectangle's share of the image is drawn from Beta(factor, factor)"
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{caller()}(): `{arg}` must be a number in (0, 1] ({what}), {code('True', 'TRUE')} for "
                        f"{DEFAULTS[arg]}, or 0 for off; got {value!r} ({type(value).__name__}).")
    x = float(value)
    if x == 0:
        return 0.0
    if not np.isfinite(x) or not 0 < x <= 1:
        raise ValueError(f"{caller()}(): `{arg}` must be a number in (0, 1] ({what}; e.g. {DEFAULTS[arg]}), or 0 for "
                         f"off; got {value!r}.")
    return x


def _loss_name(loss: Any) -> str | None:
    if isinstance(loss, str):
        return loss
    if isinstance(loss, keras.losses.Loss):
        return type(loss).__name__
    return None


def takes_soft_labels(model: keras.Model) -> bool:
    """Whether ``model`` is compiled with a loss that takes one-hot (or blended) labels of its
    classes, not class ids: then cnnkit gives it one-hot labels."""
    if not getattr(model, "compiled", False):
        return False
    return _loss_name(getattr(model, "loss", None)) in SOFT_LOSSES


def mixing_loss(kind: str, logits: bool, label_smoothing: float) -> keras.losses.Loss:
    """The loss a model trains with on blended labels: categorical cross-entropy on one-hot rows
    (binary cross-entropy for one sigmoid unit), with ``label_smoothing``."""
    if kind == "binary":
        return keras.losses.BinaryCrossentropy(from_logits=logits, label_smoothing=label_smoothing)
    return keras.losses.CategoricalCrossentropy(from_logits=logits, label_smoothing=label_smoothing)


def check_compiled_for_mixing(model: keras.Model, kind: str) -> None:
    """A model the user compiled keeps its loss: with MixUp/CutMix it must take blended labels."""
    loss = _loss_name(getattr(model, "loss", None))
    if kind == "binary" and loss in ("binary_crossentropy", "BinaryCrossentropy", "binary_focal_crossentropy",
                                     "BinaryFocalCrossentropy"):
        return
    if kind != "binary" and loss in SOFT_LOSSES:
        return
    want = "binary_crossentropy" if kind == "binary" else "categorical_crossentropy"
    raise ValueError(f"{caller()}(): `mixup`/`cutmix` train on blended labels, which `model`'s loss ({loss!r}) cannot "
                     f"take (it takes class ids); pass a model that is not compiled yet (cnnkit compiles it with a "
                     f"{want} loss), or compile it with loss={want!r}.")


def _as_targets(y: Any, k: int) -> Any:
    """Class ids as one-hot float rows of ``k`` classes (``k == 1``: a binary model's 0/1 as floats)."""
    import tensorflow as tf

    if k == 1:
        return tf.reshape(tf.cast(y, "float32"), (-1, 1))
    return tf.one_hot(tf.cast(tf.reshape(y, (-1,)), "int32"), k)


def soft_data(data: Any, validation_data: Any, k: int, batch_size: int, validation_split: float | None,
              rows: int, seed: int | None, mixup: float, cutmix: float) -> tuple[Any, Any]:
    """The training and validation data with one-hot labels (``rows``: how many array rows train,
    the rest being the ``validation_split`` part); training batches blended (MixUp, CutMix). Arrays
    become batched ``tf.data`` datasets, shuffled each epoch."""
    import tensorflow as tf

    from ._data_checks import is_dataset

    def labelled(ds: Any) -> Any:
        return ds.map(lambda x, y, *w: (x, _as_targets(y, k), *w), num_parallel_calls=tf.data.AUTOTUNE)

    if is_dataset(data):
        train = labelled(data)
    else:
        x, y = data[0], data[1]
        if validation_split:
            split = (x[rows:], y[rows:])
            validation_data = split if validation_data is None else validation_data
        train = tf.data.Dataset.from_tensor_slices((x[:rows], y[:rows])).shuffle(
            rows, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
        train = labelled(train)
    if mixup or cutmix:
        train = train.map(_blender(mixup, cutmix, seed), num_parallel_calls=tf.data.AUTOTUNE)
    if validation_data is not None:
        if is_dataset(validation_data):
            validation_data = labelled(validation_data)
        else:
            vx, vy = validation_data[0], validation_data[1]
            validation_data = labelled(tf.data.Dataset.from_tensor_slices((vx, vy)).batch(batch_size))
    return train.prefetch(tf.data.AUTOTUNE), validation_data


def _blender(mixup: float, cutmix: float, seed: int | None) -> Any:
    """A batch -> batch function that blends with Keras' MixUp or CutMix (one of them per batch when
    both are on)."""
    import tensorflow as tf

    layers = []
    if mixup:
        layers.append(keras.layers.MixUp(alpha=mixup, seed=seed))
    if cutmix:
        layers.append(keras.layers.CutMix(factor=cutmix, seed=None if seed is None else seed + 1))

    def blend_with(layer: Any, x: Any, y: Any) -> tuple[Any, Any]:
        images = tf.cast(x, "float32")
        t = layer.get_random_transformation({"images": images, "labels": y}, training=True)
        if "batch_masks" in t:  # CutMix: the labels weighted by the pasted pixels' share, exactly (Keras
            # weighs them by the box's continuous area, a few per cent off on small images)
            t = {**t, "mix_weight": 1.0 - tf.reduce_mean(tf.cast(t["batch_masks"], "float32"), axis=(1, 2, 3))}
        blended = layer.transform_images(images, t, training=True)
        return tf.cast(blended, x.dtype), layer.transform_labels(y, t, training=True)

    def blend(x: Any, y: Any, *w: Any) -> tuple[Any, ...]:
        if len(layers) == 1:
            bx, by = blend_with(layers[0], x, y)
        else:
            pick = tf.random.uniform((), seed=seed) < 0.5
            bx, by = tf.cond(pick, lambda: blend_with(layers[0], x, y), lambda: blend_with(layers[1], x, y))
        return (bx, by, *w)

    return blend


def check_images_for_mixing(mixup: float, cutmix: float, data: Any) -> None:
    """Keras' MixUp and CutMix blend images: the data must be ``(n, height, width, channels)``."""
    if not (mixup or cutmix):
        return
    from ._data_checks import is_dataset

    shape = tuple(data.element_spec[0].shape) if is_dataset(data) else np.shape(data[0])
    if len(shape) != 4:
        arg = "cutmix" if cutmix else "mixup"
        raise ValueError(f"{caller()}(): `{arg}` blends images (Keras' {'CutMix' if cutmix else 'MixUp'} layer), so the "
                         f"data must be images of shape (n, height, width, channels); got shape {shape}.")

