"""Who is calling: the public function in progress, whose name messages give, and whether the call
came from R.

Every function in ``cnnkit.__all__`` is defined with :func:`public`. While it runs, :func:`caller`
is its name, so a check deep inside says ``fit_classifier(): `epochs` must be ...`` without the name
being handed down as an argument. The outermost public call wins: ``train_classifier()`` calling
``fit_classifier()`` names ``train_classifier()``. :func:`called` names a block of code by another
name (the command line's ``train``); :func:`carried` takes the name into a worker thread.

The R package (``R/coerce.R``) calls :func:`enter_r` before and :func:`leave_r` after each call into
cnnkit (reticulate cannot use ``with``); a call from R starts afresh: its own public function names
its messages, in R's words (``_lang.code()``). Calls nest: R -> Python -> R (a callback) -> Python.
The state is a :class:`contextvars.ContextVar`, one stack of calls per thread.

Example:
    >>> @public
    ... def conv_block(filters=32):
    ...     return caller()
    >>> conv_block(), caller()
    ('conv_block', 'cnnkit')
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Call:
    """One call into cnnkit: from ``"python"`` or ``"r"``, and the public function it runs (once known)."""

    language: str = "python"
    name: str | None = None


_PYTHON = Call()
_calls: contextvars.ContextVar[tuple[Call, ...]] = contextvars.ContextVar("cnnkit_calls", default=())


def current() -> Call:
    """The innermost call into cnnkit (a Python call with no name when there is none)."""
    calls = _calls.get()
    return calls[-1] if calls else _PYTHON


def caller() -> str:
    """The name of the public function in progress (``"cnnkit"`` outside one): what messages start with."""
    return current().name or "cnnkit"


def in_r() -> bool:
    """Is the call in progress from R?"""
    return current().language == "r"


def _with_top(call: Call) -> tuple[Call, ...]:
    calls = _calls.get()
    return (*calls[:-1], call) if calls else (call,)


@contextmanager
def called(name: str, *, force: bool = True) -> Iterator[None]:
    """Messages inside the block name ``name`` (with ``force=False``: only if no name is set yet)."""
    top = current()
    if not force and top.name is not None:
        yield
        return
    token = _calls.set(_with_top(replace(top, name=name)))
    try:
        yield
    finally:
        _calls.reset(token)


def public(func: F | None = None, *, name: str | None = None) -> Any:
    """Decorate a public function: its calls name it (``name``, else its own) unless a public call is
    already in progress. ``functools.wraps`` keeps its signature and docstring (R parity reads them);
    a generator function (a ``contextlib.contextmanager``'s) keeps the name while it runs, between its
    yields too."""
    def decorate(f: F) -> F:
        label = name or f.__name__

        if inspect.isgeneratorfunction(f):
            @functools.wraps(f)
            def generator(*args: Any, **kwargs: Any) -> Any:
                if current().name is not None:
                    return (yield from f(*args, **kwargs))
                with called(label):
                    return (yield from f(*args, **kwargs))

            return generator  # type: ignore[return-value]

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current().name is not None:
                return f(*args, **kwargs)
            with called(label):
                return f(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def carried(func: F) -> F:
    """``func`` run with the calls in progress now, whichever thread runs it later (a thread pool's
    worker, a ``tf.data`` pipeline's ``numpy_function``): its messages name the same function."""
    calls = _calls.get()

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _calls.set(calls)
        try:
            return func(*args, **kwargs)
        finally:
            _calls.reset(token)

    return wrapper  # type: ignore[return-value]


def enter_r() -> None:
    """A call from R starts: a new call, in R's words, whose public function names its messages."""
    _calls.set((*_calls.get(), Call("r")))


def leave_r() -> None:
    """A call from R ends (what :func:`enter_r` started, with anything left open inside it)."""
    calls = _calls.get()
    for i in range(len(calls) - 1, -1, -1):
        if calls[i].language == "r":
            _calls.set(calls[:i])
            return


def otherwise(name: str) -> Callable[[F], F]:
    """Decorate a helper whose messages name ``name`` when it runs outside any public function (called
    on its own: by a test, a doctest, a module not yet converted); inside one, that one's name."""
    return public(name=name)


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` pointing at the line that called into cnnkit (the caller of the outermost cnnkit
    frame), however deep the warning is raised and whatever wrappers (:func:`public`) lie between; a
    warning raised inside Keras' ``fit()`` (a callback) also points at the user's call."""
    frame, level, outermost = sys._getframe(0), 1, 1
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PACKAGE):
            outermost = level
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=outermost + 1)
