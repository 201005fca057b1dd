"""Training: compile a classifier with the loss its output layer implies, and fit it.

``fit_classifier()`` is the one call for the common path: it compiles the model if needed, checks the
data against the model before any work is done, shows Keras' progress bar, and with a ``run_dir``
keeps a run that can be killed and resumed (``BackupAndRestore``), the best model so far
(``best.keras``) and the history (``history.csv``), all written atomically. ``strategy="mirrored"``
trains with ``tf.distribute``.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from . import _validate as v
from ._checks import check_data, is_dataset
from ._files import atomic_path, writable_dir
from .precision import PRECISIONS
from .precision import precision as _precision
from .precision import steps_per_execution as _steps

SCHEDULES = ("constant", "cosine")
STRATEGIES = (None, "mirrored")
VERBOSE = ("auto", 0, 1, 2)


def output_activation(model: keras.Model) -> str | None:
    """The name of the activation of the model's last layer (looking inside a nested model, as in
    ``with_augmentation(model, aug)``), or ``None``."""
    last = model.layers[-1] if model.layers else None
    while isinstance(last, keras.Model) and last.layers:
        last = last.layers[-1]
    return getattr(getattr(last, "activation", None), "__name__", None)


def output_kind(model: keras.Model) -> tuple[str, int]:
    """Return ``("binary", 1)`` for a 1-unit sigmoid output, ``("multiclass", n)`` for softmax.

    Example:
        >>> output_kind(simple_cnn())
        ('binary', 1)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"output_kind(): `model` must be a Keras model, got {type(model).__name__}.")
    units = model.output_shape[-1]
    act = output_activation(model)
    if units == 1:
        if act not in ("sigmoid", None, "linear"):
            raise ValueError(f"output_kind(): a 1-unit output needs a sigmoid activation, got {act!r}.")
        return "binary", 1
    if act not in ("softmax", None, "linear"):
        raise ValueError(
            f"output_kind(): a {units}-unit output needs a softmax activation, got {act!r}; "
            "use cnnkit.output_layer(num_classes) as the last layer."
        )
    return "multiclass", int(units)


def compile_classifier(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    loss: str | None = None,
    metrics: Sequence[Any] = ("accuracy",),
    **kwargs: Any,
) -> keras.Model:
    """Compile ``model`` with the loss its output layer implies (if ``loss`` is not given).

    1-unit sigmoid -> ``binary_crossentropy``; n-unit softmax -> ``sparse_categorical_crossentropy``
    (integer labels 0..n-1). A logits output (no activation) gets ``from_logits=True``.

    Args:
        model: a Keras classifier.
        learning_rate: step size for the optimizer (a number or a Keras learning-rate schedule).
        optimizer: a Keras optimizer name (``"adam"``, ``"sgd"``, ...) or instance (then
            ``learning_rate`` is ignored).
        loss: override the loss.
        metrics: metrics to track.
        **kwargs: passed to ``model.compile`` (e.g. ``steps_per_execution``, ``jit_compile``).

    Returns:
        The same model, compiled.

    Example:
        >>> m = compile_classifier(simple_cnn(), learning_rate=1e-3)
        >>> m.loss
        'binary_crossentropy'
    """
    fn = "compile_classifier"
    kind, _ = output_kind(model)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
            raise ValueError(f"{fn}(): `learning_rate` must be a positive number, got {learning_rate!r}.")
        learning_rate = float(learning_rate)
    if isinstance(optimizer, str):
        try:
            optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
        except ValueError:
            raise ValueError(f"{fn}(): `optimizer` {optimizer!r} is not a Keras optimizer; use e.g. 'adam' or 'sgd'.") from None
    if loss is None:
        logits = output_activation(model) in (None, "linear")
        if kind == "binary":
            loss = keras.losses.BinaryCrossentropy(from_logits=True) if logits else "binary_crossentropy"
        else:
            loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if logits
                    else "sparse_categorical_crossentropy")
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics), **kwargs)
    return model


