"""Training: compile a classifier with the loss its output layer implies, and fit it.

``fit_classifier()`` is the one call for the common path: it compiles the model if needed, checks the
data against the model before any work is done, shows Keras' progress bar, and with a ``run_dir``
keeps a run that can be killed and resumed (``BackupAndRestore``), the best model so far
(``best.keras``) and the history (``history.csv``), all written atomically. ``strategy="mirrored"``
trains with ``tf.distribute``.

This module checks the arguments and the data; the training itself is one phase of the run engine
(``cnnkit.engine``), which :func:`fine_tune` and :func:`train_classifier` share.
"""

from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from . import contract
from ._context import caller, public, warn
from ._data_checks import check_data, dataset_errors, is_dataset, model_classes, resolve_data
from ._lang import code
from ._plot import check_target, finish, new_figure
from .distribute import distribution_strategy
from .ema import check_ema, check_optimizer, check_with_early_stopping
from .engine import HISTORY, FitPlan, Phase, _optimizer, compile_model, read_history_csv, run_phases, training_rows
from .losses import check_label_smoothing
from .mixing import SOFT_LOSSES, check_images_for_mixing, check_mixing
from .precision import PRECISIONS
from .saving import _attach, class_names_of

SCHEDULES = ("constant", "cosine")
VERBOSE = ("auto", 0, 1, 2)


@public
def compile_classifier(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    loss: str | None = None,
    metrics: Sequence[Any] = ("accuracy",),
    label_smoothing: float = 0.0,
    ema: float = 0.0,
    **kwargs: Any,
) -> keras.Model:
    """Compile ``model`` with the loss its output layer implies (if ``loss`` is not given).

    1-unit sigmoid -> ``binary_crossentropy``; n-unit softmax -> ``sparse_categorical_crossentropy``
    (integer labels 0..n-1). A logits output (no activation) gets ``from_logits=True``. With
    ``label_smoothing``, the same losses with smoothed targets (``cnnkit.losses``; a model compiled
    so saves and loads in any process that imports cnnkit).

    Args:
        model: a Keras classifier.
        learning_rate: step size for the optimizer (a number or a Keras learning-rate schedule).
        optimizer: a Keras optimizer name (``"adam"``, ``"sgd"``, ...) or instance (then
            ``learning_rate`` is ignored).
        loss: override the loss.
        metrics: metrics to track.
        label_smoothing: in [0, 1): each label's share spread over all classes (0: off; e.g. 0.1).
            Not with ``loss`` (give that loss its own smoothing).
        ema: average the weights over the last steps and keep the average when ``fit()`` ends
            (``cnnkit.ema``): a momentum in [0.5, 1) such as 0.99 (about the last 100 steps),
            ``True`` for 0.99, 0 (the default) for off. With an optimizer object, make it with
            ``use_ema=True`` instead.
        **kwargs: passed to ``model.compile`` (e.g. ``steps_per_execution``, ``jit_compile``).

    Returns:
        The same model, compiled.

    Example:
        >>> m = compile_classifier(simple_cnn(), learning_rate=1e-3)
        >>> m.loss
        'binary_crossentropy'
        >>> compile_classifier(simple_cnn(), label_smoothing=0.1).loss.label_smoothing
        0.1
    """
    model_classes(model)
    label_smoothing = check_label_smoothing(label_smoothing)
    if loss is not None and label_smoothing:
        raise ValueError(f"{caller()}(): give either `loss` or `label_smoothing`, not both: `label_smoothing` "
                         "smooths the loss cnnkit chooses; a loss of your own takes its own setting.")
    learning_rate = v.learning_rate(learning_rate, "learning_rate", schedule=True)
    checked = check_ema(ema)
    if isinstance(checked, str):  # "auto"
        raise ValueError(f"{caller()}(): `ema`='auto' picks the momentum from the run's steps, which "
                         f"{caller()}() does not know; give a momentum such as 0.99, or pass ema='auto' to "
                         "fit_classifier() instead and let it compile the model.")
    optimizer = _optimizer(optimizer, learning_rate, checked)
    metrics = _metrics(metrics)
    if loss is not None:
        _loss(loss)
    return compile_model(model, learning_rate, optimizer, loss=loss, metrics=metrics,
                         label_smoothing=label_smoothing, **kwargs)


