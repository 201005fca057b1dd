"""Argument checks shared by every cnnkit function: one argument at a time, whatever the model
(data checked against a model: ``_data_checks``).

Each check names the function and the argument, says what was wrong and what to pass instead, and
raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, bad value). Values arriving
from R through reticulate are accepted where they are unambiguous: whole-number floats (``32.0``)
become ``int``, lists become tuples.

Types are not guessed from truthiness: a flag is ``True`` or ``False`` (R: ``TRUE``/``FALSE``), never
``1``, ``"yes"`` or ``"no"``; a number is never ``True``; a string is a ``str``. (R's ``NA`` is
rejected at the R seam, ``R/coerce.R``, before reticulate would turn a logical ``NA`` into ``True``.)
Whole numbers are capped at ``MAX_INT`` (2**31 - 1, TensorFlow's int32 limit), so ``epochs=1e12`` is
an error rather than a run that never ends.

Messages name the public function called (``_context.caller()``).
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from ._context import caller, otherwise
from ._lang import code

MAX_INT = 2**31 - 1
_REAL = (numbers.Real, np.integer, np.floating)  # not complex, not np.bool_ (bool is excluded by hand)


def _where(arg: str) -> str:
    return f"{caller()}(): `{arg}`"


def _is_intlike(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (numbers.Integral, np.integer)):
        return True
    if isinstance(value, (numbers.Real, np.floating)):
        return np.isfinite(value) and float(value).is_integer()
    return False


def positive_int(value: Any, arg: str, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """Return ``value`` as an ``int`` in ``minimum..maximum``, or raise naming ``arg``.

    Booleans are not numbers here (``True`` is an error), nor are strings.

    >>> positive_int(32.0, "filters")
    32
    """
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, _REAL):
        raise TypeError(
            f"{_where(arg)} must be a whole number, got {value!r} "
            f"({type(value).__name__}). Pass e.g. {arg}=32."
        )
    if not np.isfinite(value):
        raise ValueError(f"{_where(arg)} must be a whole number, got {value!r} (NaN/NA or infinite). "
                         f"Pass e.g. {arg}={max(minimum, 1)}.")
    if not _is_intlike(value):
        raise ValueError(
            f"{_where(arg)} must be a whole number, got {value!r}. "
            f"Round it, e.g. {arg}={min(maximum, max(minimum, int(round(float(value)))))}."
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{_where(arg)} must be >= {minimum}, got {value}.")
    if value > maximum:
        raise ValueError(f"{_where(arg)} must be at most {maximum}, got {value}.")
    return value


def optional_units(value: Any, arg: str) -> int | None:
    """A positive int, or ``None`` for "no layer" (``0`` also means none)."""
    if value is None or (_is_intlike(value) and int(value) == 0):
        return None
    return positive_int(value, arg)


def int_tuple(value: Any, arg: str, *, length: int = 2) -> tuple[int, ...]:
    """Return an int or a sequence of ``length`` ints as a tuple of positive ints.

    ``3`` becomes ``(3, 3)``; ``[3, 5]`` becomes ``(3, 5)``.
    """
    if isinstance(value, _REAL) and not isinstance(value, bool):
        return (positive_int(value, arg),) * length
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if len(items) != length:
            raise ValueError(
                f"{_where(arg)} must be one number or {length} numbers "
                f"(height, width), got {len(items)}: {items!r}. Pass e.g. {arg}=3 or {arg}=(3, 3)."
            )
        return tuple(positive_int(v, f"{arg} (entry {i + 1})") for i, v in enumerate(items))
    raise TypeError(
        f"{_where(arg)} must be a number or a pair of numbers, got {value!r} "
        f"({type(value).__name__})."
    )


def shape(value: Any, arg: str, *, ndim: int | None = None) -> tuple[int, ...]:
    """Return an input shape (without the batch axis) as a tuple of positive ints."""
    if isinstance(value, _REAL) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(
            f"{_where(arg)} must be a sequence of sizes such as (32, 32, 3), "
            f"got {value!r} ({type(value).__name__})."
        )
    items = list(value)
    if ndim is not None and len(items) != ndim:
        raise ValueError(
            f"{_where(arg)} must have {ndim} entries (height, width, channels), "
            f"got {len(items)}: {tuple(items)!r}."
        )
    if not items:
        raise ValueError(f"{_where(arg)} must not be empty.")
    out = []
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, _REAL) or not _is_intlike(v) or not 1 <= v <= MAX_INT:
            raise ValueError(
                f"{_where(arg)} must contain positive whole numbers, but entry {i + 1} of "
                f"{len(items)} is {v!r} (in {tuple(items)!r}). Pass e.g. {arg}=(32, 32, 3)."
            )
        out.append(int(v))
    return tuple(out)


def _same(value: Any, allowed: Any) -> bool:
    """Equality without Python's coercions: ``True`` is not ``1``, ``1.0`` is not ``"1"``, and arrays
    or unhashable values compare as unequal instead of raising."""
    if value is None or allowed is None:
        return value is allowed
    if isinstance(value, (bool, np.bool_)) or isinstance(allowed, (bool, np.bool_)):
        return isinstance(value, (bool, np.bool_)) and isinstance(allowed, (bool, np.bool_)) and bool(value) == bool(allowed)
    if isinstance(value, str) or isinstance(allowed, str):
        return isinstance(value, str) and isinstance(allowed, str) and value == allowed
    if isinstance(value, (numbers.Number, np.number)) and isinstance(allowed, (numbers.Number, np.number)):
        return bool(value == allowed)
    return False


def choice(value: Any, arg: str, choices: Iterable[Any] = ()) -> Any:
    """Return the entry of ``choices`` that ``value`` is; otherwise raise listing them.

    Matching is by type and value: ``True`` does not match ``1``, ``"1"`` does not match ``1``.
    """
    choices = list(choices)
    for c in choices:
        if _same(value, c):
            return c
    shown = ", ".join("None" if c is None else repr(c) for c in choices)
    got = "NA/NaN" if isinstance(value, (float, np.floating)) and value != value else repr(value)
    raise ValueError(f"{_where(arg)} must be one of {shown}; got {got}.")


def flag(value: Any, arg: str) -> bool:
    """``True`` or ``False`` (R: ``TRUE``/``FALSE``), or raise naming ``arg``.

    Nothing else is taken for a flag: not ``1``/``0``, not ``"yes"``/``"no"``, not ``None``
    (``bool("no")`` is ``True``: the silent bug this check prevents).

    >>> flag(True, "pad")
    True
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{_where(arg)} must be {code('True or False', 'TRUE or FALSE')}, got {value!r} "
                    f"({type(value).__name__}).")


