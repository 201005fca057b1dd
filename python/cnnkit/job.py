"""The main job: train a classifier on Fashion-MNIST (or a folder of images), report test accuracy,
and keep the model, the history plot and the confusion matrix in a run directory.

``cnnkit train`` (the command line) and ``cnnkit::train_classifier()`` (R) both call
:func:`train_classifier`. The default model, :func:`fashion_cnn`, with a one-cycle (warm-up + cosine)
learning rate reaches about 92.5 % test accuracy on Fashion-MNIST in 8 epochs (see README).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from . import _validate as v
from ._files import atomic_path, writable_dir
from .distribute import distribution_strategy, is_chief, is_multi_worker, task_label
from .rundir import RunFinishedWarning, json_ready, model_fingerprint, run_directory
from .train import check_fit_args, run_fit


def fashion_cnn(input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                filters: tuple[int, int] = (32, 48), units: int = 128) -> keras.Model:
    """The main job's default model: two conv blocks with BatchNorm, then a Dense layer.

    ``Conv 5x5 -> MaxPool -> BN -> ReLU``, ``Conv 3x3 -> MaxPool -> BN -> ReLU``, ``Flatten``,
    ``Dense(units, relu)``, ``Dense(num_classes, softmax)``. Pooling comes straight after each
    convolution: max pooling commutes with the ReLU, and BatchNorm and ReLU then run on a quarter of
    the pixels, which nearly halves the training time on a CPU. Small enough to train on two CPU
    cores in about a minute, wide enough for about 92.5 % on Fashion-MNIST.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: output classes (softmax; 1 gives a sigmoid output).
        filters: filters of the two convolutional blocks.
        units: hidden Dense units.

    Returns:
        An uncompiled ``keras.Model`` named ``fashion_cnn``.

    Example:
        >>> fashion_cnn().count_params()
        317418
    """
    from .blocks import output_layer

    fn = "fashion_cnn"
    input_shape = v.shape(input_shape, "input_shape", fn, ndim=3)
    f1, f2 = v.sizes(filters, "filters", fn, 2)
    units = v.positive_int(units, "units", fn)
    num_classes = v.positive_int(num_classes, "num_classes", fn)
    if input_shape[0] < 4 or input_shape[1] < 4:
        raise ValueError(f"{fn}(): `input_shape` must be at least 4x4 (two 2x2 poolings), got {input_shape}.")
    L = keras.layers
    inputs = keras.Input(input_shape)
    x = inputs
    for i, (f, k) in enumerate(((f1, 5), (f2, 3)), start=1):
        x = L.Conv2D(f, k, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = L.MaxPooling2D(2, name=f"block{i}_pool")(x)
        x = L.BatchNormalization(name=f"block{i}_bn")(x)
        x = L.ReLU(name=f"block{i}_act")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(units, activation="relu", name="dense")(x)
    return keras.Model(inputs, output_layer(num_classes, fn=fn)(x), name="fashion_cnn")


def _simple_cnn(input_shape, num_classes):
    from .cnn import simple_cnn

    return simple_cnn(input_shape, num_classes=num_classes)


def _lenet5(input_shape, num_classes):
    from .lenet import lenet5

    return lenet5(input_shape, num_classes=num_classes)


# name -> (factory(input_shape, num_classes), Fashion-MNIST options it needs)
MODELS: dict[str, tuple[Callable[..., keras.Model], dict[str, Any]]] = {
    "fashion_cnn": (lambda shape, k: fashion_cnn(shape, k), {}),
    "simple_cnn": (_simple_cnn, {}),
    "lenet5": (_lenet5, {"pad": True}),
}
DEFAULTS = {"model": "fashion_cnn", "epochs": 8, "batch_size": 128, "learning_rate": 3e-3, "schedule": "cosine"}


def new_run_dir(root: str | os.PathLike = "runs") -> Path:
    """A fresh ``root/<YYYYmmdd-HHMMSS>`` path (``-2``, ``-3``, ... if taken), not yet created."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = writable_dir(root, "run_dir", "train_classifier")
    path, i = root / stamp, 1
    while path.exists():
        i += 1
        path = root / f"{stamp}-{i}"
    return path


def _input_spec(model: str | keras.Model) -> tuple[dict[str, Any], tuple[int, int], str]:
    """Fashion-MNIST options, image size and colour mode that fit a model (by name or instance)."""
    if isinstance(model, str):
        opts = MODELS[model][1]
        size = (32, 32) if opts.get("pad") else (28, 28)
        return opts, size, "grayscale"
    from ._checks import model_input_shape

    shape = model_input_shape(model, "train_classifier")
    channels = shape[-1] if shape[-1] in (1, 3) else 1
    size = tuple(int(s) if s else 28 for s in shape[1:3])
    return {"pad": size == (32, 32), "channels": channels}, size, "grayscale" if channels == 1 else "rgb"