def _metrics(metrics: Any) -> list[Any]:
    """Metrics as a list: one name or metric alone is a list of one (a string is not split into letters)."""
    if isinstance(metrics, (str, keras.metrics.Metric)) or _function(metrics):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"{caller()}(): `metrics` must be a list of metric names (e.g. ['accuracy']) or Keras metrics, "
                        f"got {metrics!r} ({type(metrics).__name__}).")
    for m in metrics:
        if not (isinstance(m, (str, keras.metrics.Metric)) or _function(m)) or m == "":
            raise TypeError(f"{caller()}(): `metrics` must hold metric names or Keras metrics, got {m!r} "
                            f"({type(m).__name__}) in it.")
        if isinstance(m, str) and m not in ("acc", "crossentropy", "ce"):  # names compile() reads itself
            try:
                keras.metrics.get(m)
            except (ValueError, TypeError):
                raise ValueError(f"{caller()}(): `metrics` entry {m!r} is not a Keras metric; use e.g. 'accuracy'.") from None
    return list(metrics)


def _function(x: Any) -> bool:
    """A plain function (a metric or loss written by hand), not a layer or model (also callable)."""
    return callable(x) and not isinstance(x, (str, keras.layers.Layer))


def _loss(loss: Any) -> None:
    """A loss Keras knows: a name, a ``keras.losses.Loss`` or a function."""
    if isinstance(loss, keras.losses.Loss) or _function(loss):
        return
    if not isinstance(loss, str) or not loss:
        raise TypeError(f"{caller()}(): `loss` must be None (the loss the output layer implies), a Keras loss name such "
                        f"as 'sparse_categorical_crossentropy', or a loss object, got {loss!r} ({type(loss).__name__}).")
    try:
        keras.losses.get(loss)
    except (ValueError, TypeError):
        raise ValueError(f"{caller()}(): `loss` {loss!r} is not a Keras loss; use e.g. 'sparse_categorical_crossentropy' "
                         "or leave it None.") from None


def check_callbacks(callbacks: Any) -> list[Any]:
    """``None``, one Keras callback or a list of them, as a list; anything else names `callbacks`."""
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        return [callbacks]
    if isinstance(callbacks, (list, tuple)) and all(isinstance(cb, keras.callbacks.Callback) for cb in callbacks):
        return list(callbacks)
    raise TypeError(f"{caller()}(): `callbacks` must be a list of Keras callbacks (keras.callbacks.Callback), got "
                    f"{callbacks!r} ({type(callbacks).__name__}).")


# --- fit -----------------------------------------------------------------------------------------


def _overwrite(overwrite: Any, resume: Any) -> bool:
    overwrite = v.flag(overwrite, "overwrite")
    if resume is not None:
        warn(f"{caller()}(): `resume` is deprecated: a run directory is always resumed; pass "
                      f"overwrite=True to start afresh (resume=False does that now).", FutureWarning)
        overwrite = overwrite or not v.flag(resume, "resume")
    return overwrite


def check_fit_args(model: Any, epochs: Any, built: bool = True, **kw: Any) -> FitPlan:
    """Check :func:`fit_classifier`'s arguments (also used by :func:`fine_tune` and
    :func:`train_classifier`) and return them as a :class:`FitPlan`. ``built=False``: the model is
    not built yet (named, in :func:`train_classifier`), so only the other arguments are checked."""
    if built:
        model_classes(model)
    plan = FitPlan(epochs=v.epochs(epochs, "epochs"), **kw)
    plan.initial_epoch = v.positive_int(plan.initial_epoch, "initial_epoch", minimum=0)
    plan.batch_size = v.positive_int(plan.batch_size, "batch_size")
    plan.learning_rate = v.learning_rate(plan.learning_rate, "learning_rate")
    plan.schedule = v.choice(plan.schedule, "schedule", choices=SCHEDULES)
    if not isinstance(plan.optimizer, keras.optimizers.Optimizer):
        _optimizer(plan.optimizer, plan.learning_rate)  # a name Keras knows, even if the model is compiled
    plan.validation_split = v.fraction(plan.validation_split, "validation_split")
    es = plan.early_stopping
    plan.early_stopping = None if es is None or es is False or (v._is_intlike(es) and int(es) == 0) \
        else v.positive_int(es, "early_stopping")
    plan.checkpoint = v.flag(plan.checkpoint, "checkpoint")
    plan.verbose = v.choice(plan.verbose, "verbose", choices=VERBOSE)
    v.choice(plan.precision, "precision", choices=PRECISIONS)
    if not (isinstance(plan.steps_per_execution, str) and plan.steps_per_execution == "auto"):
        plan.steps_per_execution = v.positive_int(plan.steps_per_execution, "steps_per_execution")
    plan.recalibrate_bn = v.choice(plan.recalibrate_bn, "recalibrate_bn", choices=("auto", True, False))
    plan.cache_features = v.choice(plan.cache_features, "cache_features", choices=("auto", True, False))
    plan.label_smoothing = check_label_smoothing(plan.label_smoothing)
    plan.class_weight = check_class_weight(plan.class_weight)
    plan.ema = check_ema(plan.ema)
    plan.seed = None if plan.seed is None else v.positive_int(plan.seed, "seed", minimum=0)
    plan.tensorboard = v.flag(plan.tensorboard, "tensorboard")
    plan.mixup = check_mixing(plan.mixup, "mixup")
    plan.cutmix = check_mixing(plan.cutmix, "cutmix")
    check_with_early_stopping(plan.ema, plan.early_stopping)
    if isinstance(plan.optimizer, keras.optimizers.Optimizer):
        check_optimizer(plan.optimizer, plan.ema)
    return plan