def string(value: Any, arg: str, *, example: str = "") -> str:
    """A non-empty ``str``, or raise naming ``arg`` (``example`` is shown as what to pass)."""
    if not isinstance(value, str):
        raise TypeError(f"{_where(arg)} must be a string{f' such as {example!r}' if example else ''}, "
                        f"got {value!r} ({type(value).__name__}).")
    if not value:
        raise ValueError(f"{_where(arg)} must not be empty{f'; pass e.g. {example!r}' if example else ''}.")
    return value


def optional_string(value: Any, arg: str, *, example: str = "") -> str | None:
    """``None`` or a non-empty ``str`` (see :func:`string`)."""
    return None if value is None else string(value, arg, example=example)


def strings(value: Any, arg: str) -> list[str]:
    """One string or a non-empty sequence of strings (R: a character vector) as a list, or raise; empty
    strings are refused (``""`` as a name or prefix would match nothing or everything)."""
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if not items or not all(isinstance(s, str) and s for s in items):
        raise TypeError(f"{_where(arg)} must be a non-empty string or {code('a list of them', 'a character vector')}, "
                        f"got {value!r}.")
    return [str(s) for s in items]


def keras_tensor(value: Any, arg: str, *, ndim: int | None = None) -> Any:
    """Check that ``value`` is a symbolic Keras tensor (the output of ``keras.Input`` or a layer)."""
    import keras

    if not keras.backend.is_keras_tensor(value):
        raise TypeError(
            f"{_where(arg)} must be a Keras tensor (from keras.Input(...) or a layer), "
            f"got {type(value).__name__}. Start from e.g. "
            f"{code('keras.Input((32, 32, 3))', 'keras$Input(tuple(32L, 32L, 3L))')}."
        )
    if ndim is not None and len(value.shape) != ndim:
        raise ValueError(
            f"{_where(arg)} must have {ndim} axes (batch, height, width, channels), "
            f"got shape {tuple(value.shape)}."
        )
    return value


