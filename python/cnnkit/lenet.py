"""LeNet-5 as drawn in the slides: tanh activations and average pooling throughout."""

from __future__ import annotations

import keras

from . import _arg_checks as v
from ._context import caller, public
from .blocks import output_layer


@public
def lenet5(input_shape: tuple[int, int, int] = (32, 32, 1), num_classes: int = 10) -> keras.Model:
    """LeNet-5: Conv 6@5x5 -> AvgPool -> Conv 16@5x5 -> AvgPool -> Conv 120@5x5 -> Dense 84 -> output.

    On a 32x32x1 input the feature maps are 28x28x6, 14x14x6, 10x10x16, 5x5x16 and 1x1x120;
    61,706 parameters with 10 classes.

    Args:
        input_shape: ``(height, width, channels)``; at least 32x32 (pad 28x28 digits to 32x32).
        num_classes: number of classes (softmax output; 1 gives a sigmoid output).

    Returns:
        An uncompiled ``keras.Model`` with layers ``c1``, ``s2``, ``c3``, ``s4``, ``c5``, ``f6``.

    Example:
        >>> lenet5().count_params()
        61706
    """
    input_shape = v.shape(input_shape, "input_shape", ndim=3)
    if input_shape[0] < 32 or input_shape[1] < 32:
        raise ValueError(
            f"{caller()}(): `input_shape` must be at least 32x32 (three 5x5 convolutions and two poolings), "
            f"got {input_shape}. Pad 28x28 images to 32x32 first."
        )
    num_classes = v.positive_int(num_classes, "num_classes")
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(6, 5, activation="tanh", name="c1")(inputs)
    x = keras.layers.AveragePooling2D(2, name="s2")(x)
    x = keras.layers.Conv2D(16, 5, activation="tanh", name="c3")(x)
    x = keras.layers.AveragePooling2D(2, name="s4")(x)
    x = keras.layers.Conv2D(120, 5, activation="tanh", name="c5")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(84, activation="tanh", name="f6")(x)
    outputs = output_layer(num_classes)(x)
    return keras.Model(inputs, outputs, name="lenet5")
