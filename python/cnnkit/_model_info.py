"""What a model takes and gives: its one image input's shape, its output layer's kind, the layers
that compute.

Read by the data checks (``_data_checks``), training (``train``) and evaluation (``evaluate``); it
imports none of them, so none of them imports another to ask a model about itself.
"""

from __future__ import annotations

from typing import Any

from ._context import caller


def unbuilt_model_message(model: Any, arg: str = "model") -> str:
    """What to do with a model whose input and output shapes Keras does not know yet."""
    import keras

    if isinstance(model, keras.Sequential):
        what = "a Sequential model without an Input layer"
    elif type(model).__name__ not in ("Functional", "Model"):
        what = f"a subclassed keras.Model ({type(model).__name__}): Keras gives such models no fixed shapes"
    else:
        what = "a model Keras has not built"
    return (f"{caller()}(): `{arg}` has no defined input and output shape ({what}); cnnkit needs them to check the data. "
            "Start the model with an Input layer -- keras.Input(shape=(height, width, channels)) (R: "
            "keras$Input(shape = tuple(height, width, channels))) -- or wrap it: inputs = keras.Input(shape=...); "
            "model = keras.Model(inputs, your_model(inputs)).")


def model_input_shape(model: Any) -> tuple:
    try:
        shapes = model.input_shape
    except (AttributeError, ValueError):
        raise ValueError(unbuilt_model_message(model)) from None
    if isinstance(shapes, list):
        if len(shapes) != 1:
            raise ValueError(f"{caller()}(): `model` has {len(shapes)} inputs; cnnkit trains models with one image input.")
        shapes = shapes[0]
    return tuple(shapes)


def output_activation(model: Any) -> str | None:
    """The name of the activation of the model's last layer (looking inside a nested model, as in
    ``with_augmentation(model, aug)``), or ``None``."""
    import keras  # here, not at the top: the data checks import this module without TensorFlow

    last = model.layers[-1] if model.layers else None
    while isinstance(last, keras.Model) and last.layers:
        last = last.layers[-1]
    return getattr(getattr(last, "activation", None), "__name__", None)


def output_kind(model: Any) -> tuple[str, int]:
    """Return ``("binary", 1)`` for a 1-unit sigmoid output, ``("multiclass", n)`` for softmax.

    Example:
        >>> output_kind(simple_cnn())
        ('binary', 1)
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"output_kind(): `model` must be a Keras model, got {type(model).__name__}.")
    units = model.output_shape[-1]
    act = output_activation(model)
    if units == 1:
        if act not in ("sigmoid", None, "linear"):
            raise ValueError(f"output_kind(): a 1-unit output needs a sigmoid activation, got {act!r}.")
        return "binary", 1
    if act not in ("softmax", None, "linear"):
        raise ValueError(
            f"output_kind(): a {units}-unit output needs a softmax activation, got {act!r}; "
            "use cnnkit.output_layer(num_classes) as the last layer."
        )
    return "multiclass", int(units)


def flat_layers(model: Any, inside_layers: bool = False) -> list[tuple[Any, str]]:
    """``(layer, parent)`` for every layer, depth first, nested models expanded (each layer once).

    cnnkit's one walk over a model's layers: the freeze table (:func:`cnnkit.trainable_layers`) and
    :func:`leaf_layers` both read it. ``parent`` is the path of enclosing nested models (``"vgg16"``),
    ``""`` at the top level; nested models themselves are not listed. ``inside_layers=True`` also lists
    the layers a (non-model) layer holds, right after it (a custom layer's own ``Conv2D``).

    Example:
        >>> model = with_augmentation(lenet5(), augmentation(flip="horizontal"))
        >>> [(layer.name, parent) for layer, parent in flat_layers(model) if layer.name in ("c1", "f6")]
        [('c1', 'lenet5'), ('f6', 'lenet5')]
    """
    import keras

    from .keras_compat import flatten_layers

    out: list[tuple[Any, str]] = []
    seen: set[int] = set()

    def add(layer: Any, parent: str) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                add(inner, f"{parent}/{layer.name}" if parent else layer.name)
            return
        out.append((layer, parent))
        if inside_layers:
            for inner in flatten_layers(layer):
                add(inner, parent)

    for layer in model.layers if isinstance(model, keras.Model) else flatten_layers(model):
        add(layer, "")
    return out


def leaf_layers(model: Any) -> list[Any]:
    """Every layer that computes (nested models opened, and the layers inside a layer), input layers
    left out: :func:`flat_layers` without the parents."""
    import keras

    return [layer for layer, _ in flat_layers(model, inside_layers=True)
            if not isinstance(layer, keras.layers.InputLayer)]
