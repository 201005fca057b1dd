"""Data against model: checked before any training or prediction, with errors that say what to do.

Images must be real numbers (integers or floats: not ``bool``, complex, strings or objects) that match
the model's input (size and channels); labels must be class ids the output layer can produce, one per
image; nothing may be NaN (R's ``NA``) or infinite; class names must be one per class the model
predicts (a 1-unit sigmoid output: 2). ``fit_classifier``, ``evaluate_classifier`` and
``predict_classes`` share these checks. (One argument's own checks, whatever the model: ``_arg_checks``;
what a model's input and output are: ``_model_info``.)

A ``tf.data.Dataset`` is checked from its element spec (image shape and dtype, label shape and dtype)
without reading it. Its label values cannot be known before it is read, so :func:`check_dataset`
returns the dataset with a guard -- a cheap ``map`` that asserts, batch by batch, that the labels are
class ids of the model and the images are finite. A failing guard raises TensorFlow's
``InvalidArgumentError`` inside Keras; wrap the loop that reads the dataset in
:func:`dataset_errors` to turn it into a ``ValueError`` that names the function and the argument.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any, Iterator, Sequence

import numpy as np

from ._context import caller, warn
from ._lang import code
from ._model_info import model_input_shape, output_kind, unbuilt_model_message

# --- the model -----------------------------------------------------------------------------------


def is_dataset(data: Any) -> bool:
    """True for a ``tf.data.Dataset`` (checked without importing TensorFlow for plain arrays)."""
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec")


def model_classes(model: Any, arg: str = "model") -> tuple[str, int]:
    """``("binary", 2)`` for a 1-unit sigmoid output, ``("multiclass", n)`` for an n-unit softmax, or
    an error naming the public function called and ``arg`` for a model that is not such a classifier."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `{arg}` must be a Keras model, got {type(model).__name__}.")
    try:
        out = model.output_shape
    except (AttributeError, ValueError):
        raise ValueError(unbuilt_model_message(model, arg)) from None
    if isinstance(out, list) or len(out) != 2:
        raise ValueError(f"{caller()}(): `{arg}` is not a classifier: its output has shape {out}, but cnnkit needs one "
                         "output of shape (batch, classes). End the model with cnnkit.output_layer(num_classes).")
    try:
        kind, k = output_kind(model)
    except (TypeError, ValueError) as e:
        why = str(e).split("(): ", 1)[-1]
        raise ValueError(f"{caller()}(): `{arg}` is not a classifier cnnkit can use: {why}") from None
    return kind, 2 if kind == "binary" else k


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("any" if d is None else str(d) for d in shape) + ")"


def check_images_shape(model: Any, shape: tuple, arg: str) -> None:
    """Raise if images of ``shape`` (batch axis included) cannot go into ``model``."""
    want = model_input_shape(model)
    got = tuple(shape)
    if len(got) == len(want) - 1 and all(w in (None, g) for w, g in zip(want[1:], got)):
        fix = code("x[None]", "x[1, , , , drop = FALSE] when you index one image, or array(x, c(1, dim(x)))")
        raise ValueError(f"{caller()}(): `{arg}` holds one image of shape {_fmt(got)}; pass a batch of shape "
                         f"{_fmt((1,) + got)} ({fix}).")
    if len(got) != len(want):
        raise ValueError(f"{caller()}(): `{arg}` has shape {_fmt(got)} but the model takes {len(want)}-D input "
                         f"{_fmt(want)} (batch, height, width, channels).{_rank_hint(got, want)}")
    if len(want) == 4 and want[-1] is not None and got[1] == want[-1] and got[-1] != want[-1] \
            and all(w in (None, g) for w, g in zip(want[1:3], got[2:4])):
        raise ValueError(f"{caller()}(): `{arg}` has shape {_fmt(got)}: channels first (batch, channels, height, width), "
                         f"but Keras takes channels last {_fmt(want)}. Move the channel axis: "
                         f"{code('x.transpose(0, 2, 3, 1)', 'aperm(x, c(1, 3, 4, 2))')}.")
    bad = [i for i, (w, g) in enumerate(zip(want[1:], got[1:]), start=1) if w is not None and g is not None and w != g]
    if bad:
        msg = (f"{caller()}(): `{arg}` holds images of shape {_fmt(got[1:])} but the model expects {_fmt(want[1:])}.")
        if bad == [len(want) - 1]:
            msg += (f" The channel count differs ({got[-1]} vs {want[-1]}): load_fashion_mnist(channels={want[-1]}), "
                    f"image_folder(color_mode='{'grayscale' if want[-1] == 1 else 'rgb'}'), or build the model "
                    f"with {got[-1]} channel(s).")
        else:
            msg += (" Resize or pad the images (load_fashion_mnist(pad=True) gives 32x32), or build the model "
                    f"for this size (e.g. input_shape={_fmt(got[1:])}).")
        raise ValueError(msg)


