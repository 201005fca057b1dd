"""Image augmentation: the slides' six Keras layers (plus flips), chosen automatically (RandAugment,
AugMix), and the slides' three ways to apply them:

- dynamically inside the model: :func:`with_augmentation` (active in training only);
- dynamically in the input pipeline: :func:`augmented_dataset` (a ``tf.data`` map);
- once before training: :func:`augment_dataset` (the data set grows by ``copies``).

Values are assumed to be in ``value_range`` (cnnkit's loaders give [0, 1]).
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, public
from ._data_checks import _label_values, image_array
from ._lang import code
from ._plot import check_target, finish, new_figure
from .limits import limit, too_many

FLIPS = {True: "horizontal", "horizontal": "horizontal", "vertical": "vertical",
         "horizontal_and_vertical": "horizontal_and_vertical"}
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _factor(value: Any, arg: str, *, pair: bool = False, upper: float | None = 1.0) -> Any:
    """A number > 0 (or a pair of them for height/width), at most ``upper``."""
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if len(items) not in ((1, 2) if pair else (1,)):
        raise ValueError(f"{caller()}(): `{arg}` must be {'one or two numbers' if pair else 'one number'}, got {value!r}.")
    out = [v.positive_number(x, arg) for x in items]
    if upper is not None and any(x > upper for x in out):
        raise ValueError(f"{caller()}(): `{arg}` must be at most {upper} (a fraction), got {value!r}.")
    return (out[0], out[-1]) if pair else out[0]


def _value_range(value_range: Any) -> tuple[float, float]:
    items = list(value_range) if isinstance(value_range, (list, tuple, np.ndarray)) else []
    if len(items) != 2 or not all(isinstance(x, (numbers.Real, np.number)) for x in items) or not items[0] < items[1]:
        raise ValueError(f"{caller()}(): `value_range` must be (low, high) with low < high, e.g. (0, 1) or (0, 255); "
                         f"got {value_range!r}.")
    return float(items[0]), float(items[1])


def _jitter(color_jitter: Any) -> dict[str, Any]:
    if isinstance(color_jitter, dict):
        allowed = {"brightness_factor", "contrast_factor", "saturation_factor", "hue_factor"}
        if not color_jitter or set(color_jitter) - allowed:
            raise ValueError(f"{caller()}(): `color_jitter` as a dict takes the keys {sorted(allowed)}, "
                             f"got {sorted(color_jitter)}.")
        return dict(color_jitter)
    f = _factor(color_jitter, "color_jitter")
    return {"brightness_factor": f, "contrast_factor": f}



@keras.saving.register_keras_serializable(package="cnnkit")
class RandomShear(keras.layers.RandomShear):
    """Keras' ``RandomShear`` whose saved model loads again.

    Keras 3.15 saves ``RandomShear(x_factor=0.1)`` as ``x_factor=[-0.1, 0.1]`` and then refuses that
    config when the model is loaded ("The `factor` argument should be a number ... in the range
    [0, 1.0]"): a model with shear augmentation could not be reloaded. This class takes such a
    symmetric range back (``[-a, a]`` is ``a``) and saves ranges that way; otherwise it is Keras' layer.

    Example:
        >>> layer = RandomShear(x_factor=0.1, y_factor=0.2)
        >>> RandomShear.from_config(layer.get_config()).x_factor
        (-0.1, 0.1)
    """

    def _set_factor_with_name(self, factor: Any, factor_name: str) -> Any:
        if isinstance(factor, (tuple, list)) and len(factor) == 2 and factor[0] == -factor[1] and factor[1] >= 0:
            factor = factor[1]
        return super()._set_factor_with_name(factor, factor_name)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("x_factor", "y_factor"):
            low, high = config[key]
            if low == -high:
                config[key] = high
        return config


@public
def augmentation(
    crop: int | tuple[int, int] | None = None,
    translate: float | tuple[float, float] | None = None,
    shear: float | None = None,
    rotate: float | None = None,
    erase: float | None = None,
    color_jitter: float | dict | None = None,
    flip: str | bool | None = None,
    value_range: tuple[float, float] = (0, 1),
    fill_mode: str = "constant",
    seed: int | None = None,
) -> keras.Sequential:
    """The slides' augmentation layers, composed in a ``keras.Sequential`` (only those asked for).

    Args:
        crop: ``RandomCrop`` to this ``(height, width)`` window (one number: square). The output is
            that size; at inference Keras takes the centre.
        translate: ``RandomTranslation`` by up to this fraction of the height/width (or a pair).
        shear: ``RandomShear`` factor (fraction) on both axes.
        rotate: ``RandomRotation`` by up to this fraction of a full turn (0.05 = +/- 18 degrees).
        erase: ``RandomErasing`` probability (a rectangle replaced by noise, simulating occlusion).
        color_jitter: ``RandomColorJitter``: one number for brightness and contrast (works on
            grayscale), or a dict of its ``*_factor`` arguments (saturation and hue need RGB).
        flip: ``"horizontal"`` (or ``True``), ``"vertical"``, ``"horizontal_and_vertical"``.
        value_range: the images' value range (cnnkit's loaders: (0, 1)).
        fill_mode: how translation, shear and rotation fill new pixels (``"constant"``: black).
        seed: base seed; each layer gets ``seed + i``.

    Returns:
        A ``keras.Sequential`` named ``augmentation``; random in training, the identity otherwise
        (except ``crop``).

    Example:
        >>> aug = augmentation(translate=0.1, rotate=0.05, flip="horizontal", seed=1)
        >>> [layer.__class__.__name__ for layer in aug.layers]
        ['RandomTranslation', 'RandomRotation', 'RandomFlip']
    """
    fill_mode = v.choice(fill_mode, "fill_mode", choices=FILL_MODES)
    vr = _value_range(value_range)
    seed = None if seed is None else v.positive_int(seed, "seed", minimum=0)
    L = keras.layers
    specs: list[tuple[type, dict[str, Any]]] = []
    if crop is not None:
        h, w = v.int_tuple(crop, "crop")
        specs.append((L.RandomCrop, {"height": h, "width": w}))
    if translate is not None:
        th, tw = _factor(translate, "translate", pair=True)
        specs.append((L.RandomTranslation, {"height_factor": th, "width_factor": tw, "fill_mode": fill_mode}))
    if shear is not None:
        s = _factor(shear, "shear")
        specs.append((RandomShear, {"x_factor": s, "y_factor": s, "fill_mode": fill_mode}))
    if rotate is not None:
        specs.append((L.RandomRotation, {"factor": _factor(rotate, "rotate"), "fill_mode": fill_mode}))
    if erase is not None:
        specs.append((L.RandomErasing, {"factor": _factor(erase, "erase"), "value_range": vr}))
    if color_jitter is not None:
        specs.append((L.RandomColorJitter, {"value_range": vr, **_jitter(color_jitter)}))
    flip = v.choice(flip, "flip", choices=[None, False, *FLIPS])
    if flip is not None and flip is not False:
        specs.append((L.RandomFlip, {"mode": FLIPS[flip]}))
    if not specs:
        raise ValueError(f"{caller()}(): choose at least one augmentation, e.g. augmentation(translate=0.1, rotate=0.05).")
    layers = [cls(**kw, seed=None if seed is None else seed + i) for i, (cls, kw) in enumerate(specs)]
    return keras.Sequential(layers, name="augmentation")


@public
def rand_augment(
    method: str = "randaugment",
    value_range: tuple[float, float] = (0, 1),
    num_ops: int = 2,
    factor: float = 0.5,
    seed: int | None = None,
) -> keras.layers.Layer:
    """Augmentation chosen automatically: Keras' ``RandAugment`` or ``AugMix`` layer.

    Args:
        method: ``"randaugment"`` (``num_ops`` random operations per image at strength ``factor``)
            or ``"augmix"`` (a mix of augmentation chains).
        value_range: the images' value range.
        num_ops: operations per image (RandAugment).
        factor: strength in (0, 1].
        seed: random seed.

    Returns:
        A Keras layer; use it like :func:`augmentation`'s result. Both need 3-channel images
        (``load_fashion_mnist(channels=3)``).

    Example:
        >>> rand_augment("augmix").__class__.__name__
        'AugMix'
    """
    method = v.choice(method, "method", choices=("randaugment", "augmix"))
    vr = _value_range(value_range)
    factor = _factor(factor, "factor")
    seed = None if seed is None else v.positive_int(seed, "seed", minimum=0)
    if method == "augmix":
        return keras.layers.AugMix(value_range=vr, factor=factor, seed=seed)
    return keras.layers.RandAugment(value_range=vr, num_ops=v.positive_int(num_ops, "num_ops"),
                                    factor=factor, seed=seed)


def _check_layer(aug: Any, shape: tuple | None = None, same_size: bool = False) -> None:
    """``aug`` must be a Keras layer; given an image ``shape`` (without the batch axis), it must map such
    images to images (of the same size with ``same_size``), checked symbolically (nothing is computed)."""
    if not isinstance(aug, keras.layers.Layer):
        raise TypeError(f"{caller()}(): `aug` must be a Keras layer such as augmentation(...) or rand_augment(), "
                        f"got {type(aug).__name__}.")
    if shape is None:
        return
    try:
        out = tuple(aug(keras.Input(tuple(shape)), training=True).shape[1:])
    except Exception as e:  # noqa: BLE001 - whatever Keras raises, the layer does not take these images
        raise ValueError(f"{caller()}(): `aug` cannot take images of shape {tuple(shape)} ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200]}). Use augmentation(...) or rand_augment() (3 channels).") from None
    if len(out) != len(shape):
        raise ValueError(f"{caller()}(): `aug` must return images: it turns images of shape {tuple(shape)} into {out}.")
    if same_size and out != tuple(shape):
        raise ValueError(f"{caller()}(): `aug` changes the image size ({tuple(shape)} -> {out}); drop `crop` (the "
                         "images must keep their size here).")


def _row_layers(aug: Any) -> list[Any]:
    """One layer, or the layers of a dict ``{name: layer}`` (one grid row each), checked."""
    if not isinstance(aug, dict):
        _check_layer(aug)
        return [aug]
    if not 1 <= len(aug) <= 8:
        raise ValueError(f"{caller()}(): `aug` as a dict needs 1 to 8 named layers (one row each), got {len(aug)}.")
    for name, layer in aug.items():
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(f"{caller()}(): `aug`[{name!r}] must be a Keras layer such as augmentation(...), "
                            f"got {type(layer).__name__}.")
    return list(aug.values())


def _images(x: Any, arg: str) -> np.ndarray:
    x, problem = image_array(x)
    if problem:
        raise TypeError(f"{caller()}(): `{arg}` {problem}.")
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"{caller()}(): `{arg}` must be a non-empty array of images (n, height, width, channels), "
                         f"got shape {x.shape} and dtype {x.dtype}.")
    with np.errstate(invalid="ignore", over="ignore"):  # R's NA is a signalling NaN
        return x.astype("float32", copy=False)


def _apply(aug: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([np.asarray(aug(x[i:i + batch_size], training=True))
                           for i in range(0, len(x), batch_size)])


def _images_and_labels(x: Any, y: Any, aug: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check the images, the labels (numbers, one per image, none missing) and the augmentation layer."""
    x = _images(x, "x")
    y = _label_values(y, "y")
    if y.ndim not in (1, 2) or len(y) != len(x):
        raise ValueError(f"{caller()}(): `y` must hold one label per image ({len(x)}), got shape {y.shape}.")
    missing = int(np.isnan(y.astype("float64")).sum())
    if missing:
        raise ValueError(f"{caller()}(): `y` contains {missing} missing label(s) ({code('NaN', 'NA or NaN')}).")
    _check_layer(aug, x.shape[1:], same_size=caller() == "augment_dataset")
    return x, y


