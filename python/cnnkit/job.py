"""The main job: train a classifier on Fashion-MNIST (or a folder of images), report test accuracy,
and keep the model, the history plot and the confusion matrix in a run directory.

``cnnkit train`` (the command line) and ``cnnkit::train_classifier()`` (R) both call
:func:`train_classifier`. The default model, :func:`cnnkit.cnn.fashion_cnn`, with a one-cycle
(warm-up + cosine) learning rate, label smoothing 0.1 and a weight average (``ema="auto"``) reaches
about 92 % test accuracy on Fashion-MNIST in 4 epochs (see README; bench/results/main_job.md has the
measured time and accuracy per CPU family, bench/results/main_job_recipe.md how the recipe was chosen).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, TypedDict

import keras

from . import _arg_checks as v
from . import contract
from ._context import called, caller, public
from ._data_checks import check_data, data_class_names
from ._defaults import MODELS as _MODELS
from ._defaults import SMALL_MODELS
from ._defaults import TRAIN as DEFAULTS
from ._files import atomic_path, writable_dir
from ._lang import code
from ._model_info import model_input_shape
from .backbones import REGISTRY, _key, get_spec
from .cnn import fashion_cnn  # noqa: F401  (cnnkit.job.fashion_cnn, where it was)
from .data import _image_table, image_folder, load_fashion_mnist, split_folders
from .distribute import distribution_strategy, is_chief, is_multi_worker, task_label
from .engine import HISTORY, FitPlan, Phase, Run, RunLog, read_history_csv, run_phases
from .evaluate import SCORES, as_evaluation, evaluate_classifier
from .precision import resolve_precision
from .rundir import json_ready, model_fingerprint
from .saving import save_model
from .train import ClassWeight, check_compiled_loss, check_fit_args, class_weights, plot_history
from .transfer import fine_tune, transfer_model
from .tta import check_tta

# name -> (factory(input_shape, num_classes=k), Fashion-MNIST options it needs): the small models of
# _defaults.MODELS that the main job trains from scratch
MODELS: dict[str, tuple[Callable[..., keras.Model], dict[str, Any]]] = {
    name: (getattr(importlib.import_module(f".{_MODELS[name]['module']}", __package__), name),
           dict(_MODELS[name]["fashion_mnist"])) for name in SMALL_MODELS
}


def new_run_dir(root: str | os.PathLike = "runs") -> Path:
    """A fresh ``root/<YYYYmmdd-HHMMSS>`` path (``-2``, ``-3``, ... if taken), not yet created."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = writable_dir(root, "run_dir")
    path, i = root / stamp, 1
    while path.exists():
        i += 1
        path = root / f"{stamp}-{i}"
    return path


def _input_spec(model: str | keras.Model) -> tuple[dict[str, Any], tuple[int, int], str]:
    """Fashion-MNIST options, image size and colour mode that fit a model (by name or instance)."""
    if isinstance(model, str) and model not in MODELS:  # a backbone: RGB, at least 32x32
        return {"pad": True, "channels": 3}, (32, 32), "rgb"
    if isinstance(model, str):
        opts = MODELS[model][1]
        size = (32, 32) if opts.get("pad") else (28, 28)
        return opts, size, "grayscale"

    shape = model_input_shape(model)
    channels = shape[-1] if shape[-1] in (1, 3) else 1
    size = (int(shape[1] or 28), int(shape[2] or 28))
    return {"pad": size == (32, 32), "channels": channels}, size, "grayscale" if channels == 1 else "rgb"


