"""Files that are either complete or absent: write to a temporary name, then ``os.replace``.

A failure half-way (an exception, a full disk, a kill before the rename) leaves no half-written file
under the final name, and the temporary file is removed on an exception. Every file cnnkit writes goes
through :func:`atomic_path` and gets the permissions the user's umask gives (0644 under the usual 022),
as a plain ``open()`` would: a shared cache or run folder is readable by the others it is shared with.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ._context import caller


def keras_home(subdir: str = "", *, writable: bool = True) -> Path:
    """Keras' folder (``subdir`` in it): ``$KERAS_HOME`` as set now, else ``~/.keras``.

    With ``writable`` (where files are written: Keras' weights cache, EfficientNet-Lite0's converted
    weights), a home that cannot be written to is replaced by ``/tmp/.keras``, as
    ``keras.utils.get_file`` does; without it (where a file is looked for: the Fashion-MNIST cache),
    the folder is returned as it is. The one place cnnkit finds Keras' home.

    Example:
        >>> keras_home("models").name
        'models'
    """
    home = Path(os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")))
    if writable and not os.access(home if home.exists() else home.parent, os.W_OK):
        home = Path("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()) / ".keras"
    return home / subdir if subdir else home


def writable_dir(path: str | os.PathLike, arg: str, *, create: bool = True) -> Path:
    """Return ``path`` as a directory that exists and can be written to, or raise naming ``arg``.

    Nothing is left behind by the check itself (a probe file is created and removed).
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"{caller()}(): `{arg}` must be a directory path (a string), got {path!r}.")
    p = Path(path).expanduser()
    try:
        if create:
            p.mkdir(parents=True, exist_ok=True)
        if not p.is_dir():
            raise NotADirectoryError(f"{p} is not a directory")
        fd, probe = tempfile.mkstemp(dir=p, prefix=".cnnkit-probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise ValueError(
            f"{caller()}(): `{arg}` {str(p)!r} is not a writable directory ({e.__class__.__name__}: {e}). "
            f"Pass a folder you can write to, e.g. {arg}='runs/my-run'."
        ) from None
    return p


def check_file_target(file: str | os.PathLike, arg: str, suffixes: tuple[str, ...]) -> Path:
    """Check an output file name: a string with one of ``suffixes`` in a writable (existing or creatable) folder."""
    if not isinstance(file, (str, os.PathLike)) or not str(file):
        raise TypeError(f"{caller()}(): `{arg}` must be a file path (a string), got {file!r}.")
    p = Path(file).expanduser()
    if p.suffix.lower() not in suffixes:
        raise ValueError(
            f"{caller()}(): `{arg}` must end in {' or '.join(suffixes)}, got {str(p)!r}. "
            f"Pass e.g. {arg}='result{suffixes[0]}'."
        )
    writable_dir(p.parent if str(p.parent) else ".", arg)
    return p


def _umask() -> int:
    """The process's umask: read from /proc where it can be (setting it to read it back, the only
    portable way, is not thread-safe), else by setting and restoring it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` (same suffix); move it onto ``target`` on success.

    Example:
        >>> with atomic_path("notes.txt") as tmp:
        ...     _ = tmp.write_text("complete or absent")
        >>> Path("notes.txt").read_text()
        'complete or absent'
    """
    target = Path(target)
    stem, dot, rest = target.name.partition(".")  # all suffixes: Keras wants "x.weights.h5", not "x.h5"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{stem}-", suffix=dot + rest)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty folder next to ``target``; on success it takes ``target``'s place (a folder
    already there is moved aside first and removed after), so ``target`` is always either the old
    folder or the complete new one. On an exception the new folder is removed and ``target`` is left
    as it was. The caller decides whether an existing ``target`` may be replaced.

    Example:
        >>> with atomic_dir("exported") as tmp:
        ...     _ = (tmp / "a.txt").write_text("complete or absent")
        >>> sorted(p.name for p in Path("exported").iterdir())
        ['a.txt']
    """
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the usual permissions
    try:
        yield tmp
        if not os.path.lexists(target):
            os.rename(tmp, target)
            return
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-old-"))
        os.rename(target, old / "previous")
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(old / "previous", target)
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