@public
def augment_dataset(x: Any, y: Any, aug: Any, copies: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Augment once, before training: the images plus ``copies`` augmented versions of each.

    Args:
        x: images ``(n, h, w, c)``.
        y: labels ``(n,)`` (repeated for the copies).
        aug: an augmentation layer (it must keep the image size: no ``crop``).
        copies: augmented copies per image; the result has ``n * (copies + 1)`` images, at most
            4 GiB of them (``CNNKIT_MAX_AUGMENT_BYTES``; see ``cnnkit.limits()``).

    Returns:
        ``(x, y)``: the originals first, then each round of copies.

    Example:
        >>> d = load_fashion_mnist(n=10)
        >>> xa, ya = augment_dataset(d["x_train"], d["y_train"], augmentation(rotate=0.05), copies=2)
        >>> xa.shape, ya.shape
        ((30, 28, 28, 1), (30,))
    """
    x, y = _images_and_labels(x, y, aug)
    copies = v.positive_int(copies, "copies")
    need = x.size * (copies + 1) * 4  # float32 bytes of the result
    if need > limit("augment_bytes"):
        raise ValueError(
            f"{caller()}(): `copies` = {copies:,} would make {len(x) * (copies + 1):,} images of {x.shape[1:]}, "
            f"{need:,} bytes, more than {too_many('augment_bytes')}. Augment on the fly instead "
            "(augmented_dataset() or with_augmentation(): no copies are kept), or use fewer copies.")
    out = [x] + [_apply(aug, x) for _ in range(copies)]
    if any(o.shape != x.shape for o in out):
        raise ValueError(f"{caller()}(): `aug` changes the image size ({x.shape[1:]} -> {out[-1].shape[1:]}); "
                         "drop `crop` when augmenting before training.")
    return np.concatenate(out), np.concatenate([y] * (copies + 1))


@public
def augmented_dataset(x: Any, y: Any, aug: Any, batch_size: int = 128, shuffle: bool = True,
                      seed: int | None = None, class_names: Sequence[str] | None = None) -> Any:
    """Augment dynamically in the input pipeline: a shuffled, batched ``tf.data.Dataset`` whose
    batches are augmented afresh every epoch (on the CPU, in parallel with training).

    Args:
        x: images ``(n, h, w, c)``; y: class ids ``(n,)``.
        aug: an augmentation layer.
        batch_size: images per batch.
        shuffle: reshuffle every epoch.
        seed: shuffle seed.
        class_names: the classes' names (the dataset's ``class_names``, which :func:`fit_classifier`
            remembers on the model; R passes a factor's levels).

    Returns:
        A dataset for :func:`fit_classifier`.

    Example:
        >>> d = load_fashion_mnist(n=64)
        >>> ds = augmented_dataset(d["x_train"], d["y_train"], augmentation(translate=0.1), batch_size=32)
        >>> model = simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)
        >>> fit_classifier(model, ds, epochs=2, verbose=0)["epoch"]
        [1, 2]
    """
    import tensorflow as tf

    x, y = _images_and_labels(x, y, aug)
    batch_size = v.positive_int(batch_size, "batch_size")
    shuffle = v.flag(shuffle, "shuffle")
    seed = None if seed is None else v.positive_int(seed, "seed", minimum=0)
    if class_names is not None:
        if not isinstance(class_names, (list, tuple, np.ndarray)) or not len(class_names) or \
                not all(isinstance(c, str) for c in class_names):
            raise TypeError(f"{caller()}(): `class_names` must be a list of strings, got {class_names!r}.")
        if not all(c.strip() for c in class_names) or len(set(class_names)) < len(class_names):
            raise ValueError(f"{caller()}(): `class_names` must be distinct, non-empty names, got {list(class_names)!r}.")
        classes = y.shape[1] if y.ndim == 2 else (int(np.max(y)) + 1 if len(y) else 0)
        if len(class_names) < classes:
            raise ValueError(f"{caller()}(): `class_names` has {len(class_names)} name(s) but `y` has class ids up to "
                             f"{classes - 1}: give one name per class ({classes} or more).")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda a, b: (aug(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if class_names is not None:
        ds.class_names = list(class_names)
    return ds


@public
def with_augmentation(model: keras.Model, aug: Any) -> keras.Model:
    """Augment dynamically inside the model: ``Input -> aug -> model``, random in training only.

    Args:
        model: a Keras model with one image input.
        aug: an augmentation layer that keeps the image size.

    Returns:
        A new model sharing ``model``'s layers and weights.

    Example:
        >>> m = with_augmentation(simple_cnn(), augmentation(flip=True))
        >>> m.count_params() == simple_cnn().count_params()
        True
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be a Keras model, got {type(model).__name__}.")
    _check_layer(aug, model.input_shape[1:], same_size=True)
    inputs = keras.Input(model.input_shape[1:])
    return keras.Model(inputs, model(aug(inputs)), name=f"{model.name}_augmented")