def _rank_hint(got: tuple, want: tuple) -> str:
    """How to get from an array of shape ``got`` to the model's ``want`` (same batch), if it is clear."""
    image = want[1:]
    size = math.prod(image) if None not in image else None
    if len(got) == len(want) - 1 and want[-1] == 1 and all(w in (None, g) for w, g in zip(want[1:-1], got[1:])):
        return (" The channel axis is missing: "
                + code("x[..., None]", "dim(x) <- c(dim(x), 1), or index with drop = FALSE (x[1:5, , , , drop = FALSE])")
                + ".")
    if len(got) == len(want) - 2 and want[-1] == 1 and all(w in (None, g) for w, g in zip(want[1:-1], got)):
        return (" It is one grayscale image without its batch and channel axes: "
                + code("x[None, ..., None]", "index with drop = FALSE (x[1, , , , drop = FALSE]), or dim(x) <- c(1, dim(x), 1)")
                + ".")
    if len(got) == 2 and size is not None and got[1] == size:
        return (f" The images are flattened ({got[1]} values each): reshape them to {_fmt((got[0],) + image)} "
                + code(f"(x.reshape(-1, {', '.join(map(str, image))}))",
                       f"(reticulate::array_reshape(x, c(nrow(x), {', '.join(map(str, image))})): row-major, "
                       "as they were flattened in Python)") + ".")
    if len(got) == len(want) + 1 and all(w in (None, g) for w, g in zip(image, got[2:])):
        return (" It looks like batches stacked on an extra axis: merge the first two, "
                + code(f"x.reshape(-1, {', '.join(map(str, got[2:]))})",
                       f"reticulate::array_reshape(x, c(-1, {', '.join(map(str, got[2:]))}))") + ".")
    return ""


# --- arrays --------------------------------------------------------------------------------------

def image_dtype_problem(dtype: Any, sample: Any = None) -> str | None:
    """Why images of ``dtype`` are refused (``None``: integers and floats are fine).

    ``bool`` images are refused too: a logical array is far more often a mask or a comparison passed
    by mistake than a picture, and converting it is one call.
    """
    kind = np.dtype(dtype).kind
    if kind in "iuf":
        return None
    if kind == "O" and sample is not None and isinstance(sample, (str, bytes)):
        kind = "U"  # R character arrays arrive as NumPy object arrays of str
    if kind == "b":
        return ("holds TRUE/FALSE (bool) values, not pixel values; if they are 0/1 images, convert them "
                "(" + code("x.astype('float32')", "x * 1") + ")")
    if kind == "c":
        return "holds complex numbers; images must be real numbers (take x.real or abs(x) if that is what you mean)"
    if kind in "US":
        return ("holds strings, not pixel values (image files? predict_classes() takes file paths; "
                "load_images() reads them)")
    return "must be a numeric array of images (integers or floats), got dtype " + (
        "object (mixed or missing values?)" if kind == "O" else str(np.dtype(dtype)))


def image_array(x: Any, strict: bool = False) -> tuple[np.ndarray, str | None]:
    """``(x as a NumPy array, why its values are no pixel values)``: cnnkit's one conversion of images
    given as arrays (or lists, or R arrays) to NumPy; the problem is :func:`image_dtype_problem`'s,
    ``None`` for integers and floats. When NumPy cannot make one array of ``x`` (a list of images of
    different sizes) the array is ``np.asarray(None)`` and the problem that of an object array, or,
    with ``strict=True``, NumPy's error is raised.

    Example:
        >>> image_array([[0, 1], [2, 3]])[0].shape, image_array(np.zeros((2, 2), bool))[1].startswith("holds TRUE")
        ((2, 2), True)
    """
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        if strict:
            raise
        arr = np.asarray(None)
    return arr, image_dtype_problem(arr.dtype, arr.flat[0] if arr.size else None)