def _data(data: Any, model: str | keras.Model, subset: int | None, seed: int, fn: str) -> dict[str, Any]:
    """Train/test arrays (Fashion-MNIST) or datasets (an image folder) plus class names."""
    from .data import image_folder, load_fashion_mnist

    opts, size, color_mode = _input_spec(model)
    if data is None:
        d = load_fashion_mnist(n=subset, n_test=subset, seed=seed, **opts)
        return {"train": (d["x_train"], d["y_train"]), "test": (d["x_test"], d["y_test"]),
                "class_names": d["class_names"], "input_shape": d["x_train"].shape[1:],
                "source": f"Fashion-MNIST ({d['source']})"}
    if not isinstance(data, (str, os.PathLike)):
        raise TypeError(f"{fn}(): `data` must be None (Fashion-MNIST) or a folder of images in class "
                        f"sub-folders, got {type(data).__name__}.")
    if isinstance(model, str) and model != "lenet5":  # a model built here: 64x64 colour for photos
        size, color_mode = (64, 64), "rgb"
    d = image_folder(data, image_size=size, color_mode=color_mode, validation_split=0.2, seed=seed)
    return {"train": d["train"], "test": d["validation"], "class_names": d["class_names"],
            "input_shape": size + ((1,) if color_mode == "grayscale" else (3,)), "source": f"image folder {data}"}


def _write_json(obj: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


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
) -> dict[str, Any]:
    """The main job: train, evaluate on the test set, and save everything in a run directory.

    With no arguments: :func:`fashion_cnn` on the 60,000 Fashion-MNIST training images, 8 epochs
    with a one-cycle learning rate, evaluated on the 10,000 test images. The run directory
    receives ``model.keras`` (with class names), ``history.csv``, ``history.png``,
    ``confusion_matrix.png``, ``metrics.json`` and ``run.json`` (the settings). Killed and started
    again with the same ``run_dir`` and settings, training resumes from the last completed epoch;
    a finished run is not trained again: its results are returned, with a warning, unless
    ``overwrite=True``. Training goes through :func:`fit_classifier`.

    Args:
        model: ``"fashion_cnn"``, ``"simple_cnn"``, ``"lenet5"`` or a Keras model.
        data: ``None`` for Fashion-MNIST, or a folder with one sub-folder of images per class
            (then 20 % of the images are held out as the test set).
        epochs, batch_size, learning_rate, schedule: passed to :func:`fit_classifier`.
        subset: use only this many training (and test) images, e.g. for a quick check.
        run_dir: where to save (default: a new ``runs/<timestamp>/``).
        overwrite: discard what ``run_dir`` holds and train afresh.
        strategy: ``None`` or ``"mirrored"`` (see :func:`distribution_strategy`). With several
            workers, only the chief writes the run directory and evaluates; the others return
            ``accuracy`` ``None``.
        seed: seed for weights, subsets and shuffling.
        verbose: Keras' progress display (``"auto"``, 0, 1, 2).
        precision: ``"auto"``, ``"float32"`` or ``"mixed_bfloat16"`` (see :func:`fit_classifier`).

    Returns:
        A dict: ``accuracy`` (test), ``train_seconds``, ``run_dir``, ``files`` (name -> path),
        ``history``, ``evaluation`` (see :func:`evaluate_classifier`), ``finished_earlier`` (``True``
        when ``run_dir`` held a finished run) and ``worker`` (``"worker i of n"``).

    Example:
        >>> r = train_classifier(epochs=1, subset=2000)  # doctest: +SKIP
        >>> r["accuracy"]  # doctest: +SKIP
        0.74
    """
    fn = "train_classifier"
    strategy = distribution_strategy(strategy, fn)  # first: a multi-worker one must precede any TensorFlow work
    seed = v.positive_int(seed, "seed", fn, minimum=0)
    subset = None if subset is None else v.positive_int(subset, "subset", fn, minimum=10)
    if isinstance(model, str):
        name = v.choice(model, "model", fn, MODELS)
    elif not isinstance(model, keras.Model):
        raise TypeError(f"{fn}(): `model` must be one of {list(MODELS)} or a Keras model, got {type(model).__name__}.")
    if data is not None:
        if not isinstance(data, (str, os.PathLike)) or not str(data):
            raise TypeError(f"{fn}(): `data` must be None (Fashion-MNIST) or the path of a folder of images in class "
                            f"sub-folders, got {data!r} ({type(data).__name__}).")
        if not Path(data).expanduser().is_dir():
            what = "is not a folder" if Path(data).expanduser().exists() else "does not exist"
            raise ValueError(f"{fn}(): `data` {str(data)!r} {what}; pass a folder with one sub-folder of images per "
                             "class (photos/<class>/<image>.jpg), or None for Fashion-MNIST.")
    plan = check_fit_args(model, fn, epochs, built=not isinstance(model, str), batch_size=batch_size,
                          learning_rate=learning_rate, schedule=schedule, verbose=verbose, precision=precision,
                          overwrite=v.flag(overwrite, "overwrite", fn), checkpoint=False)
    settings = {"model": model if isinstance(model, str) else model_fingerprint(model),
                "data": None if data is None else str(data), "subset": subset, "seed": seed, "epochs": plan.epochs,
                "batch_size": plan.batch_size, "learning_rate": plan.learning_rate, "schedule": plan.schedule,
                "precision": plan.precision}
    if not is_chief(strategy):
        return _worker_run(model, data, subset, seed, plan, run_dir, strategy, fn)
    with run_directory(run_dir if run_dir is not None else new_run_dir(), fn, plan.overwrite) as rd:
        rd.start("job", settings)
        finished = rd.finished("job")
        if finished and not is_multi_worker(strategy):
            return _finished_run(rd, fn)
        keras.utils.set_random_seed(seed)
        d = _data(data, model, subset, seed, fn)
        if isinstance(model, str):
            model = MODELS[name][0](tuple(int(s) for s in d["input_shape"]), len(d["class_names"]))
        if finished:  # the other workers wait for the chief's epoch: go through the (finished) fit with them
            run_fit(model, d["train"], None, plan, rd.path, strategy, [], fn)
            return _finished_run(rd, fn)
        result = _run(model, d, rd.path, plan, strategy)
        rd.finish("job", accuracy=result["accuracy"])
        return result