def learning_rate_schedule(learning_rate: float, schedule: str, total_steps: int) -> Any:
    """``"constant"``: the number itself; ``"cosine"``: one cycle, a linear warm-up from a tenth of
    ``learning_rate`` over the first 20% of the steps, then cosine decay to 1% of it."""
    if schedule == "constant":
        return learning_rate
    warmup = max(1, total_steps // 5)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate / 10, decay_steps=max(1, total_steps - warmup), alpha=0.01,
        warmup_target=learning_rate, warmup_steps=warmup)


# --- the run directory: history, best model, backup ------------------------------------------------

class RunLog(keras.callbacks.Callback):
    """Collects one row per epoch (``epoch`` counted from 1, the logs, the learning rate) and, with a
    ``path``, rewrites ``history.csv`` atomically after every epoch. Rows of a resumed run are kept."""

    def __init__(self, path: Path | None = None, rows: list[dict[str, float]] | None = None):
        super().__init__()
        self.path = path
        self.rows = list(rows or [])
        self.completed = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row: dict[str, float] = {"epoch": epoch + 1}
        row.update({k: float(np.asarray(val)) for k, val in (logs or {}).items()})
        lr = getattr(self.model.optimizer, "learning_rate", None)
        if lr is not None and "learning_rate" not in row:
            row["learning_rate"] = float(np.asarray(lr))
        self.rows = [r for r in self.rows if r["epoch"] < epoch + 1] + [row]
        self.completed += 1
        if self.path is not None:
            write_history_csv(self.rows, self.path)

    def history(self) -> dict[str, list[float]]:
        """The rows as a dict of equal-length lists (``epoch`` first)."""
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        return {k: [r.get(k, float("nan")) for r in self.rows] for k in keys}


def write_history_csv(rows: list[dict[str, float]], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="nan")
        w.writeheader()
        w.writerows(rows)


def read_history_csv(path: Path) -> list[dict[str, float]]:
    if not Path(path).is_file():
        return []
    with open(path, newline="") as f:
        return [{k: (int(float(x)) if k == "epoch" else float(x)) for k, x in r.items()} for r in csv.DictReader(f)]


class BestModel(keras.callbacks.Callback):
    """Saves the model to ``path`` (atomically) whenever ``monitor`` improves."""

    def __init__(self, path: Path, monitor: str):
        super().__init__()
        self.path, self.monitor, self.best = path, monitor, math.inf

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)
            from .precision import stored_policies
            from .saving import save_model

            with stored_policies(self.model):  # saved as built, not in the training precision
                save_model(self.model, self.path)


def _callbacks(run_dir: Path | None, monitor: str, early_stopping: int | None, checkpoint: bool,
               resume: bool, user: Sequence[Any]) -> tuple[list[Any], RunLog]:
    rows: list[dict[str, float]] = []
    backup = None
    if run_dir is not None:
        path = run_dir / "backup"
        if not resume and path.exists():
            shutil.rmtree(path)
        if path.exists():
            rows = read_history_csv(run_dir / "history.csv")
        backup = keras.callbacks.BackupAndRestore(str(path), double_checkpoint=True)
    # The log comes first: at an epoch's end the row is written before the backup, so a kill in
    # between re-runs that epoch rather than losing its row.
    log = RunLog(run_dir / "history.csv" if run_dir is not None else None, rows)
    # The user's callbacks see the restored weights and may adjust the logs before early stopping
    # and checkpointing read them.
    cbs: list[Any] = [log] + ([backup] if backup else []) + list(user or [])
    cbs.append(keras.callbacks.TerminateOnNaN())
    if early_stopping:
        cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=early_stopping,
                                                 restore_best_weights=True))
    if run_dir is not None and checkpoint:
        cbs.append(BestModel(run_dir / "best.keras", monitor))
    return cbs, log


# --- distribution --------------------------------------------------------------------------------

