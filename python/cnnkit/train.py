"""Training: compile a classifier with the loss its output layer implies, and fit it.

``fit_classifier()`` is the one call for the common path: it compiles the model if needed, checks the
data against the model before any work is done, shows Keras' progress bar, and with a ``run_dir``
keeps a run that can be killed and resumed (``BackupAndRestore``), the best model so far
(``best.keras``) and the history (``history.csv``), all written atomically. ``strategy="mirrored"``
trains with ``tf.distribute``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from . import contract
from ._data_checks import check_data, dataset_errors, is_dataset, model_classes, resolve_data
from ._execution import fused_batchnorm, steps_per_call
from ._files import atomic_path
from ._lang import code
from ._model_info import leaf_layers, output_activation
from ._plot import check_target, finish, new_figure
from .distribute import ChiefState, broadcast_from_chief, distribution_strategy, is_chief, is_multi_worker
from .distribute import keras_multi_worker_fixes
from .features import cache, for_whole_model
from .keras_compat import set_initial_epoch
from .precision import PRECISIONS, computing_in, stored_policies
from .rundir import RunFinishedWarning, data_fingerprint, model_fingerprint, run_directory, usable_backup
from .saving import _attach, save_model

SCHEDULES = ("constant", "cosine")
VERBOSE = ("auto", 0, 1, 2)
HISTORY = "history.csv"
FINAL_WEIGHTS = "model.weights.h5"
BN_SETTLE = 20  # recalibrate_bn="auto": moving averages that saw fewer than 20 / (1 - momentum) steps
BN_IMAGES = 10_000  # training images that re-estimate the BatchNormalization statistics


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
    kind, _ = model_classes(model, fn)
    learning_rate = v.learning_rate(learning_rate, "learning_rate", fn, schedule=True)
    optimizer = _optimizer(optimizer, learning_rate, fn)
    metrics = _metrics(metrics, fn)
    if loss is None:
        logits = output_activation(model) in (None, "linear")
        if kind == "binary":
            loss = keras.losses.BinaryCrossentropy(from_logits=True) if logits else "binary_crossentropy"
        else:
            loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if logits
                    else "sparse_categorical_crossentropy")
    else:
        _loss(loss, fn)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
    return model


def _optimizer(optimizer: Any, learning_rate: Any, fn: str) -> keras.optimizers.Optimizer:
    """A Keras optimizer from a name (at ``learning_rate``) or as given; anything else names `optimizer`."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    if not isinstance(optimizer, str) or not optimizer:
        raise TypeError(f"{fn}(): `optimizer` must be a Keras optimizer name such as 'adam' or 'sgd', or an "
                        f"optimizer object, got {optimizer!r} ({type(optimizer).__name__}).")
    try:
        return keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    except (ValueError, TypeError):
        raise ValueError(f"{fn}(): `optimizer` {optimizer!r} is not a Keras optimizer; use e.g. 'adam' or 'sgd'.") from None


def _metrics(metrics: Any, fn: str) -> list[Any]:
    """Metrics as a list: one name or metric alone is a list of one (a string is not split into letters)."""
    if isinstance(metrics, (str, keras.metrics.Metric)) or _function(metrics):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"{fn}(): `metrics` must be a list of metric names (e.g. ['accuracy']) or Keras metrics, "
                        f"got {metrics!r} ({type(metrics).__name__}).")
    for m in metrics:
        if not (isinstance(m, (str, keras.metrics.Metric)) or _function(m)) or m == "":
            raise TypeError(f"{fn}(): `metrics` must hold metric names or Keras metrics, got {m!r} "
                            f"({type(m).__name__}) in it.")
        if isinstance(m, str) and m not in ("acc", "crossentropy", "ce"):  # names compile() reads itself
            try:
                keras.metrics.get(m)
            except (ValueError, TypeError):
                raise ValueError(f"{fn}(): `metrics` entry {m!r} is not a Keras metric; use e.g. 'accuracy'.") from None
    return list(metrics)


def _function(x: Any) -> bool:
    """A plain function (a metric or loss written by hand), not a layer or model (also callable)."""
    return callable(x) and not isinstance(x, (str, keras.layers.Layer))