def check_images(model: Any, x: Any, arg: str) -> np.ndarray:
    """Images as a float32 array that fits ``model``, or a ValueError/TypeError naming ``arg``."""
    if x is None:
        raise TypeError(f"{caller()}(): `{arg}` is None (NULL); pass an array of images (n, height, width, channels).")
    try:
        x, problem = image_array(x, strict=True)
    except (TypeError, ValueError) as e:
        shapes = _shapes(x)
        if shapes:
            raise ValueError(f"{caller()}(): `{arg}` is a list of images of different sizes ({', '.join(shapes[:4])}"
                             f"{', ...' if len(shapes) > 4 else ''}); give images of one size, (n, height, width, "
                             "channels): resize them first (load_images() reads files at one size).") from None
        raise TypeError(f"{caller()}(): `{arg}` must be an array of images, got {type(x).__name__} ({e}).") from None
    if problem:
        raise TypeError(f"{caller()}(): `{arg}` {problem}.")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{caller()}(): `{arg}` holds no images (shape {x.shape}).")
    check_images_shape(model, x.shape, arg)
    # float32 in C (row-major) order: R arrays arrive column-major, and Keras would otherwise make a
    # strided copy of every batch (measured: R calls 1.28x slower than Python's, bench/acceptance/r_vs_python.R)
    with np.errstate(invalid="ignore", over="ignore"):  # R's NA is a signalling NaN; huge values become inf
        x = np.ascontiguousarray(x, dtype="float32")
    finite = np.isfinite(x)
    bad = int(np.size(x) - np.count_nonzero(finite))
    if bad:
        images = int(np.count_nonzero(~finite.reshape(len(x), -1).all(axis=1)))
        raise ValueError(f"{caller()}(): `{arg}` contains {bad} missing ({code('NaN', 'NA or NaN')}) or infinite value(s) "
                         f"in {images} "
                         "image(s); remove or replace them before training.")
    return x


def _shapes(items: Any) -> list[str]:
    """The distinct shapes of a list of arrays (as text), or [] if it is not a list of arrays."""
    if not isinstance(items, (list, tuple)) or not items:
        return []
    shapes = []
    for item in items:
        shape = getattr(item, "shape", None)
        if shape is None:
            return []
        if _fmt(tuple(shape)) not in shapes:
            shapes.append(_fmt(tuple(shape)))
    return shapes if len(shapes) > 1 else []


def _label_values(y: Any, arg: str) -> np.ndarray:
    """``y`` as an array of numbers (float64 where there are missing values), or a TypeError."""
    if y is None:
        raise TypeError(f"{caller()}(): `{arg}` is None (NULL); pass one class id per image.")
    try:
        y = np.asarray(y)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{caller()}(): `{arg}` must be class ids, got {type(y).__name__} ({e}).") from None
    kind = y.dtype.kind
    if kind == "O" and y.size and isinstance(y.flat[0], (str, bytes)):
        kind = "U"  # R character arrays arrive as NumPy object arrays of str
    elif kind == "O":  # e.g. a Python list with None for a missing label
        try:
            y = np.asarray(np.where(np.equal(y, None), np.nan, y), dtype="float64")
        except (TypeError, ValueError):
            kind = "?"
        else:
            kind = "f"
    if kind in "US":
        raise TypeError(f"{caller()}(): `{arg}` holds strings ({y.flat[0]!r}, ...), not class ids. Class names as labels? "
                        "In R pass factor(y) (its levels, in order, are classes 0, 1, ...); in Python map them to "
                        "ids, e.g. names, ids = np.unique(y, return_inverse=True).")
    if kind == "c":
        raise TypeError(f"{caller()}(): `{arg}` holds complex numbers; labels must be whole class ids 0, 1, ...")
    if kind not in "biuf":
        raise TypeError(f"{caller()}(): `{arg}` must hold integer class ids, got dtype {y.dtype}.")
    return y


