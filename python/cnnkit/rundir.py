"""The run directory: one training run's files, the settings it was started with, and its lock.

What a run directory holds (every file written atomically: complete or absent):

- ``run.json``: for each function that used the folder (``fit``, ``job``, ``fine_tune``), the settings
  it was started with and whether it finished.
- ``history.csv``: one row per completed epoch; ``backup/``: Keras' ``BackupAndRestore`` state while
  the run is unfinished; ``best.keras``: the best model so far; ``model.weights.h5``: the final
  weights, once :func:`fit_classifier` finished.
- from :func:`train_classifier`: ``model.keras``, ``history.png``, ``confusion_matrix.png``,
  ``metrics.json``; from :func:`fine_tune`: ``head/`` and ``fine_tune/``, one run directory per phase.
- ``.lock`` while a process trains in it.

Rules: a run is resumed only with the settings it was started with (a difference is an error that
lists it); a finished run is not trained again (its results are loaded, and a warning says so) unless
``overwrite=True``, which discards cnnkit's files in the folder first; two processes cannot train in
one folder at once (the second gets a clear error); a folder made for a run that fails before its
first epoch is removed again; a full or read-only disk is an ``OSError`` with one line that names the
folder.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ._context import caller, warn
from ._files import atomic_path, writable_dir
from ._lang import code

RECORD = "run.json"
LOCK = ".lock"
# What overwrite=True removes: cnnkit's own files, never anything else in the folder.
OWN_FILES = ("run.json", "history.csv", "backup", "best.keras", "model.weights.h5", "model.keras", "history.png",
             "confusion_matrix.png", "metrics.json", "head", "fine_tune", "tensorboard")


class RunDirError(OSError):
    """A run directory that cannot be used: in use by another process, or a failed write."""


class RunFinishedWarning(UserWarning):
    """The run directory holds a finished run: its results were loaded instead of training again."""


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


# --- the lock --------------------------------------------------------------------------------------

_HELD: dict[str, list[Any]] = {}  # resolved path -> [fd, depth]: re-entrant within one process


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    key = str(path.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    lock = path / LOCK
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
                holder = f" (process {info.get('pid')} on {info.get('host')}, since {info.get('since')})"
            os.close(fd)
            raise RunDirError(f"{caller()}(): `run_dir` {str(path)!r} is in use by another training run{holder}. "
                              "Wait for it to finish, or use another run_dir.") from None
        try:  # the file may have been removed by its previous holder between our open and our lock
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}).encode(), 0)
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


# --- the history: history.csv, one row per completed epoch -----------------------------------------

def write_history_csv(rows: list[dict[str, float]], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="nan")
        w.writeheader()
        w.writerows(rows)


TEXT_COLUMNS = ("phase",)  # history columns that hold words (fine_tune()'s "head", "fine_tune"), not numbers


def read_history_csv(path: Path) -> list[dict[str, Any]]:
    """The rows of a run's ``history.csv``; a cell that is not what cnnkit wrote there (a number, or a
    word in a :data:`TEXT_COLUMNS` column) is a ``ValueError`` naming the file, the row and the column
    (and the public function that read it)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as f:
        return [{k: _history_value(x, k, i, path) for k, x in r.items()}
                for i, r in enumerate(csv.DictReader(f), 1)]


def _history_value(x: Any, column: Any, row: int, path: Path) -> float | str:
    if column in TEXT_COLUMNS:
        return x
    try:
        value = float(x)
        return int(value) if column == "epoch" else value
    except (TypeError, ValueError):
        raise ValueError(f"{caller()}(): the run's history file {str(path)!r} has {x!r} in row {row}, "
                         f"column {column!r}, where cnnkit "
                         "wrote a number: the file was edited or damaged. Restore it, or start the run afresh "
                         f"with {code('overwrite=True', 'overwrite = TRUE')} (CLI: --overwrite).") from None


# --- settings and fingerprints ---------------------------------------------------------------------

