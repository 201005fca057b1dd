"""The run engine: one training run as a list of phases, and the one owner of its run directory.

Everything that trains in cnnkit goes through here: :func:`fit_classifier` is one phase,
:func:`fine_tune` two (the head with the backbone frozen, then the last block), and
:func:`train_classifier` adds data, evaluation and saving around them.

- :class:`FitPlan`: the checked settings of a run (the public functions check them; see
  ``train.check_fit_args``).
- :class:`Phase`: one phase as data -- a name, epochs, a learning rate and what it makes trainable.
- :class:`Run`: the run directory of one run -- only the chief worker opens it; it locks it, records
  the settings (a resumed run must share them), knows whether the run finished, and says so in one
  wording (:class:`~cnnkit.rundir.RunFinishedWarning`).
- :func:`run_phases`: trains the phases in order, each through :func:`fit_phase` (compile, resume,
  one Keras ``fit()``, BatchNormalization recalibration, final weights); with several phases each
  keeps its own run directory under the run's and ``history.csv`` holds them all.

The public functions above this module check arguments and data and then call it; nothing here
checks a user's argument again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import keras
import numpy as np

from ._context import caller, warn
from ._data_checks import dataset_errors, is_dataset, model_classes
from ._execution import fused_batchnorm, steps_per_call
from ._files import atomic_path
from ._lang import code
from ._model_info import leaf_layers, output_activation
from .distribute import ChiefState, broadcast_from_chief, is_chief, is_multi_worker, keras_multi_worker_fixes
from .ema import AUTO, check_optimizer, ema_of, momentum_for, optimizer_config
from .features import cache, for_whole_model
from .keras_compat import set_initial_epoch
from .losses import classifier_loss, smoothing_of
from .mixing import check_compiled_for_mixing, mixing_loss, soft_data, takes_soft_labels
from .precision import computing_in, resolve_precision, stored_policies
from .rundir import (  # noqa: F401 (re-exported)
    TEXT_COLUMNS,
    RunDir,
    RunFinishedWarning,
    data_fingerprint,
    model_fingerprint,
    read_history_csv,
    run_directory,
    usable_backup,
    write_history_csv,
)
from .runs import TENSORBOARD, TensorBoardLogs, environment
from .saving import save_model

HISTORY = "history.csv"
FINAL_WEIGHTS = "model.weights.h5"
BN_SETTLE = 20  # recalibrate_bn="auto": moving averages that saw fewer than 20 / (1 - momentum) steps
BN_IMAGES = 10_000  # training images that re-estimate the BatchNormalization statistics


# --- compiling ------------------------------------------------------------------------------------

def default_loss(model: keras.Model, label_smoothing: float = 0.0) -> Any:
    """The loss the output layer implies: 1-unit sigmoid -> binary cross-entropy, n-unit softmax ->
    sparse categorical cross-entropy (class ids); a logits output (no activation) ``from_logits``;
    with ``label_smoothing`` (see :mod:`cnnkit.losses`)."""
    kind, _ = model_classes(model)
    return classifier_loss(kind, output_activation(model) in (None, "linear"), label_smoothing)


def compile_model(model: keras.Model, learning_rate: Any, optimizer: Any, loss: Any = None,
                  metrics: Sequence[Any] = ("accuracy",), label_smoothing: float = 0.0, ema: float = 0.0,
                  **kwargs: Any) -> keras.Model:
    """Compile ``model`` (arguments already checked): ``optimizer`` (a name, at ``learning_rate``, or
    an instance; averaging the weights with momentum ``ema``, see :mod:`cnnkit.ema`), ``loss`` or the
    one the output layer implies (:func:`default_loss`, with ``label_smoothing``)."""
    model.compile(optimizer=_optimizer(optimizer, learning_rate, ema),
                  loss=default_loss(model, label_smoothing) if loss is None else loss, metrics=list(metrics), **kwargs)
    return model


def _optimizer(optimizer: Any, learning_rate: Any, ema: float = 0.0) -> keras.optimizers.Optimizer:
    """A Keras optimizer from a name (at ``learning_rate``, averaging the weights with momentum
    ``ema``) or as given (it must average with ``ema`` already); anything else names `optimizer`."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        check_optimizer(optimizer, ema)
        return optimizer
    if not isinstance(optimizer, str) or not optimizer:
        raise TypeError(f"{caller()}(): `optimizer` must be a Keras optimizer name such as 'adam' or 'sgd', or an "
                        f"optimizer object, got {optimizer!r} ({type(optimizer).__name__}).")
    try:
        return keras.optimizers.get({"class_name": optimizer,
                                     "config": {"learning_rate": learning_rate, **optimizer_config(ema)}})
    except (ValueError, TypeError):
        raise ValueError(f"{caller()}(): `optimizer` {optimizer!r} is not a Keras optimizer; use e.g. 'adam' or 'sgd'.") from None


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
            compile_model(clone, None, opt, loss=model.loss,
                          steps_per_execution=model.steps_per_execution)
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
    n = training_rows(len(x), validation_split)
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