def sizes(value: Any, arg: str, count: int) -> list[int]:
    """One positive int repeated ``count`` times, or a sequence of exactly ``count`` ints."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items: Sequence[Any] = list(value)
        if len(items) != count:
            raise ValueError(
                f"{_where(arg)} has {len(items)} entries but there are {count} blocks; "
                f"pass one number or {count}."
            )
        return [positive_int(v, f"{arg} (entry {i + 1})") for i, v in enumerate(items)]
    return [positive_int(value, arg)] * count


def fraction(value: Any, arg: str) -> float | None:
    """A number in (0, 1), or ``None`` (``0`` also means none): a validation split, a dropout rate."""
    if value is None or (isinstance(value, _REAL) and not isinstance(value, (bool, np.bool_))
                         and value == 0):
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REAL) or not 0 < float(value) < 1:
        raise ValueError(f"{_where(arg)} must be a fraction between 0 and 1 (e.g. {arg}=0.2) or None, got {value!r}.")
    return float(value)


def positive_number(value: Any, arg: str) -> float:
    """A finite number > 0 as a ``float`` (a learning rate, a factor)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REAL) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{_where(arg)} must be a positive number, got {value!r}.")
    return float(value)


@otherwise("fit_classifier")
def learning_rate(value: Any, arg: str = "learning_rate", *,
                  schedule: bool = False) -> Any:
    """A learning rate: a finite number > 0 as a ``float`` or, with ``schedule``, a Keras
    ``LearningRateSchedule`` as it is. Every function that takes a learning rate checks it here.

    >>> learning_rate(1e-3)
    0.001
    """
    if schedule:
        import keras  # only with schedule (from compile_classifier: Keras is loaded by then)

        if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
            return value
    return positive_number(value, arg)


# --- caps on requests for unbounded work (limits.py documents them) ---------------------------------

def capped_int(value: Any, arg: str, limit_name: str, *, hint: str = "", minimum: int = 1) -> int:
    """A whole number from ``minimum`` up to the limit ``limit_name`` (see ``cnnkit.limits()``)."""
    from .limits import limit, too_many

    value = positive_int(value, arg, minimum=minimum, maximum=2**63)  # the limit's own message below
    if value > limit(limit_name):
        raise ValueError(f"{_where(arg)} = {value:,} is more than {too_many(limit_name)}.{hint}")
    return value


@otherwise("fit_classifier")
def epochs(value: Any, arg: str = "epochs", *, minimum: int = 1) -> int:
    """A number of epochs: a whole number from ``minimum`` up to the ``epochs`` limit (10,000 unless
    ``CNNKIT_MAX_EPOCHS``).

    >>> epochs(5.0)
    5
    """
    return capped_int(value, arg, "epochs", minimum=minimum,
                      hint=" Use early_stopping to stop when the validation loss stops improving.")


def image_size(value: Any, arg: str) -> tuple[int, int]:
    """``(height, width)`` to resize images to (one number: square), each at most the ``image_side`` limit.

    >>> image_size(64, "image_size")
    (64, 64)
    """
    from .limits import limit, too_many

    size = int_tuple(value, arg)
    if max(size) > limit("image_side"):
        raise ValueError(f"{_where(arg)} {size} is larger than {too_many('image_side')}. Models for "
                         f"images this large are rarely trained from scratch; resize to e.g. {arg}=(224, 224).")
    return size
