"""Whom a message is for: Python users, or R users calling through the R package.

The R wrappers (R/coerce.R, ``cnnkit_call()``) call :func:`enter_r` before and :func:`leave_r` after
each call into cnnkit (kept in the call's context, ``_context``), so a message can give the R form of
a hint (``overwrite = TRUE``, ``dim(x) <- c(dim(x), 1)``) or an R position (1-based) to R users and
the Python form to Python users. Values in messages are written as Python writes them (``None``, ``(32, 32, 1)``); the R
package turns those into R's (``NULL``, ``c(32, 32, 1)``) when it shows the message.

Example:
    >>> code("x[..., None]", "dim(x) <- c(dim(x), 1)")
    'x[..., None]'
"""

from __future__ import annotations

from ._context import enter_r, in_r, leave_r  # the call's context: which language, which function

__all__ = ["code", "enter_r", "in_r", "leave_r"]


def code(python: str, r: str) -> str:
    """The form of a piece of code (or wording) for whoever called: ``python`` or ``r``."""
    return r if in_r() else python