def training_rows(n: int, validation_split: float | None) -> int:
    """How many of ``n`` array rows Keras trains on with ``validation_split``: the first
    ``floor(n * (1 - split))``, as Keras' own ``train_validation_split`` holds them out."""
    return int(math.floor(n * (1.0 - validation_split))) if validation_split else n


def steps_per_epoch(data: Any, batch_size: int, validation_split: float | None = None) -> int | None:
    """Training steps in one epoch: a dataset's batches (``None`` when its length is unknown), or the
    arrays' batches of ``batch_size`` with the ``validation_split`` part left out."""
    if is_dataset(data):
        n = int(data.cardinality())
        return n if n > 0 else None
    n = training_rows(len(data[0]), validation_split)
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
        return int(verbose)
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
    label_smoothing: float = 0.0
    # class_weight: as given, checked (None, "balanced", a dict, a list; train.check_class_weight), then
    # one weight per class id once the data is known (train.class_weights); Keras' fit() gets {id: weight}
    class_weight: Any = None
    ema: float | str = 0.0  # the weight average's momentum or "auto" (cnnkit.ema); 0: none
    seed: int | None = None  # keras.utils.set_random_seed() before training: shuffling, dropout, augmentation
    tensorboard: bool = False  # TensorBoard event files in <run_dir>/tensorboard (cnnkit.runs)
    mixup: float = 0.0  # MixUp's alpha (cnnkit.mixing); 0: off
    cutmix: float = 0.0  # CutMix's factor; 0: off

    def settings(self, model: keras.Model, data: Any, validation_data: Any) -> dict[str, Any]:
        """What a resumed run must share with the run it continues (recorded in ``run.json``)."""
        keep = ("epochs", "initial_epoch", "batch_size", "learning_rate", "schedule", "validation_split",
                "early_stopping", "precision", "recalibrate_bn", "cache_features")
        out = {k: getattr(self, k) for k in keep}
        out.update(self.optional_settings())
        out["optimizer"] = type(model.optimizer).__name__ if model.optimizer is not None else self.optimizer
        out.update(model=model_fingerprint(model), data=data_fingerprint(data),
                   validation=data_fingerprint(validation_data))
        return out

    def optional_settings(self) -> dict[str, Any]:
        """The settings recorded only when used (label smoothing, class weights, the weight average,
        the seed, MixUp, CutMix), so run.json files from before each of them resume as before."""
        out: dict[str, Any] = {}
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        if self.class_weight is not None:
            out["class_weight"] = self.class_weight
        if self.ema:
            out["ema"] = self.ema
        if self.seed is not None:
            out["seed"] = self.seed
        for k in ("mixup", "cutmix"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        return out

# --- phases and runs ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of a run: ``epochs`` epochs at ``learning_rate``, after ``prepare()`` has made
    trainable what the phase trains (``None``: the model as it is). Each phase of a run with several
    is compiled afresh (a new optimizer of the plan's kind), numbers its epochs on from the phase
    before, and keeps its own run directory ``<run_dir>/<name>``."""

    name: str
    epochs: int
    learning_rate: float
    prepare: Callable[[], Any] | None = None


class Run:
    """The run directory of one run, as a context manager: opened (created, locked, cleared with
    ``overwrite``) only by the chief worker and only with a ``run_dir``; ``section``'s settings recorded
    in ``run.json`` or checked against those recorded (a resumed run must share them).

    ``run.dir`` is the open :class:`~cnnkit.rundir.RunDir` (``None`` without a run directory or on
    another worker); ``run.finished`` whether the section finished earlier; :meth:`warn_finished`
    says so in cnnkit's one wording."""

    def __init__(self, run_dir: Any, strategy: Any, overwrite: bool, section: str, settings: dict[str, Any]):
        self.run_dir, self.strategy, self.overwrite = run_dir, strategy, overwrite
        self.section, self.settings = section, settings
        self.dir: RunDir | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Run":
        if self.run_dir is not None and is_chief(self.strategy):
            self.dir = self._stack.enter_context(run_directory(self.run_dir, self.overwrite))
            self.dir.start(self.section, self.settings)
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        return self._stack.__exit__(*exc)

    @property
    def path(self) -> Path | None:
        return None if self.dir is None else self.dir.path

    @property
    def finished(self) -> bool:
        return self.dir is not None and self.dir.finished(self.section)

    def finish(self, **extra: Any) -> None:
        """Mark the section finished, with ``extra`` and the environment it ran in (the run card's)."""
        if self.dir is not None:
            self.dir.finish(self.section, environment=environment(), **extra)

    def warn_finished(self, detail: str = "", loaded: str = "its final weights were loaded and nothing was trained") -> None:
        """The run had finished earlier: what was loaded instead of training again, and how to train again."""
        warn(f"{caller()}(): `run_dir` {str(self.path)!r} holds a finished run{detail}: {loaded}. To train "
             "again, pass overwrite=True (R: overwrite = TRUE; CLI: --overwrite) or use another run_dir.",
             RunFinishedWarning)


def run_phases(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan, phases: Sequence[Phase],
               run_dir: Any, strategy: Any, callbacks: Sequence[Any], *, section: str | None = None,
               settings: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    """Train ``phases`` in order, each through :func:`fit_phase`, and return one history.

    ``section=None``: one phase, trained in ``run_dir`` itself (:func:`fit_classifier`'s layout).
    A ``section``: a run of several phases -- ``run_dir``'s ``run.json`` records ``settings`` under
    ``section``, each phase trains in ``run_dir/<phase.name>`` (so a finished phase is loaded, not
    trained again, and a killed one resumes), and ``run_dir/history.csv`` holds every epoch with a
    ``phase`` column; the history has it too. Phases of 0 epochs are skipped."""
    if section is None:
        (phase,) = phases
        return _phase(model, data, validation_data, plan, phase, 0, run_dir, strategy, callbacks, fresh=False)
    with Run(run_dir, strategy, plan.overwrite, section, settings or {}) as run:
        history: dict[str, list[Any]] = {"epoch": [], "phase": []}
        done = 0
        for phase in phases:
            if phase.epochs == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RunFinishedWarning)  # said once below, for the whole run
                h = _phase(model, data, validation_data, plan, phase, done,
                           None if run_dir is None else Path(run_dir) / phase.name, strategy, callbacks, fresh=True)
            _append(history, h, phase.name)
            done += phase.epochs
            if run.path is not None:
                write_history_csv(_rows(history), run.path / HISTORY)
        if run.finished:
            run.warn_finished()
        run.finish(epochs=done)
    return history


def _phase(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan, phase: Phase, done: int,
           run_dir: Any, strategy: Any, callbacks: Sequence[Any], fresh: bool) -> dict[str, list[Any]]:
    if phase.prepare is not None:
        phase.prepare()
    step = plan if not fresh else dataclasses.replace(plan, epochs=phase.epochs, initial_epoch=done,
                                                      learning_rate=phase.learning_rate, overwrite=False)
    return fit_phase(model, data, validation_data, step, run_dir, strategy, callbacks, recompile=fresh)


def _append(history: dict[str, list[Any]], new: dict[str, list[Any]], phase: str) -> None:
    """Add one phase's history (its epochs already numbered on from the previous phase)."""
    n = len(new["epoch"])
    for key in new:
        history.setdefault(key, [None] * len(history["epoch"]))
    history["phase"].extend([phase] * n)
    for key in history:
        if key == "phase":
            continue
        history[key].extend(new.get(key, [None] * n))


def _rows(history: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [{k: ("nan" if history[k][i] is None else history[k][i]) for k in history}
            for i in range(len(history["epoch"]))]


def fit_phase(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan, run_dir: Any, strategy: Any,
              callbacks: Sequence[Any], recompile: bool = False) -> dict[str, list[float]]:
    """One phase, its arguments checked: compile if needed (or with ``recompile``: a fresh optimizer),
    open the run directory (:class:`Run`, section ``"fit"``), train -- resuming a killed run from its
    backup -- or load a finished one, write the final weights and finish."""
    compiled = not recompile and getattr(model, "compiled", False)  # then it keeps its own loss
    if compiled and plan.label_smoothing and plan.label_smoothing != smoothing_of(model):
        e = plan.label_smoothing
        fix = code(f"compile_classifier(model, label_smoothing={e})", f"compile_classifier(model, label_smoothing = {e})")
        raise ValueError(f"{caller()}(): `label_smoothing`={e} is used when cnnkit compiles the model, but `model` is "
                         f"already compiled (loss {_loss_name(model.loss)}, label smoothing {smoothing_of(model)}); "
                         f"compile it with {fix}, or pass a model that is not compiled yet.")
    if compiled and (plan.mixup or plan.cutmix):
        check_compiled_for_mixing(model, model_classes(model)[0])
    if compiled and plan.ema and plan.ema != AUTO and plan.ema != ema_of(model.optimizer):
        m = plan.ema
        fix = code(f"compile_classifier(model, ema={m})", f"compile_classifier(model, ema = {m})")
        raise ValueError(f"{caller()}(): `ema`={m} is used when cnnkit compiles the model, but `model` is already "
                         f"compiled (its {type(model.optimizer).__name__} averages the weights with momentum "
                         f"{ema_of(model.optimizer)}); compile it with {fix}, or pass a model that is not compiled yet.")
    if recompile or not getattr(model, "compiled", False):
        steps = None
        if plan.schedule == "cosine" or plan.ema:
            per_epoch = steps_per_epoch(data, plan.batch_size, plan.validation_split)
            if per_epoch is None and plan.schedule == "cosine":
                raise ValueError(f"{caller()}(): `schedule`='cosine' needs a dataset of known length; "
                                 "use schedule='constant' or a finite dataset.")
            steps = None if per_epoch is None else plan.epochs * per_epoch
        ema = momentum_for(plan.ema, steps) if plan.ema else 0.0
        loss = None  # the one the output layer implies (default_loss), or for blended labels a categorical one
        if plan.mixup or plan.cutmix:
            loss = mixing_loss(model_classes(model)[0], output_activation(model) in (None, "linear"),
                               plan.label_smoothing)
        compile_model(model, learning_rate_schedule(plan.learning_rate, plan.schedule, steps or 0), plan.optimizer,
                      loss=loss, label_smoothing=plan.label_smoothing, ema=ema)
    if run_dir is None or not is_chief(strategy):
        return _train(model, data, validation_data, plan, None, strategy, callbacks)
    with Run(run_dir, strategy, plan.overwrite, "fit", plan.settings(model, data, validation_data)) as run:
        assert run.path is not None
        if run.finished:
            _load_weights(model, run.path / FINAL_WEIGHTS)
            rows = read_history_csv(run.path / HISTORY)
            if is_multi_worker(strategy):  # the other workers follow the chief's epoch: go through the fit with them
                _train(model, data, validation_data, plan, None, strategy, callbacks, finished=True)
            else:
                run.warn_finished(f" ({len(rows)} epochs)")
            return RunLog(None, rows).history()
        usable_backup(run.path)  # a kill while the backup was written: the one before, or none
        start = time.perf_counter()
        history = _train(model, data, validation_data, plan, run.path, strategy, callbacks)
        seconds = time.perf_counter() - start
        with atomic_path(run.path / FINAL_WEIGHTS) as tmp:
            model.save_weights(tmp)
        run.finish(epochs=len(history["epoch"]), seconds=round(seconds, 2),
                   precision=resolve_precision(model, plan.precision))
        assert run.dir is not None
        run.dir.discard("backup", strict=False)
    return history


def _loss_name(loss: Any) -> str:
    return repr(loss) if isinstance(loss, str) else type(loss).__name__


def _load_weights(model: keras.Model, path: Path) -> None:
    with warnings.catch_warnings():  # the file has the optimizer's state too; only the weights matter here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)


def _train(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan, run_path: Path | None,
           strategy: Any, callbacks: Sequence[Any], finished: bool = False) -> dict[str, list[float]]:
    trained = _replica(model, strategy) if strategy is not None else model
    monitor = "val_loss" if (validation_data is not None or plan.validation_split) else "loss"
    verbose = 0 if plan.verbose == "auto" and not is_chief(strategy) else progress_verbosity(plan.verbose)
    steps = plan.steps_per_execution
    if steps == "auto" and (strategy is not None or _acts_per_batch(callbacks)):
        steps = 1  # per-batch hooks run once per execution; tf.distribute fails with more
    with dataset_errors():  # a dataset's guard (labels, NaN) fails while it is read: a ValueError
        mixing = bool(plan.mixup or plan.cutmix)  # blended images have their own features: no cache
        cached = None if finished else cache(trained, data, validation_data, plan.batch_size, plan.precision,
                                             strategy, False if mixing else plan.cache_features, verbose != 0)
    fitted, fit_data, fit_validation = trained, data, validation_data
    if cached is not None:  # train the head on the frozen part's features; callbacks still see the model
        fitted, fit_data, fit_validation = cached.head, cached.data, cached.validation_data
        fitted.compile(optimizer=trained.optimizer, loss=trained.loss, metrics=["accuracy"])
        callbacks = for_whole_model(callbacks, trained)
    if plan.seed is not None and not finished:
        keras.utils.set_random_seed(plan.seed)  # what training draws: shuffling, dropout, augmentation
    if mixing or takes_soft_labels(fitted):  # one-hot labels (blended for training): cnnkit.mixing
        kind, k = model_classes(trained)
        rows = 0 if is_dataset(fit_data) else training_rows(len(fit_data[0]), plan.validation_split)
        fit_data, fit_validation = soft_data(fit_data, fit_validation, 1 if kind == "binary" else k, plan.batch_size,
                                             plan.validation_split, rows, plan.seed, plan.mixup, plan.cutmix)
    cbs, log = _callbacks(run_path, strategy, monitor, plan.early_stopping, plan.checkpoint, callbacks, trained)
    if plan.tensorboard and run_path is not None:
        cbs.insert(1, TensorBoardLogs(run_path / TENSORBOARD))  # after the log: the epoch's row is written first
    end = plan.initial_epoch + plan.epochs
    fit_args = dict(epochs=end, initial_epoch=plan.initial_epoch, validation_data=fit_validation, callbacks=cbs,
                    verbose=verbose)
    if plan.class_weight is not None:  # one weight per class id (train.class_weights): every id a key, as Keras wants
        fit_args["class_weight"] = {i: float(w) for i, w in enumerate(plan.class_weight)}
    if is_dataset(fit_data):
        fit_args.update(x=fit_data, shuffle=False)  # a dataset shuffles itself (image_folder() does)
    else:
        fit_args.update(x=fit_data[0], y=fit_data[1], batch_size=plan.batch_size,
                        validation_split=plan.validation_split or 0.0)
    set_initial_epoch(fitted, end if finished else None)
    try:
        with dataset_errors(), computing_in(fitted, plan.precision), steps_per_call(fitted, steps), \
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


