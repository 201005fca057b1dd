"""The CNNs built from scratch: the slides' small CNN (a stack of ``conv_block``s and a
``classifier_head``) and the main job's default model, :func:`fashion_cnn`."""

from __future__ import annotations

from typing import Sequence

import keras

from . import _arg_checks as v
from ._context import caller, public
from .blocks import (
    GLOBAL_POOLS,
    PADDINGS,
    POOLS,
    _check_activation,
    block_output_size,
    classifier_head,
    conv_block,
    output_layer,
)


@public
def simple_cnn(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    blocks: int = 3,
    filters: int | Sequence[int] = 32,
    kernel_size: int | tuple[int, int] = 3,
    pool: str | None = "max",
    units: int | None = 256,
    num_classes: int = 1,
    global_pool: str = "avg",
    activation: str = "relu",
) -> keras.Model:
    """``blocks`` convolutional blocks followed by the classifier head.

    With the defaults this is the slides' model: three blocks of 32 filters take a 32x32x3 image to
    (None, 4, 4, 32); global average pooling, Dense(256, relu) and Dense(1, sigmoid) follow;
    28,097 parameters in all. Layers are named ``block1_conv``, ``block1_act``, ``block1_pool``, ...

    Args:
        input_shape: ``(height, width, channels)``.
        blocks: number of ``conv_block``s.
        filters: filters per block: one number for all blocks or one per block.
        kernel_size: convolution kernel size (one number or a pair).
        pool: pooling in each block: ``"max"``, ``"avg"`` or ``None``.
        units: hidden units of the head (``None``: no hidden layer).
        num_classes: 1 (sigmoid) or more (softmax).
        global_pool: ``"avg"`` or ``"max"``.
        activation: activation inside the blocks.

    Returns:
        An uncompiled ``keras.Model``.

    Example:
        >>> simple_cnn().count_params()
        28097
    """
    input_shape = v.shape(input_shape, "input_shape", ndim=3)
    blocks = v.positive_int(blocks, "blocks")
    filters = v.sizes(filters, "filters", blocks)
    kernel = v.int_tuple(kernel_size, "kernel_size")
    pool = v.choice(pool, "pool", choices=POOLS)
    v.choice(global_pool, "global_pool", choices=GLOBAL_POOLS)
    v.positive_int(num_classes, "num_classes")
    units = v.optional_units(units, "units")
    activation = _check_activation(activation)
    _check_depth(input_shape, blocks, kernel, pool)

    inputs = keras.Input(input_shape)
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = conv_block(x, f, kernel, pool=pool, activation=activation, name=f"block{i}")
    outputs = classifier_head(x, units=units, num_classes=num_classes, global_pool=global_pool, name="head")
    return keras.Model(inputs, outputs, name="simple_cnn")


def _check_depth(input_shape, blocks: int, kernel, pool) -> None:
    """Fail before building if the image would shrink to nothing after ``blocks`` blocks."""
    h, w = input_shape[0], input_shape[1]
    for i in range(1, blocks + 1):
        h = block_output_size(h, kernel[0], 1, PADDINGS[0], pool, 2)
        w = block_output_size(w, kernel[1], 1, PADDINGS[0], pool, 2)
        if h < 1 or w < 1:
            raise ValueError(
                f"{caller()}(): `blocks`={blocks} is too many for `input_shape`={tuple(input_shape)}: "
                f"each block halves the image, so after block {i} no pixels are left. "
                f"Use at most {i - 1} blocks or a larger input."
            )


@public
def fashion_cnn(input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                filters: tuple[int, int] = (32, 48), units: int = 128) -> keras.Model:
    """The main job's default model: two conv blocks with BatchNorm, then a Dense layer.

    ``Conv 5x5 -> MaxPool -> BN -> ReLU``, ``Conv 3x3 -> MaxPool -> BN -> ReLU``, ``Flatten``,
    ``Dense(units, relu)``, ``Dense(num_classes, softmax)``. Pooling comes straight after each
    convolution: max pooling commutes with the ReLU, and BatchNorm and ReLU then run on a quarter of
    the pixels, which nearly halves the training time on a CPU. Small enough for the main job's 4
    epochs to take well under a minute on two CPU cores, wide enough for about 92 % on Fashion-MNIST
    with them (measured: bench/results/main_job.md).

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: output classes (softmax; 1 gives a sigmoid output).
        filters: filters of the two convolutional blocks.
        units: hidden Dense units.

    Returns:
        An uncompiled ``keras.Model`` named ``fashion_cnn``.

    Example:
        >>> fashion_cnn().count_params()
        317418
    """
    input_shape = v.shape(input_shape, "input_shape", ndim=3)
    f1, f2 = v.sizes(filters, "filters", 2)
    units = v.positive_int(units, "units")
    num_classes = v.positive_int(num_classes, "num_classes")
    if input_shape[0] < 4 or input_shape[1] < 4:
        raise ValueError(f"{caller()}(): `input_shape` must be at least 4x4 (two 2x2 poolings), got {input_shape}.")
    L = keras.layers
    inputs = keras.Input(input_shape)
    x = inputs
    for i, (f, k) in enumerate(((f1, 5), (f2, 3)), start=1):
        x = L.Conv2D(f, k, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = L.MaxPooling2D(2, name=f"block{i}_pool")(x)
        x = L.BatchNormalization(name=f"block{i}_bn")(x)
        x = L.ReLU(name=f"block{i}_act")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(units, activation="relu", name="dense")(x)
    return keras.Model(inputs, output_layer(num_classes)(x), name="fashion_cnn")
