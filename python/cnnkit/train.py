"""Training: compile a classifier with the loss its output layer implies.

(The training loop, ``fit_classifier``, and evaluation build on this module.)
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from . import _validate as v


def output_kind(model: keras.Model) -> tuple[str, int]:
    """Return ``("binary", 1)`` for a 1-unit sigmoid output, ``("multiclass", n)`` for softmax.

    Example:
        >>> output_kind(simple_cnn())
        ('binary', 1)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"output_kind(): `model` must be a Keras model, got {type(model).__name__}.")
    units = model.output_shape[-1]
    act = getattr(getattr(model.layers[-1], "activation", None), "__name__", None)
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


def compile_classifier(
    model: keras.Model,
    learning_rate: float = 1e-3,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    loss: str | None = None,
    metrics: Sequence[Any] = ("accuracy",),
    **kwargs: Any,
) -> keras.Model:
    """Compile ``model`` with the loss its output layer implies (if ``loss`` is not given).

    1-unit sigmoid -> ``binary_crossentropy``; n-unit softmax -> ``sparse_categorical_crossentropy``
    (integer labels 0..n-1). A logits output (no activation) gets ``from_logits=True``.

    Args:
        model: a Keras classifier.
        learning_rate: step size for the optimizer.
        optimizer: a Keras optimizer name (``"adam"``, ``"sgd"``, ...) or instance (then
            ``learning_rate`` is ignored).
        loss: override the loss.
        metrics: metrics to track.
        **kwargs: passed to ``model.compile`` (e.g. ``steps_per_execution``, ``jit_compile``).

    Returns:
        The same model, compiled.

    Example:
        >>> m = compile_classifier(simple_cnn(), learning_rate=1e-3)
        >>> m.loss
        'binary_crossentropy'
    """
    fn = "compile_classifier"
    kind, _ = output_kind(model)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"{fn}(): `learning_rate` must be a positive number, got {learning_rate!r}.")
    if isinstance(optimizer, str):
        try:
            optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": float(learning_rate)}})
        except ValueError:
            raise ValueError(f"{fn}(): `optimizer` {optimizer!r} is not a Keras optimizer; use e.g. 'adam' or 'sgd'.") from None
    if loss is None:
        act = getattr(getattr(model.layers[-1], "activation", None), "__name__", None)
        logits = act in (None, "linear")
        if kind == "binary":
            loss = keras.losses.BinaryCrossentropy(from_logits=True) if logits else "binary_crossentropy"
        else:
            loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if logits
                    else "sparse_categorical_crossentropy")
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics), **kwargs)
    return model