@public
def plot_augmentation(
    images: Any,
    aug: Any,
    n: int = 6,
    file: str | os.PathLike | None = None,
    titles: Sequence[str] | None = None,
) -> Any:
    """The slides' before/after grid: each row one image, then ``n`` augmented versions of it.

    Args:
        images: one image ``(h, w, c)`` or several ``(m, h, w, c)`` (up to 8 rows are drawn).
        aug: an augmentation layer (from :func:`augmentation` or :func:`rand_augment`), or a dict
            ``{name: layer}`` of up to 8 layers: then each row is one layer applied to the first
            image, labelled with its name (the slides' one-augmentation-per-slide pictures).
        n: augmented versions per image (per layer), at most 32 (``CNNKIT_MAX_PLOT_IMAGES``).
        file: ``None`` (the default) returns the matplotlib ``Figure`` (Jupyter shows it inline); an
            image path (``.png``, ``.pdf``, ``.svg``, ``.jpg``) writes it there (atomically) instead.
        titles: optional row labels (e.g. class names; default for a dict: its names).

    Returns:
        The ``Figure`` (``file=None``) or the path written.

    Example:
        >>> d = load_fashion_mnist(n=10)
        >>> plot_augmentation(d["x_train"][:3], augmentation(rotate=0.1), file="aug.png")
        'aug.png'
        >>> plot_augmentation(d["x_train"][:3], augmentation(rotate=0.1))  # a Figure: Jupyter shows it
        <CnnkitFigure size ... with 21 Axes>
        >>> plot_augmentation(d["x_train"][0], {"rotate": augmentation(rotate=0.1),
        ...                                     "erase": augmentation(erase=1)}, file="aug.png")
        'aug.png'
    """

    layers = _row_layers(aug)
    x, _ = image_array(images)
    x = _images(x[None] if x.ndim == 3 else x, "images")[:8]
    for layer in dict.fromkeys(layers):
        _check_layer(layer, x.shape[1:])
    n = v.capped_int(n, "n", "plot_images", hint=" Draw several grids for more.")
    target = check_target(file)
    if titles is not None:
        titles = v.strings(titles, "titles") if not isinstance(titles, (list, tuple)) or titles else []
    if isinstance(aug, dict):
        x = np.repeat(x[:1], len(layers), axis=0)
        titles = list(aug) if titles is None else titles
    else:
        layers = layers * len(x)
    rows = [[x[i]] + [np.asarray(layers[i](x[i:i + 1], training=True))[0] for _ in range(n)]
            for i in range(len(x))]
    lo, hi = float(min(x.min(), 0.0)), float(max(x.max(), 1.0))
    fig = new_figure(1.4 * (n + 1), 1.5 * len(rows), target)
    axes = fig.subplots(len(rows), n + 1, squeeze=False)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            ax = axes[r][c]
            img = np.clip((img - lo) / (hi - lo), 0, 1)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                      vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("Before" if c == 0 else f"After {c}", fontsize=9)
        if titles is not None and r < len(titles):
            axes[r][0].set_ylabel(str(titles[r]), fontsize=8)
    return finish(fig, target)