def _data(data: Any, model: str | keras.Model, subset: int | None, seed: int,
          image_size: tuple[int, int] | None = None, labels: Any = None) -> dict[str, Any]:
    """Train/test arrays (Fashion-MNIST) or datasets (an image folder or a table) plus class names."""

    opts, size, color_mode = _input_spec(model)
    if data is None and labels is None:
        d = load_fashion_mnist(n=subset, n_test=subset, seed=seed, **opts)
        return {"train": (d["x_train"], d["y_train"]), "test": (d["x_test"], d["y_test"]),
                "class_names": d["class_names"], "input_shape": d["x_train"].shape[1:],
                "source": f"Fashion-MNIST ({d['source']})"}
    if data is not None and not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"{caller()}(): `data` must be None (Fashion-MNIST) or a folder of images in class "
                        f"sub-folders, got {type(data).__name__}.")
    if isinstance(model, str) and model not in MODELS:  # a backbone: its ImageNet size unless told

        size = image_size or (get_spec(model, arg="model").default_size,) * 2
    elif isinstance(model, str) and model != "lenet5":  # a model built here: 64x64 colour for photos
        size, color_mode = image_size or (64, 64), "rgb"
    elif image_size is not None:
        size = image_size
    if labels is not None:  # a table: 20 % of its images held out as the test set
        d = _image_table(labels, data, "file", "label", None, size, color_mode, 0.2, seed, 32, subset,
                         arg="labels")
        source = f"image table {labels if isinstance(labels, (str, os.PathLike)) else '(in memory)'}"
    else:  # split folders: test/ (else val/) is the test set; class folders only: 20 % held out
        with called("image_folder"):  # its warnings (skipped files) name the step that read the folder
            splits = split_folders(data)
            d = image_folder(data, image_size=size, color_mode=color_mode,
                             validation_split=None if splits else 0.2, seed=seed, subset=subset)
        source = f"image folder {data}"
    return {"train": d["train"], "test": d["validation"] if d["test"] is None else d["test"],
            "class_names": d["class_names"], "input_shape": size + ((1,) if color_mode == "grayscale" else (3,)),
            "source": source}