def _loss(loss: Any, fn: str) -> None:
    """A loss Keras knows: a name, a ``keras.losses.Loss`` or a function."""
    if isinstance(loss, keras.losses.Loss) or _function(loss):
        return
    if not isinstance(loss, str) or not loss:
        raise TypeError(f"{fn}(): `loss` must be None (the loss the output layer implies), a Keras loss name such "
                        f"as 'sparse_categorical_crossentropy', or a loss object, got {loss!r} ({type(loss).__name__}).")
    try:
        keras.losses.get(loss)
    except (ValueError, TypeError):
        raise ValueError(f"{fn}(): `loss` {loss!r} is not a Keras loss; use e.g. 'sparse_categorical_crossentropy' "
                         "or leave it None.") from None


def check_callbacks(callbacks: Any, fn: str) -> list[Any]:
    """``None``, one Keras callback or a list of them, as a list; anything else names `callbacks`."""
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        return [callbacks]
    if isinstance(callbacks, (list, tuple)) and all(isinstance(cb, keras.callbacks.Callback) for cb in callbacks):
        return list(callbacks)
    raise TypeError(f"{fn}(): `callbacks` must be a list of Keras callbacks (keras.callbacks.Callback), got "
                    f"{callbacks!r} ({type(callbacks).__name__}).")


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


TEXT_COLUMNS = ("phase",)  # history columns that hold words (fine_tune()'s "head", "fine_tune"), not numbers


