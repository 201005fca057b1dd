"""Model summaries as text, so R's ``print()``/``summary()`` and notebooks show Keras' own table."""

from __future__ import annotations

import keras

from ._context import caller, public


@public
def summary_text(model: keras.Model, show_trainable: bool = False, expand_nested: bool = False) -> str:
    """Return ``model.summary()`` as a string instead of printing it.

    Args:
        model: any Keras model.
        show_trainable: add the "Trainable" column.
        expand_nested: expand nested models (e.g. a backbone inside a transfer model).

    Returns:
        The summary table, exactly as ``model.summary()`` prints it.

    Example:
        >>> print(summary_text(simple_cnn()))  # doctest: +ELLIPSIS
        Model: "simple_cnn"
        ...
         Total params: 28,097 (109.75 KB)
        ...
    """
    from . import _arg_checks as v

    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be a Keras model, got {type(model).__name__}.")
    show_trainable = v.flag(show_trainable, "show_trainable")
    expand_nested = v.flag(expand_nested, "expand_nested")
    chunks: list[str] = []
    model.summary(print_fn=lambda text, *a, **k: chunks.append(text),
                  show_trainable=show_trainable, expand_nested=expand_nested)
    return "".join(chunks).rstrip("\n") + "\n"