def distribution_strategy(strategy: Any, fn: str = "fit_classifier") -> Any:
    """``None``; a ``tf.distribute.Strategy`` as given; or ``"mirrored"``: ``MultiWorkerMirroredStrategy``
    when ``TF_CONFIG`` is set, else ``MirroredStrategy`` over the local GPUs (without GPUs: over the
    logical CPU devices, one unless more were configured)."""
    import tensorflow as tf

    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    v.choice(strategy, "strategy", fn, STRATEGIES)
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def _replica(model: keras.Model, strategy: Any) -> keras.Model:
    """A copy of ``model`` whose variables live under ``strategy`` (same weights, same compile)."""
    with strategy.scope():
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        if getattr(model, "compiled", False):
            opt = model.optimizer.__class__.from_config(model.optimizer.get_config())
            compile_classifier(clone, optimizer=opt, loss=model.loss, steps_per_execution=model.steps_per_execution)
    return clone


# --- fit -----------------------------------------------------------------------------------------

def _steps_per_epoch(data: Any, batch_size: int, validation_split: float | None, fn: str) -> int:
    if is_dataset(data):
        n = int(data.cardinality())
        if n < 1:
            raise ValueError(f"{fn}(): `schedule`='cosine' needs a dataset of known length; "
                             "use schedule='constant' or a finite dataset.")
        return n
    n = len(data[0]) - (int(len(data[0]) * validation_split) if validation_split else 0)
    return max(1, math.ceil(n / batch_size))


def _acts_per_batch(callbacks: Sequence[Any]) -> bool:
    """Whether a callback overrides a per-batch training hook (it would run once per execution)."""
    hooks = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
    base = keras.callbacks.Callback
    return any(getattr(type(cb), h, None) is not getattr(base, h) for cb in callbacks for h in hooks)