def _write_json(obj: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


@public
def train_classifier(
    model: str | keras.Model = "fashion_cnn",
    data: str | os.PathLike | None = None,
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    learning_rate: float = DEFAULTS["learning_rate"],
    schedule: str = DEFAULTS["schedule"],
    subset: int | None = None,
    run_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    strategy: Any = None,
    seed: int = 0,
    verbose: str | int = "auto",
    precision: str = "auto",
    head_epochs: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    labels: Any = None,
    label_smoothing: float = DEFAULTS["label_smoothing"],
    tta: bool | int = DEFAULTS["tta"],
    class_weight: ClassWeight = None,
    ema: float | str = DEFAULTS["ema"],
    tensorboard: bool = False,
    mixup: float = 0.0,
    cutmix: float = 0.0,
) -> JobResult:
    """The main job: train, evaluate on the test set, and save everything in a run directory.

    With no arguments: :func:`fashion_cnn` on the 60,000 Fashion-MNIST training images, 4 epochs
    with a one-cycle learning rate, label smoothing 0.1 and a weight average (``ema="auto"``: 0.99
    over its 1,876 steps), evaluated on the 10,000 test images. The run directory
    receives ``model.keras`` (with class names), ``history.csv``, ``history.png``,
    ``confusion_matrix.png``, ``metrics.json`` and ``run.json`` (the settings). Killed and started
    again with the same ``run_dir`` and settings, training resumes from the last completed epoch;
    a finished run is not trained again: its results are returned, with a warning, unless
    ``overwrite=True``. Training goes through :func:`fit_classifier`.

    With a backbone's name (any of :func:`list_backbones`, e.g. ``"efficientnet_lite0"``), the job
    is transfer learning: :func:`transfer_model` with ImageNet weights, trained by :func:`fine_tune`
    -- ``head_epochs`` epochs with the backbone frozen (its features computed once), then ``epochs``
    epochs with its last block trainable at a tenth of ``learning_rate``. The run directory then
    also holds ``head/`` and ``fine_tune/``, and a killed run resumes inside the phase it was in.

    Args:
        model: ``"fashion_cnn"``, ``"simple_cnn"``, ``"lenet5"``, a backbone name (transfer
            learning) or a Keras model.
        data: ``None`` for Fashion-MNIST, or a folder with one sub-folder of images per class
            (then 20 % of the images are held out as the test set), or with split folders
            ``train/`` and ``test/`` (or ``val/``), each with the class folders (see
            :func:`image_folder`): trained on ``train/``, tested on ``test/`` (else ``val/``; with
            both, ``val/`` is not used). With ``labels``: the folder its file names are relative to.
        epochs, batch_size, learning_rate, schedule: passed to :func:`fit_classifier`.
        subset: use only this many training (and test) images, e.g. for a quick check; of a folder
            or a table, at most this many images of each split folder (of the whole folder or table,
            before 20 % are held out), chosen at random by ``seed`` keeping each class's share.
        run_dir: where to save (default: a new ``runs/<timestamp>/``).
        overwrite: discard what ``run_dir`` holds and train afresh.
        strategy: ``None`` or ``"mirrored"`` (see :func:`distribution_strategy`). With several
            workers, only the chief writes the run directory and evaluates; the others return
            ``accuracy`` ``None``.
        seed: seed for weights, subsets and shuffling.
        verbose: Keras' progress display (``"auto"``, 0, 1, 2).
        precision: ``"auto"``, ``"float32"`` or ``"mixed_bfloat16"`` (see :func:`fit_classifier`).
        head_epochs: transfer learning only: epochs of the frozen-backbone phase (default 3).
        image_size: with ``data`` or ``labels``, the size images are resized to (one number:
            square); default 64 for the small models, the backbone's ImageNet size (224) for transfer
            learning.
        labels: a table of images and their classes (see :func:`image_table`): a CSV file or a
            table with a ``file`` and a ``label`` column; relative file names are relative to
            ``data`` when given, else to the CSV file's folder (a table in memory: the working
            directory). 20 % of its images are held out as the test set.
        label_smoothing: passed to :func:`fit_classifier` (both phases of transfer learning).
        tta: test-time augmentation of the test evaluation (see :func:`evaluate_classifier`):
            ``True`` averages each test image's prediction with its mirror's. Not for the models
            the main job trains (no flip augmentation: ``fashion_cnn`` loses 3.5 points with it).
        class_weight: passed to :func:`fit_classifier` (both phases of transfer learning):
            ``"balanced"`` weighs each class by ``n / (k * count)`` in the training images, a dict
            ``{class name or id: weight}`` or a list gives the weights.
        ema: passed to :func:`fit_classifier` (both phases of transfer learning): the momentum of
            the weight average the model ends with (``cnnkit.ema``); ``"auto"`` (the default): 0.99
            for the main job's 1,876 steps, ``1 - 10 / steps`` for shorter runs, none below 20
            steps; 0: off.
        tensorboard: also write TensorBoard logs in the run directory (``tensorboard/``; per phase
            for transfer learning): ``tensorboard --logdir runs/`` shows the runs.
        mixup, cutmix: passed to :func:`fit_classifier` (both phases of transfer learning): blend
            training images (``cnnkit.mixing``); 0: off.

    Returns:
        A dict: ``accuracy`` (test), ``train_seconds``, ``run_dir``, ``files`` (name -> path),
        ``history``, ``evaluation`` (see :func:`evaluate_classifier`), ``finished_earlier`` (``True``
        when ``run_dir`` held a finished run) and ``worker`` (``"worker i of n"``).

    Example:
        >>> r = train_classifier(epochs=1, subset=200, run_dir="run", verbose=0)  # train_classifier(): the main job
        >>> sorted(r["files"])
        ['confusion_matrix', 'history', 'history_plot', 'metrics', 'model']
        >>> print(r["evaluation"])  # doctest: +ELLIPSIS
        accuracy: ... (200 images), balanced accuracy: ...
        ...
    """
    strategy = distribution_strategy(strategy)  # first: a multi-worker one must precede any TensorFlow work
    seed = v.positive_int(seed, "seed", minimum=0)
    subset = None if subset is None else v.positive_int(subset, "subset", minimum=10)
    if isinstance(model, str):
        model = _model_name(model)
    elif not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be one of {list(MODELS)}, a backbone name (list_backbones()) or a "
                        f"Keras model, got {type(model).__name__}.")
    transfer = isinstance(model, str) and model not in MODELS
    if head_epochs is not None and not transfer:
        raise ValueError(f"{caller()}(): `head_epochs` is for transfer learning, with a backbone as `model` (e.g. "
                         f"model='efficientnet_lite0'); {model if isinstance(model, str) else 'this model'!r} "
                         "trains in one phase of `epochs` epochs.")
    head_epochs = (DEFAULTS["head_epochs"] if head_epochs is None else
                   v.positive_int(head_epochs, "head_epochs", minimum=0)) if transfer else None
    _check_labels(labels)
    if image_size is not None:
        image_size = v.image_size(image_size, "image_size")
        if (data is None and labels is None) or not isinstance(model, str):
            raise ValueError(f"{caller()}(): `image_size` is the size images from a `data` folder are resized to, for a "
                             "model built here (named); Fashion-MNIST is 28x28 (32x32 padded) and a Keras model has "
                             "its own input size. Leave image_size as None (NULL in R).")
    if data is not None:
        if not isinstance(data, (str, os.PathLike)) or not str(data):
            raise TypeError(f"{caller()}(): `data` must be None (Fashion-MNIST) or the path of a folder of images in class "
                            f"sub-folders, got {data!r} ({type(data).__name__}).")
        if not Path(data).expanduser().is_dir():
            what = "is not a folder" if Path(data).expanduser().exists() else "does not exist"
            hint = " (a CSV file of images and labels goes in `labels`)" if str(data).lower().endswith(".csv") else ""
            raise ValueError(f"{caller()}(): `data` {str(data)!r} {what}; pass a folder with one sub-folder of images per "
                             f"class (photos/<class>/<image>.jpg), or None for Fashion-MNIST{hint}.")
    plan = check_fit_args(model, epochs, built=not isinstance(model, str), batch_size=batch_size,
                          learning_rate=learning_rate, schedule=schedule, verbose=verbose, precision=precision,
                          overwrite=v.flag(overwrite, "overwrite"), checkpoint=False,
                          label_smoothing=label_smoothing, class_weight=class_weight, ema=ema,
                          tensorboard=tensorboard, mixup=mixup, cutmix=cutmix)
    views = check_tta(tta)
    settings: dict[str, Any] = {"model": model if isinstance(model, str) else model_fingerprint(model),
                "data": None if data is None else str(data), "subset": subset, "seed": seed, "epochs": plan.epochs,
                "batch_size": plan.batch_size, "learning_rate": plan.learning_rate, "schedule": plan.schedule,
                "precision": plan.precision}
    if transfer:
        settings["head_epochs"] = head_epochs
    settings.update(plan.optional_settings())  # the job's own seed is above (the plan has none)
    if views > 1:
        settings["tta"] = views
    if image_size is not None:
        settings["image_size"] = image_size
    if labels is not None:
        settings["labels"] = str(labels) if isinstance(labels, (str, os.PathLike)) else "(a table)"
    job = {"head_epochs": head_epochs, "image_size": image_size, "labels": labels, "tta": views}
    if is_chief(strategy) and run_dir is None:
        run_dir = new_run_dir()
    with Run(run_dir, strategy, plan.overwrite, "job", settings) as run:
        if run.finished and not is_multi_worker(strategy):
            return _finished_run(run)
        keras.utils.set_random_seed(seed)
        d = _data(data, model, subset, seed, image_size, labels)
        model = _model_to_train(model, d)
        start = time.perf_counter()
        # a finished run's workers wait for the chief's epoch: the chief goes through the (finished) fit with them
        history = _fit(model, d, plan, run_dir if run.path is None else run.path, strategy, job)
        seconds = time.perf_counter() - start
        if run.path is None:  # another worker: trained in step with the chief, writes nothing
            return _result(None, history, None, seconds, strategy, model=model)
        if run.finished:
            return _finished_run(run)
        result = _evaluate_and_save(model, d, run.path, plan, history, seconds, strategy, views)
        run.finish(accuracy=result["accuracy"], seconds=round(seconds, 2),
                   precision=resolve_precision(model, plan.precision))
        return result