def read_history_csv(path: Path, fn: str | None = None) -> list[dict[str, float]]:
    """The rows of a run's ``history.csv``; a cell that is not what cnnkit wrote there (a number, or a
    word in a :data:`TEXT_COLUMNS` column) is a ``ValueError`` naming the file, the row and the column
    (and ``fn``, the function that read it)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as f:
        return [{k: _history_value(x, k, i, path, fn) for k, x in r.items()}
                for i, r in enumerate(csv.DictReader(f), 1)]


def _history_value(x: Any, column: Any, row: int, path: Path, fn: str | None) -> float | str:
    if column in TEXT_COLUMNS:
        return x
    try:
        value = float(x)
        return int(value) if column == "epoch" else value
    except (TypeError, ValueError):
        raise ValueError(f"{fn + '(): ' if fn else ''}the run's history file {str(path)!r} has {x!r} in row {row}, "
                         f"column {column!r}, where cnnkit "
                         "wrote a number: the file was edited or damaged. Restore it, or start the run afresh "
                         f"with {code('overwrite=True', 'overwrite = TRUE')} (CLI: --overwrite).") from None


class BestModel(keras.callbacks.Callback):
    """Saves ``whole`` (the model being trained, or the model whose head is: see ``cnnkit.features``)
    to ``path`` (atomically) whenever ``monitor`` improves."""

    def __init__(self, path: Path, monitor: str, whole: keras.Model):
        super().__init__()
        self.path, self.monitor, self.best, self.whole = path, monitor, math.inf, whole

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)

            with stored_policies(self.whole):  # saved as built, not in the training precision
                save_model(self.whole, self.path)


def _callbacks(run_path: Path | None, strategy: Any, monitor: str, early_stopping: int | None,
               checkpoint: bool, user: Sequence[Any], whole: keras.Model) -> tuple[list[Any], RunLog]:
    # The log comes first: at an epoch's end the row is written before the backup, so a kill in
    # between re-runs that epoch rather than losing its row. A resumed run keeps its earlier rows.
    rows = read_history_csv(run_path / HISTORY) if run_path is not None else []
    log = RunLog(run_path / HISTORY if run_path is not None else None, rows)
    cbs: list[Any] = [log]
    if run_path is not None:  # kept at the end: removed once the final weights are written
        cbs.append(keras.callbacks.BackupAndRestore(str(run_path / "backup"), double_checkpoint=True,
                                                    delete_checkpoint=False))
    if is_multi_worker(strategy):
        cbs.append(ChiefState(strategy))  # after the chief's restore: every worker takes its state
    # The user's callbacks see the restored weights and may adjust the logs before early stopping
    # and checkpointing read them.
    cbs += list(user or [])
    cbs.append(keras.callbacks.TerminateOnNaN())
    if early_stopping:
        cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=early_stopping,
                                                 restore_best_weights=True))
    if run_path is not None and checkpoint:
        cbs.append(BestModel(run_path / "best.keras", monitor, whole))
    return cbs, log


def _replica(model: keras.Model, strategy: Any) -> keras.Model:
    """A copy of ``model`` whose variables live under ``strategy`` (same weights, same compile)."""
    with strategy.scope():
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        if getattr(model, "compiled", False):
            opt = model.optimizer.__class__.from_config(model.optimizer.get_config())
            compile_classifier(clone, optimizer=opt, loss=model.loss, steps_per_execution=model.steps_per_execution)
    return clone


# --- BatchNormalization statistics ---------------------------------------------------------------

def _updating_batchnorm(model: keras.Model) -> list[keras.layers.Layer]:
    """The BatchNormalization layers that update their moving statistics in training (trainable ones;
    a frozen layer, or one in a backbone called with ``training=False``, keeps its statistics)."""
    return [layer for layer in leaf_layers(model) if isinstance(layer, keras.layers.BatchNormalization)
            and layer.trainable]


def needs_recalibration(model: keras.Model, recalibrate: Any = "auto") -> bool:
    """``"auto"``: whether the moving statistics of the model's BatchNormalization layers lag behind,
    i.e. the optimizer has taken fewer than ``BN_SETTLE / (1 - momentum)`` steps (2,000 at Keras'
    momentum of 0.99: short runs, whose moving averages still remember their start values)."""
    layers = _updating_batchnorm(model)
    if recalibrate != "auto" or not layers:
        return bool(recalibrate) and bool(layers)
    steps = int(np.asarray(model.optimizer.iterations)) if model.optimizer is not None else 0
    return steps < BN_SETTLE / (1 - max(layer.momentum for layer in layers))


def _image_batches(data: Any, batch_size: int, validation_split: float | None, limit: int):
    """Up to ``limit`` training images in batches: an evenly drawn (seeded) sample of the arrays (the
    validation part left out), or the first batches of a dataset."""
    if is_dataset(data):
        seen = 0
        for element in data:
            x = element[0] if isinstance(element, (tuple, list)) else element
            yield x
            seen += int(x.shape[0])
            if seen >= limit:
                return
        return
    x = data[0]
    n = len(x) - (int(len(x) * validation_split) if validation_split else 0)
    idx = np.sort(np.random.default_rng(0).permutation(n)[:limit])
    for i in range(0, len(idx), batch_size):
        yield x[idx[i:i + batch_size]]


def recalibrate_batchnorm(model: keras.Model, data: Any, batch_size: int = 128,
                          validation_split: float | None = None, max_images: int = BN_IMAGES) -> int:
    """Re-estimate the moving mean and variance of the BatchNormalization layers that train, as the
    average over up to ``max_images`` training images (the model run in training mode, each batch
    weighted by its size: "precise BatchNorm"). Returns the number of images used (0: no such layer).

    Keras' moving averages (momentum 0.99) need thousands of steps to forget their start values and
    follow weights that change fast early in training; after a short run they are far off, and a
    model with 96 % training accuracy can score at chance level on the test set.
    """
    layers = _updating_batchnorm(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    seen = 0
    try:
        for x in _image_batches(data, batch_size, validation_split, max_images):
            n = int(x.shape[0])
            for layer in layers:
                layer.momentum = seen / (seen + n)
            model(x, training=True)
            seen += n
    finally:
        for layer, m in zip(layers, momenta):
            layer.momentum = m
    return seen


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


@dataclasses.dataclass
class FitPlan:
    """The arguments of one training run, checked (see :func:`fit_classifier`)."""

    epochs: int
    initial_epoch: int = 0
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "constant"
    optimizer: Any = "adam"
    validation_split: float | None = None
    early_stopping: int | None = None
    checkpoint: bool = True
    overwrite: bool = False
    verbose: Any = "auto"
    precision: str = "auto"
    steps_per_execution: Any = "auto"
    recalibrate_bn: Any = "auto"
    cache_features: Any = "auto"

    def settings(self, model: keras.Model, data: Any, validation_data: Any) -> dict[str, Any]:
        """What a resumed run must share with the run it continues (recorded in ``run.json``)."""
        keep = ("epochs", "initial_epoch", "batch_size", "learning_rate", "schedule", "validation_split",
                "early_stopping", "precision", "recalibrate_bn", "cache_features")
        out = {k: getattr(self, k) for k in keep}
        out["optimizer"] = type(model.optimizer).__name__ if model.optimizer is not None else self.optimizer
        out.update(model=model_fingerprint(model), data=data_fingerprint(data),
                   validation=data_fingerprint(validation_data))
        return out


def _overwrite(overwrite: Any, resume: Any, fn: str) -> bool:
    overwrite = v.flag(overwrite, "overwrite", fn)
    if resume is not None:
        warnings.warn(f"{fn}(): `resume` is deprecated: a run directory is always resumed; pass "
                      f"overwrite=True to start afresh (resume=False does that now).", FutureWarning, stacklevel=3)
        overwrite = overwrite or not v.flag(resume, "resume", fn)
    return overwrite


def check_fit_args(model: Any, fn: str, epochs: Any, built: bool = True, **kw: Any) -> FitPlan:
    """Check :func:`fit_classifier`'s arguments (also used by :func:`fine_tune` and
    :func:`train_classifier`) and return them as a :class:`FitPlan`. ``built=False``: the model is
    not built yet (named, in :func:`train_classifier`), so only the other arguments are checked."""
    if built:
        model_classes(model, fn)
    plan = FitPlan(epochs=v.epochs(epochs, "epochs", fn), **kw)
    plan.initial_epoch = v.positive_int(plan.initial_epoch, "initial_epoch", fn, minimum=0)
    plan.batch_size = v.positive_int(plan.batch_size, "batch_size", fn)
    plan.learning_rate = v.learning_rate(plan.learning_rate, "learning_rate", fn)
    plan.schedule = v.choice(plan.schedule, "schedule", fn, SCHEDULES)
    if not isinstance(plan.optimizer, keras.optimizers.Optimizer):
        _optimizer(plan.optimizer, plan.learning_rate, fn)  # a name Keras knows, even if the model is compiled
    plan.validation_split = v.fraction(plan.validation_split, "validation_split", fn)
    es = plan.early_stopping
    plan.early_stopping = None if es is None or es is False or (v._is_intlike(es) and int(es) == 0) \
        else v.positive_int(es, "early_stopping", fn)
    plan.checkpoint = v.flag(plan.checkpoint, "checkpoint", fn)
    plan.verbose = v.choice(plan.verbose, "verbose", fn, VERBOSE)
    v.choice(plan.precision, "precision", fn, PRECISIONS)
    if not (isinstance(plan.steps_per_execution, str) and plan.steps_per_execution == "auto"):
        plan.steps_per_execution = v.positive_int(plan.steps_per_execution, "steps_per_execution", fn)
    plan.recalibrate_bn = v.choice(plan.recalibrate_bn, "recalibrate_bn", fn, ("auto", True, False))
    plan.cache_features = v.choice(plan.cache_features, "cache_features", fn, ("auto", True, False))
    return plan


CLASS_ID_LOSSES = {"binary": ("binary_crossentropy", "binary_focal_crossentropy", "BinaryCrossentropy",
                               "BinaryFocalCrossentropy"),
                    "multiclass": ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")}


def check_compiled_loss(model: keras.Model, fn: str) -> None:
    """A model the user compiled keeps its loss; refuse one that cannot take class ids (``"mse"``,
    ``"categorical_crossentropy"``: one-hot labels) before any work. Functions and other loss objects
    are the user's own: trusted."""
    loss = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, keras.losses.Loss) and type(loss).__module__.split(".")[0] == "keras":
        name = type(loss).__name__
    else:  # none, or the user's own function or loss class
        return
    kind, _ = model_classes(model, fn)
    if name in CLASS_ID_LOSSES[kind]:
        return
    want = CLASS_ID_LOSSES[kind][0]
    raise ValueError(f"{fn}(): `model` was compiled with loss {name!r}, which does not take class ids (0, 1, ...) as "
                     f"cnnkit's labels are; compile it with loss={want!r} (compile_classifier(model) does), or leave it "
                     "uncompiled and fit_classifier() compiles it.")


