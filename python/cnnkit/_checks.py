"""Data against model: checked before any training or prediction, with errors that say what to do.

Images must match the model's input (size and channels), labels must be class ids the output layer
can produce, and nothing may be NaN or infinite. ``fit_classifier``, ``evaluate_classifier`` and
``predict_classes`` share these checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_dataset(data: Any) -> bool:
    """True for a ``tf.data.Dataset`` (checked without importing TensorFlow for plain arrays)."""
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec")


def model_input_shape(model: Any, fn: str) -> tuple:
    shapes = model.input_shape
    if isinstance(shapes, list):
        if len(shapes) != 1:
            raise ValueError(f"{fn}(): `model` has {len(shapes)} inputs; cnnkit trains models with one image input.")
        shapes = shapes[0]
    return tuple(shapes)


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("any" if d is None else str(d) for d in shape) + ")"


def check_images_shape(model: Any, shape: tuple, arg: str, fn: str) -> None:
    """Raise if images of ``shape`` (batch axis included) cannot go into ``model``."""
    want = model_input_shape(model, fn)
    got = tuple(shape)
    if len(got) == len(want) - 1 and all(w in (None, g) for w, g in zip(want[1:], got)):
        raise ValueError(f"{fn}(): `{arg}` holds one image of shape {_fmt(got)}; pass a batch of shape "
                         f"{_fmt((1,) + got)} (Python: x[None]; R: array(x, c(1, dim(x)))).")
    if len(got) != len(want):
        hint = ""
        if len(got) == len(want) - 1 and want[-1] == 1:
            hint = " Add the channel axis: x[..., None] in Python, dim(x) <- c(dim(x), 1) in R."
        raise ValueError(f"{fn}(): `{arg}` has shape {_fmt(got)} but the model takes {len(want)}-D input "
                         f"{_fmt(want)} (batch, height, width, channels).{hint}")
    bad = [i for i, (w, g) in enumerate(zip(want[1:], got[1:]), start=1) if w is not None and g is not None and w != g]
    if bad:
        msg = (f"{fn}(): `{arg}` holds images of shape {_fmt(got[1:])} but the model expects {_fmt(want[1:])}.")
        if bad == [len(want) - 1]:
            msg += (f" The channel count differs ({got[-1]} vs {want[-1]}): load_fashion_mnist(channels={want[-1]}), "
                    f"image_folder(color_mode='{'grayscale' if want[-1] == 1 else 'rgb'}'), or build the model "
                    f"with {got[-1]} channel(s).")
        else:
            msg += (" Resize or pad the images (load_fashion_mnist(pad=True) gives 32x32), or build the model "
                    f"for this size (e.g. input_shape={_fmt(got[1:])}).")
        raise ValueError(msg)


def check_images(model: Any, x: Any, arg: str, fn: str) -> np.ndarray:
    """Images as a float32 array that fits ``model``, or a ValueError/TypeError naming ``arg``."""
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{fn}(): `{arg}` must be an array of images, got {type(x).__name__} ({e}).") from None
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{fn}(): `{arg}` must be a numeric array of images, got dtype {x.dtype}.")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{fn}(): `{arg}` holds no images (shape {x.shape}).")
    check_images_shape(model, x.shape, arg, fn)
    # float32 in C (row-major) order: R arrays arrive column-major, and Keras would otherwise make a
    # strided copy of every batch (measured: R calls 1.28x slower than Python's, bench/r_vs_python.R)
    x = np.ascontiguousarray(x, dtype="float32")
    bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(f"{fn}(): `{arg}` contains {bad} NaN or infinite value(s) (in "
                         f"{int(np.count_nonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1)))} image(s)); "
                         "remove or replace them before training.")
    return x


def check_labels(model: Any, y: Any, n: int, arg: str, fn: str) -> np.ndarray:
    """Class ids ``0..k-1`` for the model's output layer, one per image, as int32."""
    from .train import output_kind

    kind, k = output_kind(model)
    classes = 2 if kind == "binary" else k
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        hint = " One-hot labels? Use y.argmax(axis=1)." if y.ndim == 2 and y.shape[1] == classes else ""
        raise ValueError(f"{fn}(): `{arg}` must be one class id per image, shape ({n},), got shape {y.shape}.{hint}")
    if len(y) != n:
        raise ValueError(f"{fn}(): `{arg}` has {len(y)} labels but there are {n} images; they must match one to one.")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"{fn}(): `{arg}` must hold integer class ids, got dtype {y.dtype}.")
    yf = y.astype("float64")
    if not np.isfinite(yf).all():
        raise ValueError(f"{fn}(): `{arg}` contains {int((~np.isfinite(yf)).sum())} NaN or infinite label(s).")
    if (yf != np.round(yf)).any():
        raise ValueError(f"{fn}(): `{arg}` must hold whole class ids 0..{classes - 1}, got e.g. {yf[yf != np.round(yf)][0]}.")
    lo, hi = int(yf.min()), int(yf.max())
    if lo < 0 or hi > classes - 1:
        what = "a 1-unit sigmoid output (labels 0/1)" if kind == "binary" else f"{classes} classes (ids 0..{classes - 1})"
        hint = (" The labels look 1-based: subtract 1 (R: pass a factor, or y - 1)." if lo == 1 and hi == classes
                else " Build the model with num_classes set to the number of classes.")
        raise ValueError(f"{fn}(): `{arg}` has class ids from {lo} to {hi} but the model's output layer has {what}.{hint}")
    return y.astype("int32")


