"""Runs: the run card of a run directory, TensorBoard logs, and comparing runs.

Every run directory (``fit_classifier(run_dir=)``, :func:`fine_tune`, :func:`train_classifier`,
``cnnkit train``) records in ``run.json``, when a section finishes, the environment it ran in
(versions, device), the precision it computed in and its seconds; the settings (seed and data
fingerprint among them) are there from the start. :func:`run_card` gathers that with the history and
the test metrics into one record that prints as a card; :func:`compare_runs` puts several runs side by
side (the settings that differ, the metrics), :func:`plot_runs` their learning curves.

With ``tensorboard=True`` (``--tensorboard``) a run also writes TensorBoard event files, one scalar per
metric and epoch (``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate``; the validation ones under
``validation/``), in ``<run_dir>/tensorboard``: ``tensorboard --logdir runs/`` shows every run. They are
written with TensorFlow's own event writer, so the ``tensorboard`` package is needed only to look.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import keras
import numpy as np

from ._context import caller, public
from ._plot import check_target, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RECORD = "run.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
TENSORBOARD = "tensorboard"


# --- the environment a run ran in ----------------------------------------------------------------------

def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Versions and device of this process: what a run card records (cnnkit, Python, Keras,
    TensorFlow, NumPy; the CPU, its cores and any GPU)."""
    import tensorflow as tf

    from . import __version__

    gpus = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
            for g in tf.config.list_physical_devices("GPU")]
    return {"versions": {"cnnkit": __version__, "python": platform.python_version(), "keras": keras.__version__,
                         "tensorflow": tf.__version__, "numpy": np.__version__},
            "device": {"cpu": _cpu(), "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else os.cpu_count(), "gpus": gpus, "platform": f"{platform.system()} {platform.release()}"}}


# --- TensorBoard -----------------------------------------------------------------------------------------

class TensorBoardLogs(keras.callbacks.Callback):
    """Per-epoch scalars as TensorBoard event files: ``<dir>/train`` and ``<dir>/validation`` (Keras'
    ``TensorBoard`` layout and tag names), written at each epoch's end. No per-batch hook, so training
    keeps its steps per execution; a resumed run adds to the same folder."""

    def __init__(self, log_dir: Path):
        super().__init__()
        self.log_dir = Path(log_dir)
        self._writers: dict[str, Any] = {}

    def _writer(self, name: str) -> Any:
        """An event file: a TFRecord file of ``Event`` protos (what TensorBoard reads), opened with
        TensorFlow's public ``tf.io.TFRecordWriter``, its first record the file version."""
        if name not in self._writers:
            import socket

            import tensorflow as tf
            from tensorflow.core.util import event_pb2

            folder = self.log_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}.cnnkit"
            w = tf.io.TFRecordWriter(str(path))
            w.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
            self._writers[name] = w
        return self._writers[name]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from tensorflow.core.framework import summary_pb2
        from tensorflow.core.util import event_pb2

        values: dict[str, dict[str, float]] = {"train": {}, "validation": {}}
        for key, value in (logs or {}).items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            values[split][f"epoch_{name}"] = float(np.asarray(value))
        lr = getattr(self.model.optimizer, "learning_rate", None)
        if lr is not None:
            values["train"].setdefault("epoch_learning_rate", float(np.asarray(lr)))
        for split, scalars in values.items():
            if not scalars:
                continue
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=t, simple_value=x)
                                                 for t, x in scalars.items()])
            w = self._writer(split)
            w.write(event_pb2.Event(wall_time=time.time(), step=epoch + 1, summary=summary).SerializeToString())
            w.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()