def fit_classifier(
    model: keras.Model,
    data: Any,
    epochs: int = 10,
    validation_data: Any = None,
    validation_split: float | None = None,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    optimizer: str | keras.optimizers.Optimizer = "adam",
    run_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    early_stopping: int | None = None,
    checkpoint: bool = True,
    strategy: Any = None,
    callbacks: Sequence[Any] | None = None,
    verbose: str | int = "auto",
    precision: str = "auto",
    steps_per_execution: int | str = "auto",
    recalibrate_bn: bool | str = "auto",
    cache_features: bool | str = "auto",
    initial_epoch: int = 0,
    resume: bool | None = None,
) -> dict[str, list[float]]:
    """Train a classifier with defaults that work, checking the data against the model first.

    The one training engine of cnnkit: :func:`fine_tune`, :func:`train_classifier` and
    ``cnnkit train`` all train through it. The model is compiled if it is not yet (loss from the
    output layer, ``optimizer`` at ``learning_rate``, ``schedule``); a compiled model keeps its
    optimizer. Labels are class ids ``0..n-1`` (0/1 for a 1-unit sigmoid output). Class names that
    the data carries (R factor levels, :func:`image_folder`'s folders) are remembered on the model,
    so :func:`predict_classes`, :func:`evaluate_classifier` and :func:`save_model` use them.

    With ``run_dir`` (see ``cnnkit.rundir``): a run killed at any point restarts from its last
    completed epoch when called again with the same ``run_dir`` and settings (``BackupAndRestore``;
    other settings are an error that lists them); a finished run is not trained again (its final
    weights are loaded, with a warning) unless ``overwrite=True``; the history is kept in
    ``history.csv``, the best model in ``best.keras``, the final weights in ``model.weights.h5``,
    the settings in ``run.json``; a second process on the same folder gets a clear error.

    Args:
        model: a Keras classifier (e.g. ``simple_cnn()``, ``lenet5()``).
        data: ``(x, y)`` arrays (images ``(n, h, w, c)``, class ids ``(n,)``), a dict with ``x``, ``y``
            and optionally ``class_names``, or a batched ``tf.data.Dataset`` of ``(images, labels)``
            (e.g. ``image_folder(...)["train"]``).
        epochs: number of passes over the data in this call (1 to 10,000).
        validation_data: ``(x, y)`` or a dataset to validate on after each epoch.
        validation_split: with arrays, the fraction (the last images) held out instead.
        batch_size: images per step, over all replicas (arrays only; a dataset is already batched).
        learning_rate: peak step size, used when the model is compiled here.
        schedule: ``"constant"`` or ``"cosine"`` (warm-up, then cosine decay: one cycle).
        optimizer: a Keras optimizer name or instance, used when the model is compiled here.
        run_dir: a folder for the run's files (``None``: no files).
        overwrite: discard what ``run_dir`` holds and train afresh.
        early_stopping: stop after this many epochs without improvement of the validation loss
            (training loss without validation data) and restore the best weights; ``None``: off.
        checkpoint: keep the best model in ``run_dir/best.keras``.
        strategy: ``None``, ``"mirrored"`` or a ``tf.distribute.Strategy`` (see
            :func:`distribution_strategy`); the model is copied into the strategy's scope, trained
            there, and its weights copied back into ``model``. With several workers only the chief
            writes ``run_dir``, and ``batch_size`` is split across them.
        callbacks: more Keras callbacks.
        verbose: ``"auto"`` (a progress bar on a terminal or in Jupyter, one line per epoch in
            logs and knitr; silent on non-chief workers), 0 (silent), 1 (progress bar) or 2.
        precision: ``"auto"`` (mixed bfloat16 for convolution-heavy models where the CPU has
            AMX-BF16 or the GPU compute capability >= 8.0, else float32), ``"float32"`` or
            ``"mixed_bfloat16"``. Only while training: the weights stay float32, the output layer
            computes in float32, and the model (and ``best.keras``) keep the layers' own policies.
        steps_per_execution: training steps per call into TensorFlow while fitting (``"auto"``: 32
            for models under a million parameters, else 1; 1 with a ``strategy`` or with callbacks
            that act per batch; a model compiled with its own value keeps it).
        recalibrate_bn: re-estimate the BatchNormalization moving statistics on up to 10,000
            training images at the end (:func:`recalibrate_batchnorm`): ``"auto"`` when the run was
            too short for Keras' moving averages to settle (fewer than 2,000 steps at momentum
            0.99), ``True`` always, ``False`` never.
        cache_features: ``"auto"``: when the model starts with a frozen part (a backbone for feature
            extraction) that gives the same output every epoch, compute that part once for all
            images and train the rest on its output (see ``cnnkit.features``; a line says so);
            ``False``: the whole model every epoch.
        initial_epoch: number the epochs from ``initial_epoch + 1`` (continuing earlier training,
            as :func:`fine_tune`'s second phase does).
        resume: deprecated; runs are always resumed (``resume=False`` means ``overwrite=True``).

    Returns:
        The history: a dict of equal-length lists, ``epoch`` then ``loss``, ``accuracy``,
        ``val_loss``, ..., ``learning_rate``; a resumed run includes the epochs before the kill.

    Example:
        >>> d = load_fashion_mnist(n=200)
        >>> h = fit_classifier(simple_cnn((28, 28, 1), num_classes=10), (d["x_train"], d["y_train"]),
        ...                    epochs=2, verbose=0)
        >>> h["epoch"]
        [1, 2]
    """
    fn = "fit_classifier"
    plan = check_fit_args(model, fn, epochs, initial_epoch=initial_epoch, batch_size=batch_size,
                          learning_rate=learning_rate, schedule=schedule, optimizer=optimizer,
                          validation_split=validation_split, early_stopping=early_stopping, checkpoint=checkpoint,
                          overwrite=_overwrite(overwrite, resume, fn), verbose=verbose, precision=precision,
                          steps_per_execution=steps_per_execution, recalibrate_bn=recalibrate_bn,
                          cache_features=cache_features)
    check_compiled_loss(model, fn)
    data, names = resolve_data(model, data, "data", fn)
    data = check_data(model, data, "data", fn)
    if validation_data is not None:
        validation_data = check_data(model, validation_data, "validation_data", fn)
    contract.record(model, data, fn)  # the value range trained on travels with the model
    if validation_data is not None:
        contract.check(model, validation_data, fn, "validation_data")
    if plan.validation_split and is_dataset(data):
        raise ValueError(f"{fn}(): `validation_split` works with (x, y) arrays only; "
                         "pass `validation_data` with a dataset (image_folder(..., validation_split=) makes one).")
    callbacks = check_callbacks(callbacks, fn)
    strategy = distribution_strategy(strategy, fn)
    history = run_fit(model, data, validation_data, plan, run_dir, strategy, callbacks, fn)
    if names:
        _attach(model, names)
    return history