# --- class weights ---------------------------------------------------------------------------------

ClassWeight = str | Mapping[int | str, float] | Sequence[float] | None  # what `class_weight` takes


def _class_weight_problem(value: Any) -> str:
    balanced = code("'balanced'", '"balanced"')
    return (f"{caller()}(): `class_weight` must be None, {balanced} (n / (k * count) for each class, as in "
            "scikit-learn), "
            + code("a dict {class id or class name: weight} (classes left out weigh 1) or a list of one weight per "
                   "class", "a named vector or list c(bag = 2, shoe = 1) (classes left out weigh 1) or an unnamed "
                   "vector of one weight per class")
            + f"; got {value!r} ({type(value).__name__}).")


def _weight(value: Any, where: str) -> float:
    """One class weight: a finite number >= 0."""
    if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1 and len(value) == 1:
        value = value[0]  # R's length-one vectors in a named list
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{caller()}(): `class_weight` {where} must be a number >= 0, got {value!r} "
                        f"({type(value).__name__}).")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{caller()}(): `class_weight` {where} must be a finite number >= 0, got {value!r}.")
    return float(value)


def check_class_weight(value: Any) -> ClassWeight:
    """``class_weight`` checked on its own (the classes are known only with the data: see
    :func:`class_weights`): ``None``, ``"balanced"``, ``{class id or name: weight}`` or a list of
    weights, each a finite number >= 0."""
    if value is None:
        return None
    if isinstance(value, str):
        if value != "balanced":
            raise ValueError(_class_weight_problem(value))
        return value
    if isinstance(value, Mapping):
        out: dict[int | str, float] = {}
        for key, w in value.items():
            if isinstance(key, (bool, np.bool_)) or not (isinstance(key, str) or v._is_intlike(key)):
                raise TypeError(f"{caller()}(): `class_weight` keys must be class ids (0, 1, ...) or class names, got "
                                f"{key!r} ({type(key).__name__}).")
            name = key if isinstance(key, str) else int(key)
            if name in out:
                raise ValueError(f"{caller()}(): `class_weight` gives class {name!r} twice.")
            out[name] = _weight(w, f"entry {name!r}")
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        weights = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
        if weights.ndim != 1 or not len(weights):
            raise ValueError(_class_weight_problem(value))
        out_list = [_weight(w, f"entry {i}") for i, w in enumerate(weights.tolist())]
        if not any(out_list):
            raise ValueError(f"{caller()}(): `class_weight` is 0 for every class: nothing would be learned; give the "
                             "classes weights > 0.")
        return out_list
    raise TypeError(_class_weight_problem(value))