def _check_labels(labels: Any) -> None:
    """``labels``: None, an existing CSV file or a table (the columns are checked when it is read)."""
    if labels is None:
        return
    if isinstance(labels, (str, os.PathLike)):
        if not str(labels) or not Path(labels).expanduser().is_file():
            raise ValueError(f"{caller()}(): `labels` {str(labels)!r} is not a file; pass a CSV file with a file and a label "
                             "column (one row per image), or a table.")
        return
    rows = isinstance(labels, (list, tuple)) and labels and all(isinstance(r, dict) for r in labels)
    if not (rows or isinstance(labels, dict) or hasattr(labels, "columns")):
        raise TypeError(f"{caller()}(): `labels` must be a CSV file or a table with a file and a label column "
                        f"({code('a dict of columns or a pandas DataFrame', 'a data frame')}), got {labels!r}.")


def _model_name(model: str) -> str:
    """One of the main job's models, or the registry name of a backbone (case and ``_``/``-`` ignored)."""
    if model in MODELS:
        return model

    try:
        return get_spec(model, arg="model").name
    except ValueError:
        import difflib

        names = list(MODELS) + list(REGISTRY)
        close = difflib.get_close_matches(_key(model), [_key(n) for n in names], n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(n) for n in names if _key(n) in close)}?" if close else ""
        raise ValueError(f"{caller()}(): `model` {model!r} is neither one of the small models ({', '.join(MODELS)}) nor "
                         f"a backbone for transfer learning ({', '.join(REGISTRY)}; see list_backbones()).{hint}"
                         ) from None


