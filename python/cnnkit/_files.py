"""Writing files so that a failure never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(file: str | os.PathLike, arg: str = "file", fn: str = "save") -> Iterator[Path]:
    """Yield a temporary path next to ``file``; move it into place only if the block succeeds.

    The parent folder must exist and be writable; otherwise a ``ValueError`` names ``arg``.
    """
    target = Path(file).expanduser()
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{fn}(): `{arg}`: the folder {str(parent)!r} does not exist; create it first.")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{fn}(): `{arg}`: the folder {str(parent)!r} is not writable; choose another path.")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_figure(fig, file: str | os.PathLike, fn: str, dpi: int = 110) -> str:
    """Save a matplotlib figure atomically, close it, and return the path as a string."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(file, "file", fn) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=Path(file).suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return str(Path(file))