def run_fit(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan, run_dir: Any, strategy: Any,
            callbacks: Sequence[Any], fn: str, recompile: bool = False) -> dict[str, list[float]]:
    """The engine under :func:`fit_classifier` (and :func:`fine_tune`'s phases), its arguments checked:
    compile if needed (or with ``recompile``), open the run directory (the chief only), train or load
    a finished run, and finish it."""
    if recompile or not getattr(model, "compiled", False):
        steps = plan.epochs * _steps_per_epoch(data, plan.batch_size, plan.validation_split, fn) \
            if plan.schedule == "cosine" else 0
        compile_classifier(model, learning_rate=learning_rate_schedule(plan.learning_rate, plan.schedule, steps),
                           optimizer=plan.optimizer)
    if run_dir is None or not is_chief(strategy):
        return _train(model, data, validation_data, plan, None, strategy, callbacks, fn)
    with run_directory(run_dir, fn, plan.overwrite) as rd:
        rd.start("fit", plan.settings(model, data, validation_data))
        if rd.finished("fit"):
            if not is_multi_worker(strategy):
                return _load_finished(model, rd, fn)
            _load_weights(model, rd.path / FINAL_WEIGHTS)  # the other workers follow the chief's epoch
            _train(model, data, validation_data, plan, None, strategy, callbacks, fn, finished=True)
            return RunLog(None, read_history_csv(rd.path / HISTORY, fn)).history()
        usable_backup(rd.path, fn)  # a kill while the backup was written: the one before, or none
        history = _train(model, data, validation_data, plan, rd.path, strategy, callbacks, fn)
        with atomic_path(rd.path / FINAL_WEIGHTS) as tmp:
            model.save_weights(tmp)
        rd.finish("fit", epochs=len(history["epoch"]))
        rd.discard("backup", strict=False)
    return history