def json_ready(value: Any) -> Any:
    """A JSON value for a setting or a result (NumPy numbers, arrays, tuples and paths included). NaN and
    infinities become ``None`` (JSON's null: strict JSON readers, R's jsonlite among them, reject the
    ``NaN`` that ``json.dumps`` writes): an AUC that is undefined for a class is null in metrics.json."""
    if isinstance(value, dict):
        return {str(k): json_ready(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(x) for x in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return json_ready(value.item())
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def model_fingerprint(model: Any) -> str:
    """A short hash of the model's architecture: each layer's class, weight shapes and trainability
    (not its name, which Keras numbers per session, nor its weights)."""
    from .freeze import flat_layers

    parts = [(type(layer).__name__, [list(w.shape) for w in layer.weights], bool(layer.trainable))
             for layer, _ in flat_layers(model)]
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:16]


def data_fingerprint(data: Any) -> dict[str, Any]:
    """What identifies training data without storing it: for arrays, their shape and a hash of all
    labels and of up to 2,000 evenly spaced images; for a dataset, its element spec and length, and
    for one from ``image_folder()``/``image_table()`` the hash of its files, their sizes and classes
    (its ``fingerprint``: images added, removed or moved between classes are other data)."""
    from ._data_checks import is_dataset

    if data is None:
        return {"kind": "none"}
    if is_dataset(data):
        out = {"kind": "dataset", "spec": str(data.element_spec), "batches": int(data.cardinality()),
               "class_names": json_ready(getattr(data, "class_names", None))}
        if isinstance(getattr(data, "fingerprint", None), str):
            out["files"] = data.fingerprint
        return out
    x, y = data
    h = hashlib.blake2b(digest_size=12)
    h.update(np.ascontiguousarray(y).tobytes())
    h.update(np.ascontiguousarray(x[:: max(1, len(x) // 2000)]).tobytes())
    return {"kind": "arrays", "shape": list(x.shape), "hash": h.hexdigest()}


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``"epochs 6 (now 8)"`` for each setting that differs (``"data differs"`` for a fingerprint)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = json.dumps(old.get(key), sort_keys=True), json.dumps(new.get(key), sort_keys=True)
        if a != b:
            out.append(f"{key} differs" if isinstance(new.get(key), (dict, list)) or len(a + b) > 80
                       else f"{key} {a} (now {b})")
    return out


# --- the run directory -----------------------------------------------------------------------------

class RunDir:
    """An open run directory (see :func:`run_directory`)."""

    def __init__(self, path: Path, created: bool):
        self.path, self.created = path, created

    def record(self) -> dict[str, Any]:
        f = self.path / RECORD
        if not f.is_file():
            return {}
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            raise ValueError(f"{caller()}(): `run_dir` {str(self.path)!r} has a damaged {RECORD}; start afresh with "
                             "overwrite=True (CLI: --overwrite) or use another run_dir.") from None

    def _write(self, record: dict[str, Any]) -> None:
        with atomic_path(self.path / RECORD) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")

    def finished(self, section: str) -> bool:
        return self.record().get(section, {}).get("status") == "finished"

    def info(self, section: str) -> dict[str, Any]:
        return self.record().get(section, {})

    def start(self, section: str, settings: dict[str, Any]) -> bool:
        """Record ``settings`` for ``section``, or check them against those recorded. Returns whether
        the section was there already (a run to resume or a finished one)."""
        record = self.record()
        settings = json_ready(settings)
        old = record.get(section)
        if old is not None:
            diff = differences(old.get("settings", {}), settings)
            if diff:
                raise ValueError(
                    f"{caller()}(): `run_dir` {str(self.path)!r} holds a run started with other settings: "
                    f"{'; '.join(diff)}. Resume it with the settings it was started with, or start afresh with "
                    "overwrite=True (R: overwrite = TRUE; CLI: --overwrite) or another run_dir.")
            return True
        record[section] = {"settings": settings, "status": "running", "started": _now()}
        self._write(record)
        return False

    def finish(self, section: str, **extra: Any) -> None:
        record = self.record()
        record.setdefault(section, {}).update(status="finished", finished=_now(), **json_ready(extra))
        self._write(record)

    def clear(self) -> None:
        """Remove cnnkit's files (``overwrite=True``); other files in the folder stay."""
        for name in OWN_FILES:
            self.discard(name)

    def discard(self, name: str, *, strict: bool = True) -> None:
        """Remove the file or folder ``name`` of the run directory, if there (a link: the link only).
        ``strict=False``: a removal that fails is left for the next run (the backup of a finished fit)."""
        p = self.path / name
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=not strict)
            elif p.exists() or p.is_symlink():
                p.unlink()
        except OSError:
            if strict:
                raise


# --- the backup: Keras' BackupAndRestore state -----------------------------------------------------
# Keras writes its backup in place, not atomically: the weights (latest.weights.h5), then the epoch
# (training_metadata.json), after copying the previous pair to *.bkp (double_checkpoint=True). A kill
# in the middle leaves a pair that does not load; Keras falls back on the previous pair only for
# unreadable weights, and the very first backup has none.

BACKUP = "backup"
BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")


def _backup_epoch(weights: Path, metadata: Path) -> int | None:
    """The epoch a backup pair holds, or ``None`` when the pair is missing, incomplete or damaged."""
    try:
        epoch = json.loads(metadata.read_text())["epoch"]
        import h5py

        with h5py.File(weights, "r"):
            pass
    except Exception:  # noqa: BLE001 - whatever is wrong, this pair cannot be restored
        return None
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0 else None


def usable_backup(run_path: Path) -> None:
    """Before training resumes in ``run_path``: leave a backup Keras can restore, or none.

    A complete last backup stays. An incomplete one (a kill while it was written) is replaced by the
    one before it, if that is complete; if there is none -- the kill came during the first backup --
    the backup is removed and training starts from epoch 1 again. Each case but the first warns."""
    folder = run_path / BACKUP
    if not folder.is_dir():
        return
    weights, metadata = (folder / name for name in BACKUP_FILES)
    if _backup_epoch(weights, metadata) is not None:
        return
    before = _backup_epoch(Path(f"{weights}.bkp"), Path(f"{metadata}.bkp"))

    if before is not None:
        for f in (weights, metadata):
            with atomic_path(f) as tmp:
                shutil.copyfile(f"{f}.bkp", tmp)
        warn(f"{caller()}(): `run_dir` {str(run_path)!r}: the run was stopped while writing its backup of epoch "
                      f"{before + 1}; it resumes from the complete backup before it (after epoch {before}).",
                      UserWarning)
        return
    if not any(folder.iterdir()):
        return  # made, nothing written yet
    shutil.rmtree(folder)
    warn(f"{caller()}(): `run_dir` {str(run_path)!r} holds no complete backup (the run was stopped while "
                  "writing its first one); the incomplete backup was removed and training starts again from epoch 1. "
                  "To start afresh instead, pass overwrite=True (R: overwrite = TRUE; CLI: --overwrite).",
                  UserWarning)


def _disk_error(e: OSError, path: Path) -> RunDirError:
    """One line that names the folder, whatever wrote (h5py's messages span several lines)."""
    code = e.errno
    if code is None:
        found = re.search(r"errno = (\d+)", str(e))
        code = int(found.group(1)) if found else None
    what = os.strerror(code) if code else (str(e).strip().splitlines() or [type(e).__name__])[0]
    if code in (errno.ENOSPC, errno.EDQUOT):
        hint = "Free some space or choose a run_dir on another disk."
    elif code in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "Choose a run_dir you can write to."
    else:
        hint = "Check the disk, or choose another run_dir."
    return RunDirError(f"{caller()}(): could not write to `run_dir` {str(path)!r}: {what}. {hint}")


@contextlib.contextmanager
def run_directory(run_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[RunDir]:
    """Open ``run_dir`` for a run: create it if needed, lock it, clear it with ``overwrite``; on an
    error, remove it again if it was made here and no epoch completed, and turn a failed write into a
    one-line :class:`RunDirError`."""
    path = Path(run_dir).expanduser() if isinstance(run_dir, (str, os.PathLike)) else run_dir
    created = isinstance(path, Path) and not path.exists()
    path = writable_dir(run_dir, "run_dir")
    try:
        with _locked(path):
            rd = RunDir(path, created)
            if overwrite:
                rd.clear()
            yield rd
    except BaseException as e:
        if created and not (path / "history.csv").exists():
            shutil.rmtree(path, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, RunDirError):
            raise _disk_error(e, path) from None
        raise