def progress_verbosity(verbose: str | int = "auto") -> int:
    """``"auto"`` -> 1 (Keras' progress bar) on a terminal or in Jupyter, else 2 (one line per epoch:
    logs, knitr and CI would otherwise fill with partial bar lines); 0, 1, 2 as given."""
    if verbose != "auto":
        return verbose
    stream = sys.stdout
    interactive = (hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
    return 1 if interactive else 2


def _check_fit_args(model, epochs, batch_size, learning_rate, schedule, early_stopping, verbose, fn):
    if not isinstance(model, keras.Model):
        raise TypeError(f"{fn}(): `model` must be a Keras model, got {type(model).__name__}.")
    output_kind(model)
    epochs = v.positive_int(epochs, "epochs", fn)
    batch_size = v.positive_int(batch_size, "batch_size", fn)
    learning_rate = v.positive_number(learning_rate, "learning_rate", fn)
    schedule = v.choice(schedule, "schedule", fn, SCHEDULES)
    early_stopping = None if early_stopping in (None, False, 0) else v.positive_int(early_stopping, "early_stopping", fn)
    if isinstance(verbose, bool) or verbose not in VERBOSE:
        raise ValueError(f"{fn}(): `verbose` must be 'auto', 0 (silent), 1 (progress bar) or 2 (one line per epoch), "
                         f"got {verbose!r}.")
    return epochs, batch_size, learning_rate, schedule, early_stopping


def fit_classifier(
    model: keras.Model,
    data: Any,
    epochs: int = 10,
    validation_data: Any = None,
    validation_split: float | None = None,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    run_dir: str | os.PathLike | None = None,
    early_stopping: int | None = None,
    checkpoint: bool = True,
    resume: bool = True,
    strategy: Any = None,
    callbacks: Sequence[Any] | None = None,
    verbose: str | int = "auto",
    precision: str = "auto",
    steps_per_execution: int | str = "auto",
) -> dict[str, list[float]]:
    """Train a classifier with defaults that work, checking the data against the model first.

    The model is compiled if it is not yet (loss from the output layer, Adam at ``learning_rate``,
    ``schedule``); a compiled model keeps its optimizer. Labels are class ids ``0..n-1`` (0/1 for a
    1-unit sigmoid output). With ``run_dir``, a run killed at any point restarts from the last
    completed epoch when called again with the same ``run_dir`` (``BackupAndRestore``), the best
    model so far is kept in ``run_dir/best.keras`` and the history in ``run_dir/history.csv``.

    Args:
        model: a Keras classifier (e.g. ``simple_cnn()``, ``lenet5()``).
        data: ``(x, y)`` arrays (images ``(n, h, w, c)``, class ids ``(n,)``) or a batched
            ``tf.data.Dataset`` of ``(images, labels)`` (e.g. ``image_folder(...)["train"]``).
        epochs: number of passes over the data (>= 1).
        validation_data: ``(x, y)`` or a dataset to validate on after each epoch.
        validation_split: with arrays, the fraction (the last images) held out instead.
        batch_size: images per step (arrays only; a dataset is already batched).
        learning_rate: peak step size, used when the model is compiled here.
        schedule: ``"constant"`` or ``"cosine"`` (warm-up, then cosine decay: one cycle).
        run_dir: a folder for the backup, ``best.keras`` and ``history.csv`` (``None``: no files).
        early_stopping: stop after this many epochs without improvement of the validation loss
            (training loss without validation data) and restore the best weights; ``None``: off.
        checkpoint: keep the best model in ``run_dir/best.keras``.
        resume: continue from a backup in ``run_dir`` if one is there (``False``: start afresh).
        strategy: ``None``, ``"mirrored"`` or a ``tf.distribute.Strategy``; the model is copied into
            the strategy's scope, trained there, and its weights copied back into ``model``.
        callbacks: more Keras callbacks.
        verbose: ``"auto"`` (a progress bar on a terminal or in Jupyter, one line per epoch in
            logs and knitr), 0 (silent), 1 (progress bar) or 2 (one line per epoch).
        precision: ``"auto"`` (mixed bfloat16 for convolution-heavy models where the CPU has
            AMX-BF16 or the GPU compute capability >= 8.0, else float32), ``"float32"`` or
            ``"mixed_bfloat16"``. Only while training: the weights stay float32, the output layer
            computes in float32, and the model (and ``best.keras``) keep the layers' own policies.
        steps_per_execution: training steps per call into TensorFlow while fitting (``"auto"``: 32
            for models under a million parameters, else 1; 1 with a ``strategy`` or with callbacks
            that act per batch; a model compiled with its own value keeps it). With more than 1,
            callbacks' per-batch hooks run once per execution.

    Returns:
        The history: a dict of equal-length lists, ``epoch`` (from 1) then ``loss``, ``accuracy``,
        ``val_loss``, ..., ``learning_rate``; a resumed run includes the epochs before the kill.

    Example:
        >>> d = load_fashion_mnist(n=2000)
        >>> h = fit_classifier(simple_cnn((28, 28, 1), num_classes=10), (d["x_train"], d["y_train"]),
        ...                    epochs=2, verbose=0)
        >>> h["epoch"]
        [1, 2]
    """
    fn = "fit_classifier"
    epochs, batch_size, learning_rate, schedule, early_stopping = _check_fit_args(
        model, epochs, batch_size, learning_rate, schedule, early_stopping, verbose, fn)
    validation_split = v.fraction(validation_split, "validation_split", fn)
    v.choice(precision, "precision", fn, PRECISIONS)
    if steps_per_execution != "auto":
        steps_per_execution = v.positive_int(steps_per_execution, "steps_per_execution", fn)
    data = check_data(model, data, "data", fn)
    if validation_data is not None:
        validation_data = check_data(model, validation_data, "validation_data", fn)
    if validation_split and is_dataset(data):
        raise ValueError(f"{fn}(): `validation_split` works with (x, y) arrays only; "
                         "pass `validation_data` with a dataset (image_folder(..., validation_split=) makes one).")
    strategy = distribution_strategy(strategy, fn)
    created = isinstance(run_dir, (str, os.PathLike)) and not Path(run_dir).expanduser().exists()
    run_path = writable_dir(run_dir, "run_dir", fn) if run_dir is not None else None
    monitor = "val_loss" if (validation_data is not None or validation_split) else "loss"
    cbs, log = _callbacks(run_path, monitor, early_stopping, bool(checkpoint), bool(resume), callbacks or [])
    if not getattr(model, "compiled", False):
        steps = epochs * _steps_per_epoch(data, batch_size, validation_split, fn) if schedule == "cosine" else 0
        compile_classifier(model, learning_rate=learning_rate_schedule(learning_rate, schedule, steps))
    trained = _replica(model, strategy) if strategy is not None else model
    fit_args = dict(epochs=epochs, validation_data=validation_data, callbacks=cbs,
                    verbose=progress_verbosity(verbose))
    if is_dataset(data):
        fit_args.update(x=data, shuffle=False)  # a dataset shuffles itself (image_folder() does)
    else:
        fit_args.update(x=data[0], y=data[1], batch_size=batch_size, validation_split=validation_split or 0.0)
    try:
        if steps_per_execution == "auto" and (strategy is not None or _acts_per_batch(callbacks or [])):
            steps_per_execution = 1  # per-batch hooks run once per execution; tf.distribute fails with more
        with _precision(trained, precision, fn), _steps(trained, steps_per_execution, fn):
            trained.fit(**fit_args)
    except BaseException:
        if created and log.completed == 0:
            shutil.rmtree(run_path, ignore_errors=True)
        raise
    if trained is not model:
        model.set_weights(trained.get_weights())
    return log.history()


# --- the history ---------------------------------------------------------------------------------

def _history_dict(history: Any, fn: str) -> dict[str, list[float]]:
    if hasattr(history, "history") and isinstance(history.history, dict):  # a keras History
        h = dict(history.history)
        n = len(next(iter(h.values()), []))
        h.setdefault("epoch", [e + 1 for e in getattr(history, "epoch", range(n))])
        return h
    if not isinstance(history, dict) or "loss" not in history:
        raise TypeError(f"{fn}(): `history` must be what fit_classifier() returns (a dict with 'loss'), or a Keras "
                        f"History; got {type(history).__name__}.")
    h = {k: list(np.atleast_1d(np.asarray(val, dtype="float64"))) for k, val in history.items()}
    if len({len(val) for val in h.values()}) != 1 or not h["loss"]:
        raise ValueError(f"{fn}(): `history` must hold equal-length, non-empty lists, got lengths "
                         f"{ {k: len(val) for k, val in h.items()} }.")
    h.setdefault("epoch", list(range(1, len(h["loss"]) + 1)))
    return h


def plot_history(history: Any, file: str | os.PathLike = "history.png") -> str:
    """Plot loss and accuracy (training and validation) per epoch to an image file.

    Args:
        history: the dict :func:`fit_classifier` returns (in R: the data frame), or a Keras History.
        file: ``.png``, ``.pdf``, ``.svg`` or ``.jpg``; written atomically.

    Returns:
        The path written.

    Example:
        >>> plot_history(fit_classifier(model, data, epochs=5), "history.png")  # doctest: +SKIP
    """
    from ._plot import check_target, new_figure, save_figure

    fn = "plot_history"
    h = _history_dict(history, fn)
    target = check_target(file, fn)
    panels = [m for m in ("loss", "accuracy") if m in h]
    fig = new_figure(5.0 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, metric in zip(axes, panels):
        ax.plot(h["epoch"], h[metric], "o-", label="training")
        if f"val_{metric}" in h:
            ax.plot(h["epoch"], h[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
        if len(h["epoch"]) <= 20:
            ax.set_xticks(h["epoch"])
    return save_figure(fig, target)
