"""Figures for files: matplotlib's object API with the Agg canvas (no pyplot, no global backend
change, works without a display), saved atomically so a failure leaves no half-written image."""

from __future__ import annotations

import os
from typing import Any

from ._files import atomic_path, check_file_target

SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` drawn on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_target(file: Any, fn: str) -> Any:
    """Check an image file name (``.png``, ``.pdf``, ``.svg``, ``.jpg``) before any drawing."""
    return check_file_target(file, "file", fn, SUFFIXES)


def save_figure(fig: Any, file: str | os.PathLike) -> str:
    """Write ``fig`` to ``file`` (format from the suffix): complete or not at all."""
    with atomic_path(file) as tmp:
        fig.savefig(tmp)
    return str(file)