def _load_weights(model: keras.Model, path: Path) -> None:
    with warnings.catch_warnings():  # the file has the optimizer's state too; only the weights matter here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)


def _load_finished(model: keras.Model, rd: Any, fn: str) -> dict[str, list[float]]:
    _load_weights(model, rd.path / FINAL_WEIGHTS)
    rows = read_history_csv(rd.path / HISTORY, fn)
    warnings.warn(f"{fn}(): `run_dir` {str(rd.path)!r} holds a finished run ({len(rows)} epochs): its final "
                  "weights were loaded and nothing was trained. To train again, pass overwrite=True "
                  "(R: overwrite = TRUE; CLI: --overwrite) or use another run_dir.", RunFinishedWarning, stacklevel=4)
    return RunLog(None, rows).history()


def _train(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan, run_path: Path | None,
           strategy: Any, callbacks: Sequence[Any], fn: str, finished: bool = False) -> dict[str, list[float]]:
    trained = _replica(model, strategy) if strategy is not None else model
    monitor = "val_loss" if (validation_data is not None or plan.validation_split) else "loss"
    verbose = 0 if plan.verbose == "auto" and not is_chief(strategy) else progress_verbosity(plan.verbose)
    steps = plan.steps_per_execution
    if steps == "auto" and (strategy is not None or _acts_per_batch(callbacks)):
        steps = 1  # per-batch hooks run once per execution; tf.distribute fails with more
    with dataset_errors():  # a dataset's guard (labels, NaN) fails while it is read: a ValueError
        cached = None if finished else cache(trained, data, validation_data, plan.batch_size, plan.precision,
                                             strategy, plan.cache_features, verbose != 0, fn)
    fitted, fit_data, fit_validation = trained, data, validation_data
    if cached is not None:  # train the head on the frozen part's features; callbacks still see the model
        fitted, fit_data, fit_validation = cached.head, cached.data, cached.validation_data
        fitted.compile(optimizer=trained.optimizer, loss=trained.loss, metrics=["accuracy"])
        callbacks = for_whole_model(callbacks, trained)
    cbs, log = _callbacks(run_path, strategy, monitor, plan.early_stopping, plan.checkpoint, callbacks, trained)
    end = plan.initial_epoch + plan.epochs
    fit_args = dict(epochs=end, initial_epoch=plan.initial_epoch, validation_data=fit_validation, callbacks=cbs,
                    verbose=verbose)
    if is_dataset(fit_data):
        fit_args.update(x=fit_data, shuffle=False)  # a dataset shuffles itself (image_folder() does)
    else:
        fit_args.update(x=fit_data[0], y=fit_data[1], batch_size=plan.batch_size,
                        validation_split=plan.validation_split or 0.0)
    set_initial_epoch(fitted, end if finished else None)
    try:
        with dataset_errors(), computing_in(fitted, plan.precision, fn), steps_per_call(fitted, steps, fn), \
                fused_batchnorm(fitted, inference=False), keras_multi_worker_fixes(fitted, strategy):
            fitted.fit(**fit_args)
    finally:
        set_initial_epoch(fitted, None)  # Keras keeps a restored epoch on the model for its next fit()
    if not finished and needs_recalibration(trained, plan.recalibrate_bn):
        with dataset_errors():
            recalibrate_batchnorm(trained, data, plan.batch_size, plan.validation_split)
    if is_multi_worker(strategy):
        broadcast_from_chief(trained, strategy)  # BatchNormalization statistics differ between workers
    if trained is not model:
        model.set_weights(trained.get_weights())
    return log.history()