def _model_to_train(model: str | keras.Model, d: dict[str, Any]) -> keras.Model:
    """The model to train: a Keras model as given (checked against the data as fit_classifier()
    checks it: :func:`_check_model_fits`), a small model by name, or a transfer model."""
    if not isinstance(model, str):
        _check_model_fits(model, d)
        return model
    shape, k = tuple(int(s) for s in d["input_shape"]), len(d["class_names"])
    if model in MODELS:
        return MODELS[model][0](shape, num_classes=k)

    return transfer_model(model, shape, num_classes=k, mode="feature_extraction")


def _check_model_fits(model: keras.Model, d: dict[str, Any]) -> None:
    """fit_classifier()'s data checks for a user's model, before any training: a compiled loss that
    takes class ids, as many classes as the data has, and images and labels that fit (the training
    set checked and converted in ``d``, the test set checked: evaluate_classifier() reads it later)."""
    check_compiled_loss(model)
    data_class_names(model, {"class_names": d["class_names"]}, "data")
    d["train"] = check_data(model, d["train"], "data")
    check_data(model, d["test"], "data")


def _fit(model: keras.Model, d: dict[str, Any], plan, run_path, strategy, job: dict[str, Any]) -> dict[str, list[Any]]:
    """Train through the one engine: one phase (as fit_classifier() does), or fine_tune()'s two for a transfer model."""
    if job["head_epochs"] is None:
        contract.record(model, d["train"])  # the value range trained on travels with the saved model
        plan.class_weight = class_weights(model, d["train"], d["class_names"], plan)
        return run_phases(model, d["train"], None, plan, [Phase("fit", plan.epochs, plan.learning_rate)], run_path,
                          strategy, [])

    return fine_tune(model, d["train"], head_epochs=job["head_epochs"], epochs=plan.epochs,
                     batch_size=plan.batch_size, learning_rate=plan.learning_rate, schedule=plan.schedule,
                     run_dir=run_path, strategy=strategy, verbose=plan.verbose, precision=plan.precision,
                     checkpoint=plan.checkpoint, label_smoothing=plan.label_smoothing,
                     class_weight=plan.class_weight, ema=plan.ema, tensorboard=plan.tensorboard,
                     mixup=plan.mixup, cutmix=plan.cutmix)


