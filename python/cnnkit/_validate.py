"""Argument checks shared by every cnnkit factory.

Each check names the function and the argument, says what was wrong and what to pass instead, and
raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, bad value). Values arriving
from R through reticulate are accepted where they are unambiguous: whole-number floats (``32.0``)
become ``int``, lists become tuples.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence

import numpy as np


def _where(fn: str, arg: str) -> str:
    return f"{fn}(): `{arg}`"


def _is_intlike(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (numbers.Integral, np.integer)):
        return True
    if isinstance(value, (numbers.Real, np.floating)):
        return np.isfinite(value) and float(value).is_integer()
    return False


def positive_int(value: Any, arg: str, fn: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` >= ``minimum``, or raise naming ``arg``.

    >>> positive_int(32.0, "filters", "conv_block")
    32
    """
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(
            f"{_where(fn, arg)} must be a whole number, got {value!r} "
            f"({type(value).__name__}). Pass e.g. {arg}=32."
        )
    if not _is_intlike(value):
        raise ValueError(
            f"{_where(fn, arg)} must be a whole number, got {value!r}. "
            f"Round it, e.g. {arg}={max(minimum, int(round(float(value)))) if np.isfinite(value) else 32}."
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{_where(fn, arg)} must be >= {minimum}, got {value}.")
    return value


def optional_units(value: Any, arg: str, fn: str) -> int | None:
    """A positive int, or ``None`` for "no layer" (``0`` also means none)."""
    if value is None or (_is_intlike(value) and int(value) == 0):
        return None
    return positive_int(value, arg, fn)


def int_tuple(value: Any, arg: str, fn: str, *, length: int = 2) -> tuple[int, ...]:
    """Return an int or a sequence of ``length`` ints as a tuple of positive ints.

    ``3`` becomes ``(3, 3)``; ``[3, 5]`` becomes ``(3, 5)``.
    """
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool):
        return (positive_int(value, arg, fn),) * length
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if len(items) != length:
            raise ValueError(
                f"{_where(fn, arg)} must be one number or {length} numbers "
                f"(height, width), got {len(items)}: {items!r}. Pass e.g. {arg}=3 or {arg}=(3, 3)."
            )
        return tuple(positive_int(v, f"{arg} (entry {i + 1})", fn) for i, v in enumerate(items))
    raise TypeError(
        f"{_where(fn, arg)} must be a number or a pair of numbers, got {value!r} "
        f"({type(value).__name__})."
    )


def shape(value: Any, arg: str, fn: str, *, ndim: int | None = None) -> tuple[int, ...]:
    """Return an input shape (without the batch axis) as a tuple of positive ints."""
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(
            f"{_where(fn, arg)} must be a sequence of sizes such as (32, 32, 3), "
            f"got {value!r} ({type(value).__name__})."
        )
    items = list(value)
    if ndim is not None and len(items) != ndim:
        raise ValueError(
            f"{_where(fn, arg)} must have {ndim} entries (height, width, channels), "
            f"got {len(items)}: {tuple(items)!r}."
        )
    if not items:
        raise ValueError(f"{_where(fn, arg)} must not be empty.")
    out = []
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.number)) or not _is_intlike(v) or v < 1:
            raise ValueError(
                f"{_where(fn, arg)} must contain positive whole numbers, but entry {i + 1} of "
                f"{len(items)} is {v!r} (in {tuple(items)!r}). Pass e.g. {arg}=(32, 32, 3)."
            )
        out.append(int(v))
    return tuple(out)