def read_tensorboard(run_dir: str | os.PathLike) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """The scalars a run's TensorBoard logs hold: ``{"train"|"validation": {tag: [(epoch, value)]}}``
    in epoch order (all phases of a :func:`fine_tune` run together). For tests and for a look without
    TensorBoard."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for events in sorted(Path(run_dir).rglob("events.out.tfevents.*")):
        split = events.parent.name
        for raw in tf.data.TFRecordDataset(str(events)):
            e = event_pb2.Event.FromString(raw.numpy())
            for val in e.summary.value:
                out.setdefault(split, {}).setdefault(val.tag, []).append((int(e.step), float(val.simple_value)))
    return {split: {tag: sorted(points) for tag, points in tags.items()} for split, tags in out.items()}


# --- the run card ------------------------------------------------------------------------------------

def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise ValueError(f"{caller()}(): {what} {str(path)!r} cannot be read as JSON: the file was edited or "
                         "damaged (or is being written). Restore it, or run again.") from None


def _run_path(run_dir: Any, arg: str = "run_dir") -> Path:
    if not isinstance(run_dir, (str, os.PathLike)) or not str(run_dir):
        raise TypeError(f"{caller()}(): `{arg}` must be the path of a run directory (a folder with run.json), got "
                        f"{run_dir!r} ({type(run_dir).__name__}).")
    path = Path(run_dir).expanduser()
    if not (path / RECORD).is_file():
        what = "does not exist" if not path.exists() else "is not a run directory (it has no run.json)"
        raise ValueError(f"{caller()}(): `{arg}` {str(path)!r} {what}; give a folder that fit_classifier(run_dir=), "
                         "fine_tune(), train_classifier() or cnnkit train wrote.")
    return path


def _final_row(path: Path) -> dict[str, Any]:
    from .rundir import read_history_csv

    rows = read_history_csv(path / HISTORY)
    return {k: v for k, v in rows[-1].items() if k != "phase"} if rows else {}


class RunCard(dict):
    """What :func:`run_card` returns: a dict that prints as a card."""

    def __str__(self) -> str:
        return format_run_card(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(str(self))


def _section(record: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The run's main section: the job's, else a fine_tune() run's, else the one fit."""
    for name in ("job", "fine_tune", "fit"):
        if name in record:
            return name, record[name]
    name = next(iter(record), "fit")
    return name, record.get(name, {})


@public
def run_card(run_dir: str | os.PathLike) -> RunCard:
    """The run card of a run directory: what ran, where, with what, how long, and how well.

    Args:
        run_dir: a folder written by ``fit_classifier(run_dir=)``, :func:`fine_tune`,
            :func:`train_classifier` or ``cnnkit train``.

    Returns:
        A :class:`RunCard` (a dict; printing it shows the card): ``run_dir``, ``kind`` (``"job"``,
        ``"fine_tune"`` or ``"fit"``), ``status`` (``"finished"`` or ``"running"``: killed or still
        going), ``started``, ``finished``, ``seconds`` (of training), ``seed``, ``precision``,
        ``versions``, ``device``, ``data`` (the data's fingerprint: shape, dtype, a hash of a sample),
        ``settings`` (all of them), ``metrics`` (the last epoch's, and the test set's for a job:
        ``test_accuracy``), ``epochs``.

    Example:
        >>> d = load_fashion_mnist(n=100, n_test=10)
        >>> h = fit_classifier(simple_cnn((28, 28, 1), num_classes=10), (d["x_train"], d["y_train"]), epochs=1,
        ...                    verbose=0, run_dir="card-run", seed=1)
        >>> card = run_card("card-run")
        >>> card["status"], card["seed"], card["epochs"]
        ('finished', 1, 1)
    """
    path = _run_path(run_dir)
    record = _read_json(path / RECORD, "the run record")
    kind, section = _section(record)
    fit = record.get("fit", {})
    settings = dict(section.get("settings", {}))
    metrics = _final_row(path)
    epoch = metrics.pop("epoch", None)
    metrics.pop("learning_rate", None)  # the schedule's last rate, not a result (the settings have the peak)
    job = _read_json(path / METRICS, "the metrics file") if (path / METRICS).is_file() else {}
    if job:
        metrics["test_accuracy"] = job.get("accuracy")
        if job.get("balanced_accuracy") is not None:
            metrics["test_balanced_accuracy"] = job["balanced_accuracy"]
    env = section.get("environment") or fit.get("environment") or {}
    seconds = section.get("seconds", job.get("train_seconds"))  # a job from before run cards: its metrics.json
    return RunCard(run_dir=str(path), kind=kind, status=section.get("status", "running"),
                   started=section.get("started"), finished=section.get("finished"), seconds=seconds,
                   seed=settings.get("seed"), precision=section.get("precision") or settings.get("precision"),
                   versions=env.get("versions", {}), device=env.get("device", {}),
                   data=settings.get("data") or fit.get("settings", {}).get("data"),
                   settings=settings, metrics=metrics, epochs=section.get("epochs", epoch))