def training_label_counts(data: Any, k: int, validation_split: float | None = None) -> np.ndarray:
    """Images per class ``(k,)`` in the training data: the arrays' labels (without the
    ``validation_split`` part Keras holds out), a dataset's ``labels`` (what :func:`image_folder`
    attaches), or else one pass over the dataset's labels."""
    if not is_dataset(data):
        y = data["y"] if isinstance(data, dict) else data[1]
        y = np.asarray(y).reshape(len(y), -1)[:, 0] if np.ndim(y) > 1 else np.asarray(y)
        n = training_rows(len(y), validation_split)  # Keras' own split: the first rows train
        return np.bincount(np.round(y[:n].astype("float64")).astype("int64"), minlength=k)[:k]
    labels = getattr(data, "labels", None)
    if isinstance(labels, (list, tuple)) and labels and all(v._is_intlike(y) for y in labels):
        return np.bincount(np.asarray(labels, dtype="int64"), minlength=k)[:k]
    import tensorflow as tf

    if int(data.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError(f"{caller()}(): `class_weight`={'balanced'!r} counts the training labels in one pass, but "
                         "`data` is an endless dataset (repeat()); give the weights per class instead.")
    counts = np.zeros(k, dtype="int64")
    with dataset_errors():
        for batch in data:
            y = np.asarray(batch[1]).reshape(-1)
            counts += np.bincount(np.round(y.astype("float64")).astype("int64"), minlength=k)[:k]
    return counts


def class_weights(model: keras.Model, data: Any, names: Sequence[str] | None, plan: FitPlan) -> list[float] | None:
    """``plan.class_weight`` (checked by :func:`check_class_weight`) as one weight per class id of
    ``model``, now that the training data and its class ``names`` (else the model's) are known:
    ``"balanced"`` is ``n / (k * count)`` (scikit-learn's), a dict gives 1 to the classes it leaves out."""
    spec = plan.class_weight
    if spec is None:
        return None
    k = model_classes(model)[1]
    names = list(names) if names is not None else class_names_of(model)
    if isinstance(spec, str):  # "balanced"
        counts = training_label_counts(data, k, plan.validation_split)
        if not counts.all():
            c = int(np.flatnonzero(counts == 0)[0])
            label = f"{c} ({names[c]!r})" if names and len(names) == k else str(c)
            raise ValueError(f"{caller()}(): `class_weight`={'balanced'!r} weighs each class by its share of the "
                             f"training images, but class {label} has none; give the weights per class, or train "
                             "on data with images of every class.")
        return [float(w) for w in counts.sum() / (k * counts)]
    if isinstance(spec, list):
        if len(spec) != k:
            raise ValueError(f"{caller()}(): `class_weight` has {len(spec)} weights but the model has {k} classes; "
                             "give one weight per class, in class order.")
        return list(spec)
    weights = [1.0] * k
    seen: dict[int, Any] = {}
    for key, w in spec.items():
        if isinstance(key, str):
            if not names or len(names) != k:
                raise ValueError(f"{caller()}(): `class_weight` names class {key!r}, but neither the data nor the model "
                                 "carries class names; give class ids (0, 1, ...) instead"
                                 + code(".", " (an unnamed vector: one weight per class)."))
            if key not in names:
                raise ValueError(f"{caller()}(): `class_weight` names class {key!r}, which is not one of the classes "
                                 f"({', '.join(names)}).")
            i = names.index(key)
        else:
            i = key
            if not 0 <= i < k:
                raise ValueError(f"{caller()}(): `class_weight` has class id {i}, but the model's classes are 0 to "
                                 f"{k - 1}.")
        if i in seen:
            raise ValueError(f"{caller()}(): `class_weight` gives class {i} twice ({seen[i]!r} and {key!r}).")
        seen[i] = key
        weights[i] = w
    if not any(weights):
        raise ValueError(f"{caller()}(): `class_weight` is 0 for every class: nothing would be learned; give the "
                         "classes weights > 0.")
    return weights


CLASS_ID_LOSSES = {"binary": ("binary_crossentropy", "binary_focal_crossentropy", "BinaryCrossentropy",
                               "BinaryFocalCrossentropy"),
                    "multiclass": ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")}


def check_compiled_loss(model: keras.Model) -> None:
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
    kind, _ = model_classes(model)
    if name in CLASS_ID_LOSSES[kind] or (kind == "multiclass" and name in SOFT_LOSSES):
        return  # a categorical loss gets one-hot labels from cnnkit (cnnkit.mixing)
    want = CLASS_ID_LOSSES[kind][0]
    raise ValueError(f"{caller()}(): `model` was compiled with loss {name!r}, which does not take class ids (0, 1, ...) as "
                     f"cnnkit's labels are; compile it with loss={want!r} (compile_classifier(model) does), or leave it "
                     "uncompiled and fit_classifier() compiles it.")


@public
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
    label_smoothing: float = 0.0,
    class_weight: ClassWeight = None,
    ema: float | str = 0.0,
    seed: int | None = None,
    tensorboard: bool = False,
    mixup: float = 0.0,
    cutmix: float = 0.0,
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
        label_smoothing: in [0, 1): train towards ``1 - e`` for the true class and ``e / k`` spread
            over the ``k`` classes (``cnnkit.losses``); e.g. 0.1. Used when the model is compiled here
            (a compiled model keeps its loss: compile it with ``compile_classifier(label_smoothing=)``).
        class_weight: weigh each training image's loss by its class, for imbalanced data (Keras'
            ``class_weight``): ``None`` (all 1), ``"balanced"`` (``n / (k * count)`` for each class,
            counted in the training labels, as scikit-learn's), a dict ``{class id or class name:
            weight}`` (names: those the data or the model carries; classes left out weigh 1) or a list
            of one weight per class. Validation losses are not weighted.
        ema: average the weights over the last training steps and end with the average
            (``cnnkit.ema``: Keras' ``use_ema``): a momentum in [0.5, 1) such as 0.99 (about the
            last 100 steps), ``True`` for 0.99, ``"auto"`` (0.99 from 1,000 steps on, ``1 - 10 /
            steps`` for shorter runs, none below 20: Keras' average starts at the starting weights,
            so a short run's average would keep much of them), 0 (the default) for off. The per-epoch validation
            figures are the trained weights'; the model ends with the average. Used when the model
            is compiled here (else compile it with ``compile_classifier(ema=)``); not with
            ``early_stopping`` (which restores the best epoch's weights over the average).
        seed: seed what training draws (shuffling, dropout, augmentation layers) with
            ``keras.utils.set_random_seed(seed)`` before it starts; ``None``: as it comes. On a CPU
            the same seed, data and starting weights give the same weights bit for bit (build the
            model after ``keras.utils.set_random_seed()`` too for the same starting weights); on a
            GPU some kernels (cuDNN's convolution backward passes, atomics) are not deterministic
            unless ``tf.config.experimental.enable_op_determinism()`` is called, at a cost in speed.
        tensorboard: also write TensorBoard logs (one scalar per metric and epoch) in
            ``run_dir/tensorboard`` (``cnnkit.runs``); needs a ``run_dir``.
        mixup: blend each training image with another, labels alike (``cnnkit.mixing``: Keras'
            ``MixUp``): its alpha in (0, 1] (e.g. 0.2; ``True``: 0.2), 0 (the default): off.
        cutmix: paste a rectangle of another training image, labels weighted by its area (Keras'
            ``CutMix``): its factor in (0, 1] (``True``: 1.0), 0: off. With ``mixup`` too, each
            batch gets one of the two. Both train with a categorical cross-entropy on one-hot labels
            (cnnkit makes them) and pay off in long runs, not short ones.

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
    plan = check_fit_args(model, epochs, initial_epoch=initial_epoch, batch_size=batch_size,
                          learning_rate=learning_rate, schedule=schedule, optimizer=optimizer,
                          validation_split=validation_split, early_stopping=early_stopping, checkpoint=checkpoint,
                          overwrite=_overwrite(overwrite, resume), verbose=verbose, precision=precision,
                          steps_per_execution=steps_per_execution, recalibrate_bn=recalibrate_bn,
                          cache_features=cache_features, label_smoothing=label_smoothing,
                          class_weight=class_weight, ema=ema, seed=seed, tensorboard=tensorboard, mixup=mixup,
                          cutmix=cutmix)
    check_tensorboard(plan, run_dir)
    check_compiled_loss(model)
    data, validation_data, names = check_fit_data(model, data, validation_data, plan)
    callbacks = check_callbacks(callbacks)
    strategy = distribution_strategy(strategy)
    history = run_phases(model, data, validation_data, plan, [Phase("fit", plan.epochs, plan.learning_rate)],
                         run_dir, strategy, callbacks)
    if names:
        _attach(model, names)
    return history


def check_tensorboard(plan: FitPlan, run_dir: Any) -> None:
    """``tensorboard=True`` writes into the run directory: one is needed."""
    if plan.tensorboard and run_dir is None:
        raise ValueError(f"{caller()}(): `tensorboard`=True writes TensorBoard logs into the run directory, but "
                         f"`run_dir` is None; give a run_dir (e.g. {code(repr('runs/first'), repr('runs/first'))}), or "
                         "leave tensorboard off.")


def check_fit_data(model: keras.Model, data: Any, validation_data: Any, plan: FitPlan) -> tuple[Any, Any, list[str] | None]:
    """The training and validation data of :func:`fit_classifier` and :func:`fine_tune`, checked
    against the model before any work (kinds resolved, labels, shapes, value range recorded on the
    model); also the class names the data carries. ``plan.class_weight`` becomes one weight per class."""
    data, names = resolve_data(model, data, "data")
    data = check_data(model, data, "data")
    if validation_data is not None:
        validation_data = check_data(model, validation_data, "validation_data")
    contract.record(model, data)  # the value range trained on travels with the model
    if validation_data is not None:
        contract.check(model, validation_data, arg="validation_data")
    if plan.validation_split and is_dataset(data):
        raise ValueError(f"{caller()}(): `validation_split` works with (x, y) arrays only; "
                         "pass `validation_data` with a dataset (image_folder(..., validation_split=) makes one).")
    plan.class_weight = class_weights(model, data, names, plan)
    check_images_for_mixing(plan.mixup, plan.cutmix, data)
    return data, validation_data, names


def fit_arguments(*, drop: Sequence[str] = (), after: dict[str, str] | None = None) -> Callable[[Callable], Callable]:
    """Declare a function that takes :func:`fit_classifier`'s arguments as ``**fit_args``.

    The function declares only its own arguments; its signature (what ``help()``, IDEs, R's parity
    check and positional calls see) is fit_classifier's, without ``drop``, with the function's own
    arguments in fit_classifier's places where they share a name, each other one placed right after
    the argument ``after`` names (else at the end). The wrapper binds a call to that signature (an
    unknown argument is Python's usual ``TypeError``) and passes every forwarded argument, defaults
    included, in ``**fit_args``."""
    after = dict(after or {})

    def wrap(func: Callable) -> Callable:
        own = [p for p in inspect.signature(func).parameters.values() if p.kind is not p.VAR_KEYWORD]
        own_names = {p.name: p for p in own}
        merged: list[inspect.Parameter] = []
        for p in inspect.signature(fit_classifier).parameters.values():
            if p.name in drop:
                continue
            merged.append(own_names.get(p.name, p))
            anchor = p.name
            while anchor in after.values():
                (name,) = [k for k, a in after.items() if a == anchor]
                merged.append(own_names[name])
                anchor = name
        merged += [p for p in own if p not in merged]
        signature = inspect.signature(func).replace(parameters=merged)
        fitted = {p.name for p in merged} - set(own_names)

        @functools.wraps(func)
        def forwarding(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            mine = {k: val for k, val in bound.arguments.items() if k not in fitted}
            return func(**mine, **{k: val for k, val in bound.arguments.items() if k in fitted})

        forwarding.__signature__ = signature  # type: ignore[attr-defined]
        return forwarding

    return wrap


# --- the history ---------------------------------------------------------------------------------

def _history_dict(history: Any) -> dict[str, list[float]]:
    if isinstance(history, (str, os.PathLike)):  # a run's history.csv, or the run directory holding it
        path = Path(history).expanduser()
        path = path / HISTORY if path.is_dir() else path
        if not path.is_file():
            raise ValueError(f"{caller()}(): `history` {str(path)!r} does not exist; pass what fit_classifier() returns, "
                             "a run directory or its history.csv.")
        rows = read_history_csv(path)
        if not rows:
            raise ValueError(f"{caller()}(): `history` {str(path)!r} holds no epochs yet.")
        return _history_dict({k: [r.get(k, float("nan")) for r in rows] for k in rows[0]})
    if hasattr(history, "history") and isinstance(history.history, dict):  # a keras History
        h = dict(history.history)
        n = len(next(iter(h.values()), []))
        h.setdefault("epoch", [e + 1 for e in getattr(history, "epoch", range(n))])
        return h
    if not isinstance(history, dict) or "loss" not in history:
        raise TypeError(f"{caller()}(): `history` must be what fit_classifier() returns (a dict with 'loss'), a Keras "
                        f"History, or a run directory or its history.csv; got {type(history).__name__}.")
    phase = history.get("phase")  # fine_tune()'s phases: text, drawn as a boundary, not a curve
    h = {k: list(np.atleast_1d(np.asarray(val, dtype="float64"))) for k, val in history.items() if k != "phase"}
    if phase is not None:
        h["phase"] = [str(p) for p in np.atleast_1d(np.asarray(phase, dtype=object))]
    if len({len(val) for val in h.values()}) != 1 or not h["loss"]:
        raise ValueError(f"{caller()}(): `history` must hold equal-length, non-empty lists, got lengths "
                         f"{ {k: len(val) for k, val in h.items()} }.")
    h.setdefault("epoch", list(range(1, len(h["loss"]) + 1)))
    return h


@public
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

    h = _history_dict(history)
    target = check_target(file)
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