def choice(value: Any, arg: str, fn: str, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise raise listing them."""
    choices = list(choices)
    if value in choices:
        return value
    shown = ", ".join("None" if c is None else repr(c) for c in choices)
    raise ValueError(f"{_where(fn, arg)} must be one of {shown}; got {value!r}.")


def keras_tensor(value: Any, arg: str, fn: str, *, ndim: int | None = None) -> Any:
    """Check that ``value`` is a symbolic Keras tensor (the output of ``keras.Input`` or a layer)."""
    import keras

    if not keras.backend.is_keras_tensor(value):
        raise TypeError(
            f"{_where(fn, arg)} must be a Keras tensor (from keras.Input(...) or a layer), "
            f"got {type(value).__name__}. Start from e.g. keras.Input((32, 32, 3))."
        )
    if ndim is not None and len(value.shape) != ndim:
        raise ValueError(
            f"{_where(fn, arg)} must have {ndim} axes (batch, height, width, channels), "
            f"got shape {tuple(value.shape)}."
        )
    return value


def sizes(value: Any, arg: str, fn: str, count: int) -> list[int]:
    """One positive int repeated ``count`` times, or a sequence of exactly ``count`` ints."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items: Sequence[Any] = list(value)
        if len(items) != count:
            raise ValueError(
                f"{_where(fn, arg)} has {len(items)} entries but there are {count} blocks; "
                f"pass one number or {count}."
            )
        return [positive_int(v, f"{arg} (entry {i + 1})", fn) for i, v in enumerate(items)]
    return [positive_int(value, arg, fn)] * count


def fraction(value: Any, arg: str, fn: str) -> float | None:
    """A number in (0, 1), or ``None`` (``0`` also means none): a validation split, a dropout rate."""
    if value is None or (isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool) and value == 0):
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)) or not 0 < float(value) < 1:
        raise ValueError(f"{_where(fn, arg)} must be a fraction between 0 and 1 (e.g. {arg}=0.2) or None, got {value!r}.")
    return float(value)


def positive_number(value: Any, arg: str, fn: str) -> float:
    """A finite number > 0 as a ``float`` (a learning rate, a factor)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{_where(fn, arg)} must be a positive number, got {value!r}.")
    return float(value)


def flag(value: Any, arg: str, fn: str) -> bool:
    """``True`` or ``False`` (NumPy booleans too); anything else, such as ``"no"`` or ``1``, is an error
    rather than read as true or false."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{_where(fn, arg)} must be True or False (R: TRUE or FALSE), got {value!r} "
                    f"({type(value).__name__}).")


def string(value: Any, arg: str, fn: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{_where(fn, arg)} must be a non-empty string, got {value!r} ({type(value).__name__}).")
    return value


# --- caps on requests for unbounded work (limits.py documents them) ---------------------------------

def capped_int(value: Any, arg: str, fn: str, limit_name: str, *, hint: str = "", minimum: int = 1) -> int:
    """A whole number from ``minimum`` up to the limit ``limit_name`` (see ``cnnkit.limits()``)."""
    from .limits import limit, too_many

    value = positive_int(value, arg, fn, minimum=minimum)
    if value > limit(limit_name, fn):
        raise ValueError(f"{_where(fn, arg)} = {value:,} is more than {too_many(limit_name, fn)}.{hint}")
    return value


def epochs(value: Any, arg: str = "epochs", fn: str = "fit_classifier", *, minimum: int = 1) -> int:
    """A number of epochs: a whole number from ``minimum`` up to the ``epochs`` limit (10,000 unless
    ``CNNKIT_MAX_EPOCHS``).

    >>> epochs(5.0)
    5
    """
    return capped_int(value, arg, fn, "epochs", minimum=minimum,
                      hint=" Use early_stopping to stop when the validation loss stops improving.")


def image_size(value: Any, arg: str, fn: str) -> tuple[int, int]:
    """``(height, width)`` to resize images to (one number: square), each at most the ``image_side`` limit.

    >>> image_size(64, "image_size", "image_folder")
    (64, 64)
    """
    from .limits import limit, too_many

    size = int_tuple(value, arg, fn)
    if max(size) > limit("image_side", fn):
        raise ValueError(f"{_where(fn, arg)} {size} is larger than {too_many('image_side', fn)}. Models for "
                         f"images this large are rarely trained from scratch; resize to e.g. {arg}=(224, 224).")
    return size