def check_labels(model: Any, y: Any, n: int, arg: str, named: bool = False) -> np.ndarray:
    """Class ids ``0..k-1`` for the model's output layer, one per image, as int32.

    Also refused: ``bool`` (R's logical) labels for a model of more than 2 classes, and ids that look
    1-based (see :func:`warn_one_based`, which ``named`` -- labels that come with their class names,
    as an R factor's do -- skips)."""
    kind, classes = model_classes(model)
    y = _label_values(y, arg)
    if y.dtype.kind == "b" and classes != 2:
        raise TypeError(f"{caller()}(): `{arg}` holds {code('True/False (bool)', 'TRUE/FALSE (logical)')} labels, which are "
                        f"classes 0 and 1 of a 1-unit sigmoid or 2-class model, but the model has {classes} classes. "
                        f"Pass class ids 0..{classes - 1} "
                        f"({code('y.astype(int) if 0/1 is meant', 'a factor, or y * 1 if 0/1 is meant')}).")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        hint = (f" One-hot labels? Use {code('y.argmax(axis=1)', 'max.col(y) - 1')}."
                if y.ndim == 2 and y.shape[1] == classes else "")
        raise ValueError(f"{caller()}(): `{arg}` must be one class id per image, shape ({n},), got shape {y.shape}.{hint}")
    if len(y) != n:
        raise ValueError(f"{caller()}(): `{arg}` has {len(y)} labels but there are {n} images; they must match one to one.")
    yf = y.astype("float64")
    missing = int(np.isnan(yf).sum())
    if missing:
        raise ValueError(f"{caller()}(): `{arg}` contains {missing} missing label(s) ({code('NaN', 'NA or NaN')}). "
                         "Remove those images "
                         "or give them a class.")
    if not np.isfinite(yf).all():
        raise ValueError(f"{caller()}(): `{arg}` contains {int((~np.isfinite(yf)).sum())} infinite label(s).")
    if (yf != np.round(yf)).any():
        raise ValueError(f"{caller()}(): `{arg}` must hold whole class ids 0..{classes - 1}, "
                         f"got e.g. {yf[yf != np.round(yf)][0]}.")
    lo, hi = int(yf.min()), int(yf.max())
    if lo < 0 or hi > classes - 1:
        raise ValueError(f"{caller()}(): `{arg}` has class ids from {lo} to {hi} but the model's output layer has "
                         f"{_what(kind, classes)}.{_label_hint(lo, hi, classes)}")
    if not named:
        warn_one_based(yf, classes, arg)
    return y.astype("int32")


def _what(kind: str, classes: int) -> str:
    return "a 1-unit sigmoid output (labels 0/1)" if kind == "binary" else f"{classes} classes (ids 0..{classes - 1})"


def _label_hint(lo: int, hi: int, classes: int) -> str:
    if lo >= 1 and hi == classes:  # no 0, and the top id is one past the last class: counted from 1
        return f" The labels look 1-based: {code('subtract 1 (y - 1)', 'pass a factor, or y - 1')}."
    return " Build the model with num_classes set to the number of classes."


# Labels without a 0 that fit the model (its top class absent) may still be counted from 1: a sample
# of n labels drawn evenly from k classes lacks class 0 with probability (1 - 1/k)^n, below 1 % (about
# e^-5) once n >= 5k. Fewer labels, fewer than 3 classes or a single label value: no warning.
ONE_BASED_PER_CLASS = 5


class OneBasedLabelsWarning(UserWarning):
    """Class ids without a 0 that look counted from 1 (see :func:`warn_one_based`)."""


def warn_one_based(yf: np.ndarray, classes: int, arg: str) -> None:
    """Warn when class ids in range look 1-based: no 0 among at least ``5 * classes`` labels (3 or more
    classes) holding at least two different ids. (With the top id ``classes`` present the labels are
    out of range: :func:`check_labels` raises.) A warning, not an error: a sample without class 0 is
    also what evaluating on some of the classes gives. Labels with their class names (an R factor, a
    dict with ``class_names``) say what each id means and are not checked."""
    n = len(yf)
    if classes < 3 or n < ONE_BASED_PER_CLASS * classes or yf.min() < 1 or np.unique(yf).size < 2:
        return

    opt_out = code("pass {'x': x, 'y': y, 'class_names': names} (labels with their names are not checked)",
                   f"pass a factor (factor(y, levels = 0:{classes - 1}) for 0-based ids)")
    warn(
        f"{caller()}(): `{arg}` has no class 0 among its {n:,} labels (ids {int(yf.min())}..{int(yf.max())}; the model has "
        f"classes 0..{classes - 1}): they look 1-based, which would score every image as the class after its own. "
        f"If so, pass {code('y - 1', 'y - 1, or a factor')}. If class 0 is really absent from this data, {opt_out}.",
        OneBasedLabelsWarning)