# --- the history ---------------------------------------------------------------------------------

def _history_dict(history: Any, fn: str) -> dict[str, list[float]]:
    if isinstance(history, (str, os.PathLike)):  # a run's history.csv, or the run directory holding it
        path = Path(history).expanduser()
        path = path / HISTORY if path.is_dir() else path
        if not path.is_file():
            raise ValueError(f"{fn}(): `history` {str(path)!r} does not exist; pass what fit_classifier() returns, "
                             "a run directory or its history.csv.")
        rows = read_history_csv(path, fn)
        if not rows:
            raise ValueError(f"{fn}(): `history` {str(path)!r} holds no epochs yet.")
        return _history_dict({k: [r.get(k, float("nan")) for r in rows] for k in rows[0]}, fn)
    if hasattr(history, "history") and isinstance(history.history, dict):  # a keras History
        h = dict(history.history)
        n = len(next(iter(h.values()), []))
        h.setdefault("epoch", [e + 1 for e in getattr(history, "epoch", range(n))])
        return h
    if not isinstance(history, dict) or "loss" not in history:
        raise TypeError(f"{fn}(): `history` must be what fit_classifier() returns (a dict with 'loss'), a Keras "
                        f"History, or a run directory or its history.csv; got {type(history).__name__}.")
    phase = history.get("phase")  # fine_tune()'s phases: text, drawn as a boundary, not a curve
    h = {k: list(np.atleast_1d(np.asarray(val, dtype="float64"))) for k, val in history.items() if k != "phase"}
    if phase is not None:
        h["phase"] = [str(p) for p in np.atleast_1d(np.asarray(phase, dtype=object))]
    if len({len(val) for val in h.values()}) != 1 or not h["loss"]:
        raise ValueError(f"{fn}(): `history` must hold equal-length, non-empty lists, got lengths "
                         f"{ {k: len(val) for k, val in h.items()} }.")
    h.setdefault("epoch", list(range(1, len(h["loss"]) + 1)))
    return h