class _JobResult(TypedDict):
    accuracy: float | None
    train_seconds: float
    run_dir: str | None
    files: dict[str, str]
    history: dict[str, list[Any]]
    evaluation: Any
    finished_earlier: bool
    worker: str


class JobResult(_JobResult, total=False):
    """What :func:`train_classifier` returns (see there); ``model`` only from a worker other than the chief."""

    model: keras.Model


def _result(run_path: Path | None, history: dict[str, list[Any]], evaluation: Any, seconds: float, strategy: Any,
            files: dict[str, str] | None = None, finished_earlier: bool = False, **extra: Any) -> JobResult:
    """The one place a job's result is put together (a fresh run, a finished one, another worker's part)."""
    return JobResult(accuracy=None if evaluation is None else evaluation["accuracy"], train_seconds=seconds,
                     run_dir=None if run_path is None else str(run_path), files=files or {}, history=history,
                     evaluation=evaluation, finished_earlier=finished_earlier, worker=task_label(strategy),
                     **extra)  # type: ignore[typeddict-item]


def _finished_run(run: Run) -> JobResult:
    """What a finished run directory holds, read back instead of training again."""
    assert run.path is not None
    metrics = json.loads((run.path / "metrics.json").read_text())
    ev = as_evaluation(metrics["evaluation"])  # prints as the report, as a fresh run's does
    run.warn_finished(f" (test accuracy {metrics['accuracy']:.4f})", loaded="nothing was trained")
    files = {k: str(run.path / f) for k, f in FILES.items() if (run.path / f).exists()}
    history = RunLog(None, read_history_csv(run.path / HISTORY)).history()
    return _result(run.path, history, ev, metrics["train_seconds"], None, files, finished_earlier=True)


FILES = {"model": "model.keras", "history_plot": "history.png", "confusion_matrix": "confusion_matrix.png",
         "history": "history.csv", "metrics": "metrics.json"}


def _evaluate_and_save(model: keras.Model, d: dict[str, Any], run_path: Path, plan: FitPlan,
                       history: dict[str, list[Any]], seconds: float, strategy: Any, views: int = 1) -> JobResult:
    """After training: the model, the history plot, the test evaluation and its confusion matrix, metrics.json."""
    files = {"model": save_model(model, run_path / FILES["model"], class_names=d["class_names"]),
             # (fine_tune()'s "phase" column is text: the epochs are numbered on across both phases)
             "history_plot": plot_history({k: h for k, h in history.items() if k != "phase"},
                                          run_path / FILES["history_plot"])}
    ev = evaluate_classifier(model, d["test"], class_names=d["class_names"],
                             file=run_path / FILES["confusion_matrix"], precision=plan.precision, tta=views)
    files["confusion_matrix"] = ev["file"]
    files["history"] = str(run_path / FILES["history"])
    metrics = {"accuracy": ev["accuracy"], "train_seconds": round(seconds, 2), "n_test": ev["n"], "model": model.name,
               "epochs": len(history["epoch"]), "data": d["source"], "tta": views,
               "balanced_accuracy": ev["balanced_accuracy"], "per_class": ev["per_class"],
               # the report; not the test set's probabilities (they are for plot_roc_curves(), in memory)
               "evaluation": {k: val for k, val in ev.items() if k not in ("file", *SCORES)}}
    _write_json(json_ready(metrics), run_path / FILES["metrics"])
    files["metrics"] = str(run_path / FILES["metrics"])
    return _result(run_path, history, ev, seconds, strategy, files)