def _value(x: Any) -> str:
    if isinstance(x, float):
        return "n/a" if math.isnan(x) else f"{x:.4g}"
    if isinstance(x, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in x.items())
    return str(x)


def format_run_card(card: Mapping[str, Any]) -> str:
    """A run card as text (how a :class:`RunCard` prints; the R package prints the same)."""
    d = card.get("device") or {}
    device = f"{d.get('cpu', '?')}, {d.get('cores', '?')} cores" + (f"; GPU {', '.join(d['gpus'])}" if d.get("gpus")
                                                                    else "") if d else "(not recorded)"
    versions = ", ".join(f"{k} {v}" for k, v in (card.get("versions") or {}).items()) or "(not recorded)"
    seconds = card.get("seconds")
    lines = [f"run {card['run_dir']} ({card['kind']}, {card['status']})",
             f"  started   {card.get('started') or '?'}   finished {card.get('finished') or '-'}",
             f"  training  epochs {card.get('epochs')}" + (f", {seconds:.1f} s" if isinstance(seconds, (int, float))
                                                         else ""),
             f"  seed      {card.get('seed')}   precision {card.get('precision')}",
             f"  device    {device}", f"  versions  {versions}"]
    data = card.get("data")
    if data:
        lines.append(f"  data      {_value(data) if isinstance(data, dict) else data}")
    shown = {"seed", "precision", "data", "validation", "model"}
    rest = {k: v for k, v in (card.get("settings") or {}).items() if k not in shown and v is not None}
    if rest:
        lines.append("  settings  " + ", ".join(f"{k} {_value(v)}" for k, v in rest.items()))
    metrics = card.get("metrics") or {}
    if metrics:
        lines.append("  metrics   " + ", ".join(f"{k} {_value(v)}" for k, v in metrics.items()))
    return "\n".join(lines)


# --- comparing runs ----------------------------------------------------------------------------------

def _runs_in(runs: Any) -> list[Path]:
    """Run directories: ``runs`` itself if it is one, else its sub-folders that are (sorted by name);
    or a list of run directories."""
    if isinstance(runs, (list, tuple)):
        if not runs:
            raise ValueError(f"{caller()}(): `runs` is an empty list; give a folder of runs or run directories.")
        return [_run_path(r, "runs") for r in runs]
    if not isinstance(runs, (str, os.PathLike)) or not str(runs):
        raise TypeError(f"{caller()}(): `runs` must be a folder of run directories (e.g. 'runs') or a list of run "
                        f"directories, got {runs!r} ({type(runs).__name__}).")
    path = Path(runs).expanduser()
    if not path.is_dir():
        raise ValueError(f"{caller()}(): `runs` {str(path)!r} is not a folder; give the folder the runs are in "
                         "(cnnkit train writes runs/<timestamp>/).")
    if (path / RECORD).is_file():
        return [path]
    found = sorted(p for p in path.iterdir() if (p / RECORD).is_file())
    if not found:
        raise ValueError(f"{caller()}(): `runs` {str(path)!r} holds no run directories (folders with run.json).")
    return found