def plot_history(history: Any, file: str | os.PathLike | None = None) -> Any:
    """Plot loss and accuracy (training and validation) per epoch.

    Args:
        history: the dict :func:`fit_classifier` returns (in R: the data frame), a Keras History, or
            a run directory (``run_dir``) or its ``history.csv``.
        file: ``None`` (the default) returns the matplotlib ``Figure`` (Jupyter shows it inline);
            a ``.png``, ``.pdf``, ``.svg`` or ``.jpg`` path writes it there (atomically) instead.

    Returns:
        The ``Figure`` (``file=None``) or the path written.

    Example:
        >>> fig = plot_history({"epoch": [1, 2, 3], "loss": [0.9, 0.6, 0.5], "accuracy": [0.6, 0.8, 0.85]})
        >>> [ax.get_title() for ax in fig.axes]
        ['Loss', 'Accuracy']
    """

    fn = "plot_history"
    h = _history_dict(history, fn)
    target = check_target(file, fn)
    panels = [m for m in ("loss", "accuracy") if m in h]
    fig = new_figure(5.0 * len(panels), 3.6, target)
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
        for i in range(1, len(h.get("phase", []))):  # fine_tune(): where the second phase starts
            if h["phase"][i] != h["phase"][i - 1]:
                ax.axvline((h["epoch"][i - 1] + h["epoch"][i]) / 2, color="grey", linestyle=":")
                ax.annotate(h["phase"][i], ((h["epoch"][i - 1] + h["epoch"][i]) / 2, 1), xycoords=("data", "axes fraction"),
                            xytext=(3, -12), textcoords="offset points", fontsize=8, color="grey")
    return finish(fig, target)