def check_class_names(model: Any, class_names: Any, arg: str) -> list[str]:
    """One distinct string per class the model predicts (a 1-unit sigmoid output: 2), as a list."""
    _, k = model_classes(model)
    items = list(class_names) if isinstance(class_names, (list, tuple, np.ndarray)) else None
    if items is None or not all(isinstance(c, str) for c in items):
        raise TypeError(f"{caller()}(): `{arg}` must be {code('a list of strings', 'a character vector')}, one per class, "
                        f"got {class_names!r}.")
    names = [str(c) for c in items]
    if len(names) != k:
        binary = " (a 1-unit sigmoid output predicts 2 classes: the names of class 0 and class 1)" if k == 2 else ""
        raise ValueError(f"{caller()}(): `{arg}` has {len(names)} names but the model predicts {k} classes{binary}.")
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise ValueError(f"{caller()}(): `{arg}` names a class twice ({', '.join(map(repr, dupes))}); give each class "
                         "its own name.")
    return names


# --- datasets ------------------------------------------------------------------------------------

_MARK = re.compile(r"\[<cnnkit> (.*?)\] \[(.*?)\] \[(.*?) </cnnkit>\]", re.S)


def check_dataset(model: Any, ds: Any, arg: str) -> Any:
    """Check a dataset of ``(images, labels)`` batches by its element spec and return it guarded.

    The spec gives the image shape and both dtypes; the guard (a ``map``) checks each batch's label
    values and images as Keras reads them: whole, finite class ids within the model's classes, one
    per image, and finite pixels. Wrap the reading loop in :func:`dataset_errors`.
    """
    import tensorflow as tf

    spec = ds.element_spec
    if not isinstance(spec, tuple) or not 2 <= len(spec) <= 3 or \
            not all(isinstance(s, tf.TensorSpec) for s in spec[:2]):
        raise ValueError(f"{caller()}(): `{arg}` must be a dataset of (images, labels) batches, got elements {spec}.")
    xs, ys = spec[0], spec[1]
    problem = image_dtype_problem(_numpy_kind(xs.dtype))
    if problem:
        raise TypeError(f"{caller()}(): `{arg}` (a dataset) {problem}.")
    want = model_input_shape(model)
    if xs.shape.rank == len(want) - 1:
        raise ValueError(f"{caller()}(): `{arg}` is a dataset of single images {_fmt(tuple(xs.shape))}; batch it first, "
                         "e.g. dataset.batch(32) (image_folder() gives batches).")
    check_images_shape(model, tuple(xs.shape), arg)
    kind, classes = model_classes(model)
    if ys.dtype == tf.string:
        raise TypeError(f"{caller()}(): `{arg}` (a dataset) has string labels; map them to class ids 0, 1, ... "
                        "(image_folder() does).")
    if not (ys.dtype.is_integer or ys.dtype.is_floating or ys.dtype.is_bool):
        raise TypeError(f"{caller()}(): `{arg}` (a dataset) has labels of dtype {ys.dtype.name}; they must be class ids.")
    rank = ys.shape.rank
    if rank is not None and (rank not in (1, 2) or (rank == 2 and ys.shape[-1] not in (1, None))):
        hint = (" One-hot labels? Map them to ids: dataset.map(lambda x, y: (x, tf.argmax(y, axis=-1)))."
                if rank == 2 and ys.shape[-1] == classes else "")
        raise ValueError(f"{caller()}(): `{arg}` (a dataset) must yield one class id per image (labels of shape (batch,)), "
                         f"got labels of shape {_fmt(tuple(ys.shape))}.{hint}")
    return _guarded(ds, kind, classes, arg)


def _numpy_kind(dtype: Any) -> str:
    """A TensorFlow dtype as the NumPy dtype :func:`image_dtype_problem` judges (bfloat16 counts as a float)."""
    if dtype.is_floating:
        return "float32"
    if dtype.is_integer:
        return "int32"
    if dtype.is_bool:
        return "bool"
    if dtype.is_complex:
        return "complex64"
    return "U" if dtype.name == "string" else "O"


