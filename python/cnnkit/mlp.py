"""The MLP baseline of the slides: flatten the image, one hidden Dense layer, a softmax output."""

from __future__ import annotations

import keras

from . import _arg_checks as v
from ._context import public
from .blocks import output_layer


@public
def mlp_classifier(
    input_shape: tuple[int, ...] = (64, 64, 3),
    units: int = 256,
    num_classes: int = 2,
) -> keras.Model:
    """Flatten -> Dense(units, relu) -> Dense(num_classes, softmax): the slides' baseline.

    Every pixel connects to every hidden unit, which is why it has 3,146,498 parameters on
    64x64x3 images where the small CNN needs 28,097.

    Args:
        input_shape: image shape without the batch axis, e.g. ``(64, 64, 3)``.
        units: hidden Dense units.
        num_classes: output classes (2 or more: softmax; 1: sigmoid).

    Returns:
        An uncompiled ``keras.Model``; ``model.predict(x)`` returns rows of class probabilities.

    Example:
        >>> mlp_classifier().count_params()
        3146498
    """
    input_shape = v.shape(input_shape, "input_shape")
    units = v.positive_int(units, "units")
    num_classes = v.positive_int(num_classes, "num_classes")
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(units, activation="relu")(x)
    outputs = output_layer(num_classes, name=None)(x)
    return keras.Model(inputs, outputs, name="mlp_classifier")
