"""Building blocks of the slides: the convolutional block and the classifier head.

Both take a symbolic Keras tensor and return one, so they compose::

    x = keras.Input((32, 32, 3))
    y = classifier_head(conv_block(conv_block(conv_block(x))))
"""

from __future__ import annotations

from typing import Any

import keras

from . import _arg_checks as v
from ._context import caller, public

POOLS = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D, None: None}
GLOBAL_POOLS = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}
PADDINGS = ("same", "valid")


def _name(prefix: str | None, part: str) -> str | None:
    return f"{prefix}_{part}" if prefix else None


def activation_layer(activation: str, name: str | None = None) -> keras.layers.Layer:
    """A Keras activation layer: ``ReLU()`` for ``"relu"`` (as in the slides), else ``Activation``."""
    if activation == "relu":
        return keras.layers.ReLU(name=name)
    return keras.layers.Activation(activation, name=name)


def _check_name(name: Any, arg: str = "name") -> str | None:
    """``None`` or a layer name (prefix): a non-empty string without ``/`` (Keras' rule)."""
    if name is None:
        return None
    if not isinstance(name, str) or not name or "/" in name:
        raise TypeError(f"{caller()}(): `{arg}` must be None or a non-empty string without '/' such as 'block1', "
                        f"got {name!r}.")
    return name


def _check_activation(activation: Any, arg: str = "activation") -> str:
    if not isinstance(activation, str) or not activation:
        raise TypeError(f"{caller()}(): `{arg}` must be a string such as 'relu', got {activation!r}.")
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"{caller()}(): `{arg}` {activation!r} is not a Keras activation; "
            "use e.g. 'relu', 'tanh', 'gelu', 'sigmoid'."
        ) from None
    return activation


@public
def conv_block(
    x: Any,
    filters: int = 32,
    kernel_size: int | tuple[int, int] = 3,
    strides: int | tuple[int, int] = 1,
    padding: str = "same",
    pool: str | None = "max",
    pool_size: int | tuple[int, int] = 2,
    activation: str = "relu",
    name: str | None = None,
) -> Any:
    """Conv2D -> activation layer -> pooling, applied to a Keras tensor.

    Args:
        x: a 4-D symbolic Keras tensor ``(batch, height, width, channels)``.
        filters: number of convolutional filters (feature maps).
        kernel_size: height and width of each filter (one number or a pair).
        strides: step of the kernel over the input (one number or a pair).
        padding: ``"same"`` keeps the spatial size, ``"valid"`` adds no padding.
        pool: ``"max"``, ``"avg"`` or ``None`` (no pooling).
        pool_size: pooling window (one number or a pair).
        activation: activation after the convolution (``"relu"`` uses a ``ReLU`` layer).
        name: optional prefix for layer names (``block1`` -> ``block1_conv``, ``block1_act``,
            ``block1_pool``), so blocks can be selected by name later.

    Returns:
        The output Keras tensor.

    Example:
        >>> x = keras.Input((32, 32, 3))
        >>> conv_block(conv_block(conv_block(x))).shape
        (None, 4, 4, 32)
    """
    v.keras_tensor(x, "x", ndim=4)
    filters = v.positive_int(filters, "filters")
    kernel_size = v.int_tuple(kernel_size, "kernel_size")
    strides = v.int_tuple(strides, "strides")
    padding = v.choice(padding, "padding", choices=PADDINGS)
    pool = v.choice(pool, "pool", choices=POOLS)
    pool_size = v.int_tuple(pool_size, "pool_size")
    activation = _check_activation(activation)
    name = _check_name(name)
    _check_fits(x, kernel_size, strides, padding, pool, pool_size)

    y = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                            name=_name(name, "conv"))(x)
    y = activation_layer(activation, _name(name, "act"))(y)
    if pool is not None:
        y = POOLS[pool](pool_size, name=_name(name, "pool"))(y)
    return y


def block_output_size(size: int, kernel: int, stride: int, padding: str, pool: str | None, pool_size: int) -> int:
    """Spatial size after one ``conv_block`` along one axis (0 means the image vanished)."""
    size = -(-size // stride) if padding == "same" else (size - kernel) // stride + 1
    if pool is not None and size > 0:
        size = (size - pool_size) // pool_size + 1
    return max(size, 0)


def _check_fits(x: Any, kernel_size, strides, padding, pool, pool_size) -> None:
    h, w = x.shape[1], x.shape[2]
    for axis, size in (("height", h), ("width", w)):
        if size is None:
            continue
        i = 0 if axis == "height" else 1
        out = block_output_size(size, kernel_size[i], strides[i], padding, pool, pool_size[i])
        if out < 1:
            raise ValueError(
                f"{caller()}(): the input's {axis} is {size}, too small for kernel_size={kernel_size}, "
                f"strides={strides}, padding={padding!r}, pool_size={pool_size}: the output would "
                "have no pixels left. Use fewer blocks, a larger input, padding='same' or pool=None."
            )


@public
def output_layer(num_classes: int, name: str | None = "predictions",
                 activation: str | None = None) -> keras.layers.Dense:
    """The classification layer: 1 class -> ``Dense(1, sigmoid)``; 2 or more -> ``Dense(n, softmax)``."""
    num_classes = v.positive_int(num_classes, "num_classes")
    name = _check_name(name)
    activation = ("sigmoid" if num_classes == 1 else "softmax") if activation is None else _check_activation(activation)
    return keras.layers.Dense(num_classes, activation=activation, name=name)


@public
def classifier_head(
    x: Any,
    units: int | None = 256,
    num_classes: int = 1,
    global_pool: str = "avg",
    name: str | None = None,
) -> Any:
    """Global pooling -> Dense ReLU -> output layer, applied to a 4-D feature tensor.

    Args:
        x: a 4-D Keras tensor ``(B, H, W, C)`` from a feature extractor.
        units: hidden Dense units; ``None`` or ``0`` connects pooling directly to the output.
        num_classes: 1 gives a sigmoid output (binary), 2 or more a softmax output.
        global_pool: ``"avg"`` (GlobalAveragePooling2D) or ``"max"`` (GlobalMaxPooling2D).
        name: optional prefix for the layer names.

    Returns:
        The output Keras tensor ``(B, num_classes)``.

    Example:
        >>> x = keras.Input((4, 4, 32))
        >>> classifier_head(x).shape
        (None, 1)
    """
    v.keras_tensor(x, "x", ndim=4)
    global_pool = v.choice(global_pool, "global_pool", choices=GLOBAL_POOLS)
    units = v.optional_units(units, "units")
    num_classes = v.positive_int(num_classes, "num_classes")
    name = _check_name(name)
    y = GLOBAL_POOLS[global_pool](name=_name(name, "global_pool"))(x)
    if units:
        y = keras.layers.Dense(units, activation="relu", name=_name(name, "dense"))(y)
    return output_layer(num_classes, name=_name(name, "predictions"))(y)