def _guarded(ds: Any, kind: str, classes: int, arg: str) -> Any:
    import tensorflow as tf

    def assertion(ok, head, value, tail):
        return tf.debugging.Assert(ok, [f"<cnnkit> {head}", value, f"{tail} </cnnkit>"], summarize=1)

    def guard(x, y, *rest):
        yf = tf.reshape(tf.cast(y, tf.float64), [-1])
        bad = tf.logical_not(tf.logical_and(tf.math.is_finite(yf), tf.logical_and(
            tf.equal(yf, tf.round(yf)), tf.logical_and(yf >= 0, yf <= classes - 1))))
        first = tf.concat([tf.boolean_mask(yf, bad), tf.zeros([1], tf.float64)], 0)[0]
        checks = [
            assertion(tf.logical_not(tf.reduce_any(bad)), f"{caller()}(): `{arg}` (a dataset) yields the label ", first,
                      f": the model's output layer has {_what(kind, classes)}, so labels must be whole numbers from 0 "
                      f"to {classes - 1}, never NaN/NA. Build the model with num_classes set to the number of classes "
                      "(for image_folder(): the length of its class_names)."),
            assertion(tf.equal(tf.size(yf), tf.shape(x)[0]), f"{caller()}(): `{arg}` (a dataset) yields a batch of ",
                      tf.shape(x)[0], " images with a different number of labels; give one label per image."),
        ]
        if x.dtype.is_floating:
            finite = tf.reduce_all(tf.math.is_finite(x))
            checks.append(assertion(finite, f"{caller()}(): `{arg}` (a dataset) yields images with ",
                                    tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(x)), tf.int64)),
                                    " missing (NaN) or infinite value(s) in a batch; remove or replace them."))
        with tf.control_dependencies(checks):
            return (tf.identity(x), tf.identity(y), *rest)

    guarded = ds.map(guard, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # what image_folder() and Keras' image_dataset_from_directory attach (class_names, file_paths,
    # fixed_images ...): public attributes, kept on the guarded dataset
    for attr, value in vars(ds).items():
        if not attr.startswith("_"):
            setattr(guarded, attr, value)
    return guarded


def dataset_error_message(err: BaseException) -> str | None:
    """The cnnkit message inside a TensorFlow error raised by a guard of :func:`check_dataset`, if any."""
    m = _MARK.search(str(err))
    if not m:
        return None
    head, value, tail = (g.replace("\\'", "'").replace('\\"', '"') for g in m.groups())  # TF escapes quotes
    return f"{head}{value}{tail}"


@contextlib.contextmanager
def dataset_errors() -> Iterator[None]:
    """Turn a failed :func:`check_dataset` guard (TensorFlow's ``InvalidArgumentError``, raised while
    Keras or a loop reads the dataset) into a ``ValueError`` with the guard's message.

    Example:
        >>> import tensorflow as tf
        >>> model = simple_cnn((8, 8, 1), blocks=1, filters=2, units=4, num_classes=2)
        >>> ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1)), [0, 1, 2, 0])).batch(2)
        >>> from cnnkit._context import called
        >>> try:
        ...     with dataset_errors(), called("fit_classifier"):  # as fit_classifier() checks its data
        ...         fit_classifier(model, check_data(model, ds, "data"), epochs=1, verbose=0)
        ... except ValueError as e:
        ...     print(str(e)[:60])
        fit_classifier(): `data` (a dataset) yields the label 2: the
    """
    try:
        yield
    except Exception as err:
        msg = dataset_error_message(err)
        if msg is None:
            raise
        raise ValueError(msg) from None


def data_class_names(model: Any, data: Any, arg: str) -> list[str] | None:
    """The class names that ``data`` carries, checked against the model's outputs: the
    ``class_names`` entry of an ``{"x", "y", "class_names"}`` dict (how R passes factor labels), or the
    ``class_names`` attribute of a dataset (as :func:`image_folder` and Keras'
    ``image_dataset_from_directory`` make them). ``None`` when the data carries none. One distinct
    string per class the model predicts (a 1-unit sigmoid output: 2)."""
    names = data.get("class_names") if isinstance(data, dict) else getattr(data, "class_names", None)
    if names is None:
        return None
    if not isinstance(names, (list, tuple, np.ndarray)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{caller()}(): the class names of `{arg}` must be a list of strings, got {names!r}.")
    kind, classes = model_classes(model)
    if len(names) != classes:
        raise ValueError(_class_count_message(names, classes, kind, data, arg))
    dupes = sorted({str(c) for c in names if list(names).count(c) > 1})
    if dupes:
        raise ValueError(f"{caller()}(): the class names of `{arg}` name a class twice ({', '.join(map(repr, dupes))}).")
    return [str(n) for n in names]


TRAINING = ("fit_classifier", "fine_tune", "train_classifier", "lr_find", "augmented_dataset")


def _class_count_message(names: Sequence[str], classes: int, kind: str, data: Any, arg: str) -> str:
    """Data whose class names are not one per class of the model: what was found and the fix that fits
    (unused factor levels; evaluating on some classes; a model built for another number of classes)."""
    shown = ", ".join(map(str, names[:5])) + (", ..." if len(names) > 5 else "")
    predicts = f"{classes} classes" + (" (a 1-unit sigmoid output)" if kind == "binary" else "")
    head = f"{caller()}(): `{arg}` has {len(names)} classes ({shown}) but the model predicts {predicts}."
    y = data.get("y") if isinstance(data, dict) else None
    used = None
    if y is not None:
        with contextlib.suppress(TypeError, ValueError):
            values = np.asarray(y, dtype="float64").reshape(-1)
            used = len(np.unique(values[np.isfinite(values)]))
    if used is not None and used < len(names) and used <= classes:
        unused = len(names) - used
        fix = code("keep only the classes the labels use in `class_names`",
                   "drop the unused levels: droplevels(y)")
        if caller() not in TRAINING:
            fix += code("", ", or give y the model's classes as levels: factor(y, levels = <the model's classes>)")
        return f"{head} {unused} of them have no images here: {fix}."
    if caller() in TRAINING:
        return f"{head} Build the model with num_classes={len(names) if len(names) != 2 else 1}."
    return (f"{head} The labels must name the model's classes, all {classes} of them in its order (the data may "
            "hold images of some of them only), "
            + code("e.g. class_names=<the model's class names>", "e.g. factor(y, levels = <the model's classes>)")
            + "; or use the model that was trained on these classes.")


# --- (x, y) or a dataset -------------------------------------------------------------------------

def resolve_data(model: Any, data: Any, arg: str) -> tuple[Any, list[str] | None]:
    """``data`` of any kind cnnkit takes (:mod:`cnnkit._data_kinds`: arrays, datasets, PyDatasets,
    tables of files) as ``(x, y)``, a dict or a dataset, and the class names it carries (checked)."""
    from ._data_kinds import labelled

    data = labelled(data, arg, model)
    return data, data_class_names(model, data, arg)


def check_data(model: Any, data: Any, arg: str) -> Any:
    """``(x, y)`` checked and converted, or a ``tf.data.Dataset`` checked by its element spec and guarded
    (any kind :func:`resolve_data` takes)."""
    from ._data_kinds import accepted, labelled

    data = labelled(data, arg, model)
    if is_dataset(data):
        return check_dataset(model, data, arg)
    named = isinstance(data, dict) and data.get("class_names") is not None  # an R factor's labels
    if isinstance(data, dict) and {"x", "y"} <= set(data):
        data = (data["x"], data["y"])
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{caller()}(): `{arg}` must be {accepted()}; got {_kind_name(data)}.")
    prefix = "" if arg == "data" else "validation " if arg == "validation_data" else f"{arg} "
    x = check_images(model, data[0], f"{prefix}x")
    y = check_labels(model, data[1], len(x), f"{prefix}y", named=named)
    return x, y


def _kind_name(data: Any) -> str:
    """What ``data`` is, in a few words (for the message listing what is accepted)."""
    if isinstance(data, (list, tuple)):
        return f"a {type(data).__name__} of {len(data)} item(s)" if len(data) != 2 else f"a {type(data).__name__}"
    if hasattr(data, "shape"):
        return f"{type(data).__name__} of shape {tuple(data.shape)} (images without labels?)"
    return type(data).__name__


def checked_class_names(model: Any, class_names: Sequence[str] | None, arg: str) -> list[str] | None:
    """:func:`check_class_names` for a given ``class_names``; ``None`` stays ``None``."""
    return None if class_names is None else check_class_names(model, class_names, arg)