def check_dataset(model: Any, ds: Any, arg: str, fn: str) -> Any:
    spec = ds.element_spec
    if not isinstance(spec, tuple) or len(spec) < 2:
        raise ValueError(f"{fn}(): `{arg}` must be a dataset of (images, labels) pairs, got elements {spec}.")
    check_images_shape(model, tuple(spec[0].shape), arg, fn)
    return ds


def data_class_names(model: Any, data: Any, arg: str, fn: str) -> list[str] | None:
    """The class names that ``data`` carries, checked against the model's outputs: the
    ``class_names`` entry of an ``{"x", "y", "class_names"}`` dict (how R passes factor labels), or the
    ``class_names`` attribute of a dataset (as :func:`image_folder` and Keras'
    ``image_dataset_from_directory`` make them). ``None`` when the data carries none."""
    from .train import output_kind

    names = data.get("class_names") if isinstance(data, dict) else getattr(data, "class_names", None)
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{fn}(): the class names of `{arg}` must be a list of strings, got {names!r}.")
    kind, k = output_kind(model)
    classes = 2 if kind == "binary" else k
    if len(names) != classes:
        raise ValueError(f"{fn}(): `{arg}` has {len(names)} classes ({', '.join(map(str, names[:5]))}"
                         f"{', ...' if len(names) > 5 else ''}) but the model's output layer has {classes}. "
                         f"Build the model with num_classes={len(names) if len(names) != 2 else 1}.")
    return [str(n) for n in names]


def check_data(model: Any, data: Any, arg: str, fn: str) -> Any:
    """``(x, y)`` checked and converted, or a ``tf.data.Dataset`` checked by its element spec."""
    if is_dataset(data):
        return check_dataset(model, data, arg, fn)
    if isinstance(data, dict) and {"x", "y"} <= set(data):
        data = (data["x"], data["y"])
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{fn}(): `{arg}` must be (x, y) (images and class ids; in R list(x, y)) or a "
                        f"tf.data.Dataset, got {type(data).__name__}.")
    prefix = "" if arg == "data" else "validation " if arg == "validation_data" else f"{arg} "
    x = check_images(model, data[0], f"{prefix}x", fn)
    y = check_labels(model, data[1], len(x), f"{prefix}y", fn)
    return x, y
