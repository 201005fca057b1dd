"""Figures: matplotlib's object API, shown where the user looks or saved atomically.

The plotting convention every ``plot_*`` function follows (Python and, through the R wrappers, R):

- ``file=None`` (the default): the function returns a matplotlib ``Figure``. Jupyter shows it inline
  (the figure has a ``_repr_png_``); in Python embedded in R -- knitr's Python engine, RStudio --
  and wherever pyplot is already in use outside Jupyter, the figure is also made pyplot's current
  figure, so ``plt.show()`` (which knitr calls for a figure a chunk returns) shows it.
- ``file="x.png"`` (``.png``, ``.pdf``, ``.svg``, ``.jpg``): the figure is written atomically
  (complete or absent) and the path is returned. No pyplot state is touched, so no figure stays open.
- Called from the R package: R draws the returned figure itself (``figure_pixels()``); pyplot is not
  involved either.

A new plotting function does::

    target = check_target(file)              # before any work: a bad name fails fast
    fig = new_figure(width, height, file)
    ...draw on fig...
    return finish(fig, target)

R draws the returned figure on its current graphics device with ``figure_pixels()`` (R/plot.R).
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

from ._files import atomic_path, check_file_target

SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")
_figure_class: Any = None


def _figure_type() -> Any:
    """``CnnkitFigure``: a matplotlib ``Figure`` that Jupyter displays as a PNG (made on first use, so
    that importing cnnkit does not import matplotlib)."""
    global _figure_class
    if _figure_class is None:
        from matplotlib.figure import Figure

        class CnnkitFigure(Figure):
            """A matplotlib ``Figure``; Jupyter (and anything that reads ``_repr_png_``) shows it inline."""

            def _repr_png_(self) -> bytes:
                buf = io.BytesIO()
                self.savefig(buf, format="png", dpi=100)
                return buf.getvalue()

        _figure_class = CnnkitFigure
    return _figure_class


def _use_pyplot() -> bool:
    """Make a returned figure pyplot's current one? Where pyplot is already imported (knitr's Python
    engine imports it; so do scripts that use it), except in a Jupyter kernel, which shows the returned
    figure itself (a pyplot figure would be shown twice there), and in a call from the R package, which
    draws the figure on R's device itself (R/plot.R): pyplot would keep every such figure open (and a
    figure made before an error), warning once more than 20 are."""
    from ._lang import in_r

    return "matplotlib.pyplot" in sys.modules and "ipykernel" not in sys.modules and not in_r()


def new_figure(width: float, height: float, file: Any = "file") -> Any:
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches (constrained layout).

    With ``file=None`` it is a figure to be returned (see the module's docstring); otherwise it is
    drawn on its own Agg canvas and never touches pyplot (no display needed).
    """
    cls = _figure_type()
    if file is None and _use_pyplot():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(width, height), dpi=100, layout="constrained", FigureClass=cls)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = cls(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_target(file: Any) -> Any:
    """Check an image file name (``.png``, ``.pdf``, ``.svg``, ``.jpg``) before any drawing; ``None``
    (return the figure) passes."""
    if file is None:
        return None
    return check_file_target(file, "file", SUFFIXES)


def save_figure(fig: Any, file: str | os.PathLike) -> str:
    """Write ``fig`` to ``file`` (format from the suffix): complete or not at all."""
    with atomic_path(file) as tmp:
        fig.savefig(tmp)
    return str(file)


def finish(fig: Any, file: Any) -> Any:
    """The end of every plotting function: the figure itself (``file`` None), else the path written."""
    if file is None:
        return fig
    return save_figure(fig, file)


def figure_pixels(fig: Any, dpi: float = 150) -> Any:
    """The figure rendered at ``dpi`` as an RGBA array ``(height, width, 4)`` of uint8 (how R draws it
    with ``grid.raster``); the figure is then closed in pyplot if pyplot held it."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"draw_figure(): `figure` must be a matplotlib Figure, got {type(fig).__name__}.")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not 10 <= dpi <= 1000:
        raise ValueError(f"draw_figure(): `dpi` must be a number from 10 to 1000, got {dpi!r}.")
    if fig.canvas.manager is not None and "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    canvas = FigureCanvasAgg(fig)
    old = fig.get_dpi()
    fig.set_dpi(dpi)
    try:
        canvas.draw()
        return np.array(canvas.buffer_rgba(), dtype="uint8")
    finally:
        fig.set_dpi(old)