def _worker_run(model, data, subset, seed, plan, run_dir, strategy, fn) -> dict[str, Any]:
    """A non-chief worker's part of the job: train in step with the chief, write nothing."""
    keras.utils.set_random_seed(seed)
    d = _data(data, model, subset, seed, fn)
    if isinstance(model, str):
        model = MODELS[model][0](tuple(int(s) for s in d["input_shape"]), len(d["class_names"]))
    start = time.perf_counter()
    history = run_fit(model, d["train"], None, plan, run_dir, strategy, [], fn)
    return {"accuracy": None, "train_seconds": time.perf_counter() - start, "run_dir": None, "files": {},
            "history": history, "evaluation": None, "finished_earlier": False, "worker": task_label(strategy),
            "model": model}


def _finished_run(rd: Any, fn: str) -> dict[str, Any]:
    """What a finished run directory holds, read back instead of training again."""
    from .train import RunLog, read_history_csv

    metrics = json.loads((rd.path / "metrics.json").read_text())
    ev = dict(metrics["evaluation"])
    ev["confusion_matrix"] = np.asarray(ev["confusion_matrix"], dtype="int64")
    warnings.warn(f"{fn}(): `run_dir` {str(rd.path)!r} holds a finished run (test accuracy {metrics['accuracy']:.4f}); "
                  "nothing was trained. To train again, pass overwrite=True (R: overwrite = TRUE; CLI: --overwrite) "
                  "or use another run_dir.", RunFinishedWarning, stacklevel=3)
    files = {k: str(rd.path / f) for k, f in FILES.items() if (rd.path / f).exists()}
    return {"accuracy": metrics["accuracy"], "train_seconds": metrics["train_seconds"], "run_dir": str(rd.path),
            "files": files, "history": RunLog(None, read_history_csv(rd.path / "history.csv")).history(),
            "evaluation": ev, "finished_earlier": True, "worker": "worker 0 of 1"}


FILES = {"model": "model.keras", "history_plot": "history.png", "confusion_matrix": "confusion_matrix.png",
         "history": "history.csv", "metrics": "metrics.json"}


def _run(model, d, run_path: Path, plan, strategy) -> dict[str, Any]:
    from .evaluate import evaluate_classifier
    from .saving import save_model
    from .train import plot_history

    start = time.perf_counter()
    history = run_fit(model, d["train"], None, plan, run_path, strategy, [], "train_classifier")
    seconds = time.perf_counter() - start
    files = {"model": save_model(model, run_path / FILES["model"], class_names=d["class_names"]),
             "history_plot": plot_history(history, run_path / FILES["history_plot"])}
    ev = evaluate_classifier(model, d["test"], class_names=d["class_names"],
                             file=run_path / FILES["confusion_matrix"], precision=plan.precision)
    files["confusion_matrix"] = ev["file"]
    files["history"] = str(run_path / FILES["history"])
    metrics = {"accuracy": ev["accuracy"], "train_seconds": round(seconds, 2), "n_test": ev["n"], "model": model.name,
               "epochs": len(history["epoch"]), "data": d["source"], "per_class": ev["per_class"],
               "evaluation": {k: val for k, val in ev.items() if k != "file"}}
    _write_json(json_ready(metrics), run_path / FILES["metrics"])
    files["metrics"] = str(run_path / FILES["metrics"])
    return {"accuracy": ev["accuracy"], "train_seconds": seconds, "run_dir": str(run_path), "files": files,
            "history": history, "evaluation": ev, "finished_earlier": False, "worker": task_label(strategy)}