def _flat(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings one level deep, for comparing: nested dicts (the data fingerprint) as their JSON text."""
    return {k: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for k, v in settings.items()}


@public
def compare_runs(runs: str | os.PathLike | Sequence[str | os.PathLike]) -> dict[str, list[object]]:
    """Runs side by side: one row per run, the settings that differ between them, and their metrics.

    Args:
        runs: a folder of run directories (``cnnkit train`` writes ``runs/<timestamp>/``), or a list
            of run directories.

    Returns:
        A dict of equal-length columns (R: a data frame): ``run`` (the folder's name), ``status``, each
        setting whose value is not the same in every run, ``epochs``, ``seconds``, then the metrics
        (the last epoch's ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` ...; ``test_accuracy``
        for jobs). A run without a value is ``None`` (R: ``NA``). :func:`plot_runs` draws their curves.

    Example:
        >>> d = load_fashion_mnist(n=100, n_test=10)
        >>> for lr in (1e-3, 3e-3):
        ...     h = fit_classifier(simple_cnn((28, 28, 1), num_classes=10), (d["x_train"], d["y_train"]),
        ...                        epochs=1, verbose=0, learning_rate=lr, run_dir=f"lr-runs/lr{lr:g}")
        >>> table = compare_runs("lr-runs")
        >>> table["run"], table["learning_rate"]
        (['lr0.001', 'lr0.003'], [0.001, 0.003])
    """
    cards = [run_card(p) for p in _runs_in(runs)]
    flat = [_flat(c["settings"]) for c in cards]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    differing = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}) > 1]
    metric_keys: list[str] = []
    for c in cards:
        metric_keys += [k for k in c["metrics"] if k not in metric_keys]
    out: dict[str, list[object]] = {"run": [Path(c["run_dir"]).name for c in cards],
                                    "status": [c["status"] for c in cards]}
    for k in differing:
        out[k] = [f.get(k) for f in flat]
    out["epochs"] = [c["epochs"] for c in cards]
    out["seconds"] = [c["seconds"] for c in cards]
    for k in metric_keys:
        out[k] = [c["metrics"].get(k) for c in cards]
    return out


def format_comparison(table: Mapping[str, Sequence[Any]]) -> str:
    """A :func:`compare_runs` table as text: one row per run, numbers to 4 significant digits."""
    cols = list(table)
    cells = [[_value(x) if x is not None else "-" for x in table[c]] for c in cols]
    widths = [max(len(c), *(len(x) for x in col)) for c, col in zip(cols, cells)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(col[i].ljust(w) for col, w in zip(cells, widths)) for i in range(len(table["run"]))]
    return "\n".join(line.rstrip() for line in lines)


@public
def plot_runs(runs: str | os.PathLike | Sequence[str | os.PathLike], metric: str = "accuracy",
              file: str | os.PathLike | None = None) -> Figure | str:
    """Learning curves of several runs together: ``metric`` per epoch, one colour per run, the
    validation curve (``val_<metric>``, where recorded) solid and the training curve dashed.

    Args:
        runs: as in :func:`compare_runs`.
        metric: a column of the runs' ``history.csv``: ``"accuracy"`` (the default), ``"loss"``, ...
        file: ``None`` returns the matplotlib ``Figure``; an image path (``.png``, ``.pdf``, ``.svg``,
            ``.jpg``) writes it there (atomically) instead.

    Returns:
        The ``Figure`` (``file=None``) or the path written.
    """
    from .rundir import read_history_csv

    paths = _runs_in(runs)
    if not isinstance(metric, str) or not metric or metric.startswith("val_"):
        raise ValueError(f"{caller()}(): `metric` must be a metric's name as the history has it, without 'val_' (the "
                         f"validation curve is drawn with it), e.g. 'accuracy' or 'loss'; got {metric!r}.")
    histories = {p.name: read_history_csv(p / HISTORY) for p in paths}
    seen = {k for rows in histories.values() for r in rows for k in r}
    if metric not in seen:
        raise ValueError(f"{caller()}(): `metric` {metric!r} is in none of the runs' histories; they have "
                         f"{', '.join(sorted(k for k in seen if k not in ('epoch', 'phase') and not k.startswith('val_')))}.")
    target = check_target(file)
    fig = new_figure(7.0, 4.4, target)
    ax = fig.subplots()
    for i, (name, rows) in enumerate(histories.items()):
        colour = f"C{i % 10}"
        epochs = [r["epoch"] for r in rows]
        for key, style, label in ((f"val_{metric}", "-", f"{name} (validation)"), (metric, "--", f"{name} (training)")):
            ys = [r.get(key, math.nan) for r in rows]
            if any(not math.isnan(y) for y in ys):
                ax.plot(epochs, ys, style, color=colour, label=label, linewidth=1.4, marker="o", markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} of {len(histories)} run(s)")
    ax.grid(alpha=0.3)
    if len(histories) <= 12:
        ax.legend(fontsize=7)
    return finish(fig, target)
