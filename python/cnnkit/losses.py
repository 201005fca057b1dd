"""Label smoothing: the loss a classifier trains with when its targets are softened.

A model trained with hard targets (the true class 1, the others 0) keeps pushing its largest output up
long after it is right; label smoothing trains towards ``1 - e`` for the true class and ``e / k``
spread over all ``k`` classes instead (Szegedy et al. 2016, "Rethinking the Inception Architecture"),
which the fastest public CIFAR-10 recipes and fastai's ``LabelSmoothingCrossEntropy`` use.

cnnkit's labels are class ids (0, 1, ...). Keras' ``BinaryCrossentropy`` takes ``label_smoothing``,
but its ``SparseCategoricalCrossentropy`` (class ids) does not, and ``CategoricalCrossentropy`` wants
one-hot labels. :class:`SparseCategoricalCrossentropy` here is that loss for class ids: it one-hots the
ids and calls Keras' own ``categorical_crossentropy(label_smoothing=)``. It is registered with Keras
(``cnnkit>SparseCategoricalCrossentropy``, see ``cnnkit._keras_classes``), so a model compiled with it
saves and loads again in any process that imports cnnkit.

:func:`classifier_loss` is the one place a loss is chosen from a model's output layer: 1-unit sigmoid
-> binary cross-entropy, ``k``-unit softmax -> sparse categorical cross-entropy, ``from_logits`` for an
output without activation, with or without smoothing.
"""

from __future__ import annotations

import numbers
from typing import Any

import keras

from ._context import caller


@keras.saving.register_keras_serializable(package="cnnkit")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy of class ids with label smoothing (Keras' has none for class ids).

    Args:
        label_smoothing: ``e`` in [0, 1): the true class's target is ``1 - e + e / k``, every other
            class's ``e / k``. 0 is Keras' ``SparseCategoricalCrossentropy``.
        from_logits: the model outputs logits (no softmax).
        reduction, name, dtype: as for any Keras loss.

    Example:
        >>> loss = SparseCategoricalCrossentropy(label_smoothing=0.1)
        >>> p = np.array([[0.9, 0.05, 0.05]], dtype="float32")
        >>> round(float(loss(np.array([0]), p)), 4), round(float(loss.__class__(0.0)(np.array([0]), p)), 4)
        (0.2981, 0.1054)
    """

    def __init__(self, label_smoothing: float = 0.0, from_logits: bool = False,
                 reduction: str = "sum_over_batch_size", name: str = "sparse_categorical_crossentropy",
                 dtype: Any = None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Any:  # noqa: D102
        ops = keras.ops
        ids = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        targets = ops.one_hot(ids, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(targets, y_pred, from_logits=self.from_logits,
                                                     label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:  # noqa: D102
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "from_logits": self.from_logits}


def check_label_smoothing(value: Any, arg: str = "label_smoothing") -> float:
    """``value`` as a float in [0, 1), else a ``ValueError`` that names ``arg`` (and the public call)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) < 1:
        raise ValueError(f"{caller()}(): `{arg}` must be a number in [0, 1), e.g. 0.1 (the share of each label "
                         f"spread over all classes; 0: off), got {value!r}.")
    return float(value)


def classifier_loss(kind: str, logits: bool, label_smoothing: float = 0.0) -> Any:
    """The loss for a ``kind`` (``"binary"``: one sigmoid unit, else softmax over classes) output,
    logits or probabilities, with ``label_smoothing`` (0: Keras' plain losses, by name when they can be)."""
    if kind == "binary":
        if not label_smoothing:
            return keras.losses.BinaryCrossentropy(from_logits=True) if logits else "binary_crossentropy"
        return keras.losses.BinaryCrossentropy(from_logits=logits, label_smoothing=label_smoothing)
    if not label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True) if logits else "sparse_categorical_crossentropy"
    return SparseCategoricalCrossentropy(label_smoothing=label_smoothing, from_logits=logits)


def smoothing_of(model: keras.Model) -> float:
    """The label smoothing of a compiled model's loss (0.0: none, or a loss without the setting)."""
    return float(getattr(getattr(model, "loss", None), "label_smoothing", 0.0) or 0.0)
