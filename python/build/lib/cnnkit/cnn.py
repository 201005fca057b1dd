"""The slides' small CNN: a stack of ``conv_block``s and a ``classifier_head``."""

from __future__ import annotations

from typing import Sequence

import keras

from . import _validate as v
from .blocks import GLOBAL_POOLS, PADDINGS, POOLS, _check_activation, block_output_size, classifier_head, conv_block


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
    fn = "simple_cnn"
    input_shape = v.shape(input_shape, "input_shape", fn, ndim=3)
    blocks = v.positive_int(blocks, "blocks", fn)
    filters = v.sizes(filters, "filters", fn, blocks)
    kernel = v.int_tuple(kernel_size, "kernel_size", fn)
    pool = v.choice(pool, "pool", fn, POOLS)
    v.choice(global_pool, "global_pool", fn, GLOBAL_POOLS)
    v.positive_int(num_classes, "num_classes", fn)
    units = v.optional_units(units, "units", fn)
    activation = _check_activation(activation, fn)
    _check_depth(input_shape, blocks, kernel, pool, fn)

    inputs = keras.Input(input_shape)
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = conv_block(x, f, kernel, pool=pool, activation=activation, name=f"block{i}")
    outputs = classifier_head(x, units=units, num_classes=num_classes, global_pool=global_pool, name="head")
    return keras.Model(inputs, outputs, name="simple_cnn")


def _check_depth(input_shape, blocks: int, kernel, pool, fn: str) -> None:
    """Fail before building if the image would shrink to nothing after ``blocks`` blocks."""
    h, w = input_shape[0], input_shape[1]
    for i in range(1, blocks + 1):
        h = block_output_size(h, kernel[0], 1, PADDINGS[0], pool, 2)
        w = block_output_size(w, kernel[1], 1, PADDINGS[0], pool, 2)
        if h < 1 or w < 1:
            raise ValueError(
                f"{fn}(): `blocks`={blocks} is too many for `input_shape`={tuple(input_shape)}: "
                f"each block halves the image, so after block {i} no pixels are left. "
                f"Use at most {i - 1} blocks or a larger input."
            )
