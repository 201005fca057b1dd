"""Real data: Fashion-MNIST (offline first) and a user's own images in class sub-folders.

``load_fashion_mnist()`` looks for the four IDX files in this order and uses the first complete set:

1. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
2. the Keras cache (``$KERAS_HOME/datasets/fashion-mnist``, default ``~/.keras``);
3. otherwise ``keras.datasets.fashion_mnist.load_data()``, which downloads into that cache.

``image_folder()`` turns ``path/<class>/<image>`` into a prefetched ``tf.data`` pipeline; files that
are not readable images are skipped with a warning that counts them.
"""

from __future__ import annotations

import gzip
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import _validate as v

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
# Formats both Pillow (for the check) and TensorFlow (for the pipeline) decode.
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif"}
COLOR_MODES = {"rgb": 3, "grayscale": 1}


def keras_cache_dir() -> Path:
    """The folder where Keras caches Fashion-MNIST: ``$KERAS_HOME/datasets/fashion-mnist``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "fashion-mnist"


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FASHION_MNIST_FILES.values())


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST format: magic, sizes, then unsigned bytes)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"load_fashion_mnist(): {path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"load_fashion_mnist(): {path} is truncated ({data.size} of {int(np.prod(dims))} values).")
    return data.reshape(dims)


@lru_cache(maxsize=4)
def _read_folder(folder: str) -> dict[str, np.ndarray]:
    return {k: _read_idx(Path(folder) / f) for k, f in FASHION_MNIST_FILES.items()}


def _download() -> dict[str, np.ndarray]:
    """The Keras code path: download into the Keras cache (needs the internet)."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def fashion_mnist_raw() -> tuple[dict[str, np.ndarray], str]:
    """The raw uint8 arrays and where they came from (``"debian:<dir>"``, ``"keras-cache:<dir>"``, ``"download"``)."""
    for kind, folder in (("debian", Path(DEBIAN_DIR)), ("keras-cache", keras_cache_dir())):
        if _complete(folder):
            return _read_folder(str(folder)), f"{kind}:{folder}"
    return _download(), "download"


def _class_ids(classes: Any, fn: str) -> list[int] | None:
    if classes is None:
        return None
    if isinstance(classes, (str, int, float, np.integer)):
        classes = [classes]
    if not isinstance(classes, (list, tuple, np.ndarray)):
        raise TypeError(f"{fn}(): `classes` must be class ids 0-9 or class names, e.g. classes=(0, 9); "
                        f"got {classes!r}.")
    ids = []
    for c in list(classes):
        if isinstance(c, str):
            if c not in FASHION_MNIST_CLASSES:
                raise ValueError(f"{fn}(): `classes` entry {c!r} is not a Fashion-MNIST class; "
                                 f"use ids 0-9 or names from {list(FASHION_MNIST_CLASSES)}.")
            ids.append(FASHION_MNIST_CLASSES.index(c))
        else:
            i = v.positive_int(c, "classes", fn, minimum=0)
            if i > 9:
                raise ValueError(f"{fn}(): `classes` entry {i} is not a class id; Fashion-MNIST has ids 0-9.")
            ids.append(i)
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise ValueError(f"{fn}(): `classes` must name 2 or more different classes, e.g. classes=(0, 9); got {ids}.")
    return ids


def _take(x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if n is None or n >= len(y):
        return x, y
    idx = np.sort(rng.choice(len(y), size=n, replace=False))
    return x[idx], y[idx]


def _images(x: np.ndarray, pad: bool, channels: int, normalize: bool) -> np.ndarray:
    x = x[..., None]
    if pad:
        x = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    if channels == 3:
        x = np.repeat(x, 3, axis=-1)
    return (x.astype("float32") / 255.0) if normalize else np.ascontiguousarray(x)


def load_fashion_mnist(
    pad: bool = False,
    channels: int = 1,
    classes: Sequence[int | str] | None = None,
    n: int | None = None,
    n_test: int | None = None,
    normalize: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Fashion-MNIST as NumPy arrays: Debian files, else the Keras cache, else a Keras download.

    Args:
        pad: zero-pad the 28x28 images to 32x32 (for LeNet-5); ``True`` or ``False``.
        channels: 1 (grayscale) or 3 (the gray value repeated, for models built for RGB).
        classes: keep only these classes (ids 0-9 or names), relabelled 0, 1, ... in the order
            given; e.g. ``classes=(0, 9)`` is a 2-class problem (T-shirt/top vs Ankle boot).
        n: keep a random ``n`` training images (``None``: all 60,000).
        n_test: keep a random ``n_test`` test images (``None``: all 10,000).
        normalize: ``True``: ``float32`` in [0, 1]; ``False``: the raw ``uint8`` values.
        seed: seed of the random subsets.

    Returns:
        A dict with ``x_train`` ``(N, H, W, C)``, ``y_train`` (``int32`` class ids from 0),
        ``x_test``, ``y_test``, ``class_names`` and ``source`` (where the files were found).

    Example:
        >>> d = load_fashion_mnist(pad=True, n=1000)
        >>> d["x_train"].shape, d["class_names"][9]
        ((1000, 32, 32, 1), 'Ankle boot')
    """
    fn = "load_fashion_mnist"
    pad, normalize = v.flag(pad, "pad", fn), v.flag(normalize, "normalize", fn)
    channels = v.choice(v.positive_int(channels, "channels", fn), "channels", fn, (1, 3))
    ids = _class_ids(classes, fn)
    n = None if n is None else v.positive_int(n, "n", fn)
    n_test = None if n_test is None else v.positive_int(n_test, "n_test", fn)
    seed = v.positive_int(seed, "seed", fn, minimum=0)
    raw, source = fashion_mnist_raw()
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for split, size in (("train", n), ("test", n_test)):
        x, y = raw[f"x_{split}"], raw[f"y_{split}"].astype("int32")
        if ids is not None:
            lut = np.full(10, -1, dtype="int32")
            lut[ids] = np.arange(len(ids))
            keep = lut[y] >= 0
            x, y = x[keep], lut[y[keep]]
        x, y = _take(x, y, size, rng)
        out[f"x_{split}"] = _images(x, pad, channels, normalize)
        out[f"y_{split}"] = np.ascontiguousarray(y, dtype="int32")
    out["class_names"] = [FASHION_MNIST_CLASSES[i] for i in (ids or range(10))]
    out["source"] = source
    return out


# --- a user's own images -------------------------------------------------------------------------

def _check_image(path: Path) -> str | None:
    """The format name if Pillow can fully decode ``path`` and TensorFlow can read it, else ``None``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            fmt = img.format
            img.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return fmt if fmt in IMAGE_FORMATS else None


def scan_image_folder(path: Any, fn: str = "image_folder") -> tuple[list[str], list[str], list[int], list[str]]:
    """Class names, image files, their labels and the skipped files under ``path/<class>/``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}(): `path` must be a folder path (a string), got {type(path).__name__}.")
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"{fn}(): `path` {str(root)!r} does not exist. Pass the folder that holds one "
                         "sub-folder per class (path/<class>/<image>.png).")
    if not root.is_dir():
        raise ValueError(f"{fn}(): `path` {str(root)!r} is a file; pass the folder that holds one sub-folder per class.")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels, skipped = [], [], []
    for label, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if f.is_file() and not f.name.startswith("."):
                if _check_image(f):
                    files.append(str(f))
                    labels.append(label)
                else:
                    skipped.append(str(f))
    return classes, files, labels, skipped


def _check_classes(root: Any, classes: list[str], labels: list[int], skipped: list[str], fn: str) -> None:
    if not labels:
        raise ValueError(
            f"{fn}(): `path` {str(root)!r} holds no readable images"
            + (f" ({len(skipped)} file(s) could not be read as PNG, JPEG, BMP or GIF)" if skipped else "")
            + ". Put each class's images in a sub-folder of its own: path/<class>/<image>.png.")
    found = sorted(set(labels))
    if len(found) < 2:
        present = [classes[i] for i in found]
        raise ValueError(
            f"{fn}(): `path` {str(root)!r} has images of one class only ({present[0]!r}); a classifier "
            f"needs at least 2 class sub-folders with images (found folders: {classes}).")
    empty = [c for i, c in enumerate(classes) if i not in found]
    if empty:
        raise ValueError(f"{fn}(): class folder(s) {empty} under `path` {str(root)!r} hold no readable images; "
                         "remove them or add images.")


def decode_image(contents: Any, image_size: tuple[int, int], channels: int) -> Any:
    """Decode PNG/JPEG/BMP/GIF bytes to a float32 ``(h, w, channels)`` tensor in [0, 1] (TensorFlow)."""
    import tensorflow as tf

    img = tf.io.decode_image(contents, channels=channels, expand_animations=False, dtype=tf.float32)
    img.set_shape([None, None, channels])
    return tf.image.resize(img, image_size)


def _pipeline(files: list[str], labels: list[int], image_size, channels: int, batch_size: int,
              shuffle: bool, seed: int) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((files, np.asarray(labels, dtype="int32")))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda f, y: (decode_image(tf.io.read_file(f), image_size, channels), y),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def image_folder(
    path: str,
    image_size: int | tuple[int, int] = (64, 64),
    color_mode: str = "rgb",
    validation_split: float | None = None,
    seed: int = 0,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Images in class sub-folders (``path/<class>/<image>``) as a prefetched ``tf.data`` pipeline.

    Class ids follow the sorted folder names (0, 1, ...). Images are decoded, resized to
    ``image_size`` and scaled to [0, 1]. Files that are not readable PNG, JPEG, BMP or GIF images
    (corrupt, truncated, or not images at all) are skipped; a warning says how many.

    Args:
        path: the folder holding one sub-folder per class.
        image_size: ``(height, width)`` to resize to (one number: square).
        color_mode: ``"rgb"`` (3 channels) or ``"grayscale"`` (1 channel).
        validation_split: fraction of the images held out for validation (``None``: none).
        seed: seed of the shuffle and of the split.
        batch_size: images per batch.

    Returns:
        A dict: ``train`` (a ``tf.data.Dataset`` of ``(images, labels)`` batches, shuffled each
        epoch), ``validation`` (a dataset or ``None``), ``class_names``, ``num_train``,
        ``num_validation`` and ``skipped`` (the paths that were skipped).

    Example:
        >>> d = image_folder("photos", image_size=64, validation_split=0.2)  # doctest: +SKIP
        >>> fit_classifier(model, d["train"], validation_data=d["validation"])  # doctest: +SKIP
    """
    fn = "image_folder"
    image_size = v.int_tuple(image_size, "image_size", fn)
    channels = COLOR_MODES[v.choice(color_mode, "color_mode", fn, COLOR_MODES)]
    seed = v.positive_int(seed, "seed", fn, minimum=0)
    batch_size = v.positive_int(batch_size, "batch_size", fn)
    split = v.fraction(validation_split, "validation_split", fn)
    classes, files, labels, skipped = scan_image_folder(path, fn)
    _check_classes(path, classes, labels, skipped, fn)
    if skipped:
        shown = ", ".join(Path(s).name for s in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(f"{fn}(): skipped {len(skipped)} file(s) that are not readable images: {shown}",
                      UserWarning, stacklevel=2)
    order = np.random.default_rng(seed).permutation(len(files))
    files, labels = [files[i] for i in order], [labels[i] for i in order]
    n_val = int(round(len(files) * split)) if split else 0
    if split and not 0 < n_val < len(files):
        raise ValueError(f"{fn}(): `validation_split`={split} of {len(files)} images leaves "
                         f"{'no validation' if n_val == 0 else 'no training'} images; use more images or another split.")
    train = _pipeline(files[n_val:], labels[n_val:], image_size, channels, batch_size, True, seed)
    val = _pipeline(files[:n_val], labels[:n_val], image_size, channels, batch_size, False, seed) if n_val else None
    for ds in (train, val):  # as Keras' image_dataset_from_directory does: fit_classifier() reads them
        if ds is not None:
            ds.class_names = list(classes)
    return {"train": train, "validation": val, "class_names": classes, "num_train": len(files) - n_val,
            "num_validation": n_val, "skipped": skipped}


def load_images(
    files: str | Sequence[str],
    image_size: int | tuple[int, int],
    color_mode: str = "rgb",
) -> np.ndarray:
    """Read image files into one float32 array ``(n, height, width, channels)`` in [0, 1].

    The same decoding and resizing as :func:`image_folder`, so a model trained on a folder sees
    new files the same way. An unreadable file is an error that names it.

    Args:
        files: one path or a list of paths (PNG, JPEG, BMP or GIF).
        image_size: ``(height, width)`` (one number: square).
        color_mode: ``"rgb"`` or ``"grayscale"``.

    Returns:
        A NumPy array.

    Example:
        >>> load_images(["a.png", "b.jpg"], 28, "grayscale").shape  # doctest: +SKIP
        (2, 28, 28, 1)
    """
    fn = "load_images"
    image_size = v.int_tuple(image_size, "image_size", fn)
    channels = COLOR_MODES[v.choice(color_mode, "color_mode", fn, COLOR_MODES)]
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if not isinstance(files, (list, tuple)) or not files:
        raise TypeError(f"{fn}(): `files` must be one image path or a non-empty list of paths, got {files!r}.")
    out = []
    for f in files:
        if not isinstance(f, (str, os.PathLike)) or not Path(f).is_file():
            raise ValueError(f"{fn}(): `files` entry {str(f)!r} is not an existing file.")
        if not _check_image(Path(f)):
            raise ValueError(f"{fn}(): `files` entry {str(f)!r} is not a readable PNG, JPEG, BMP or GIF image.")
        out.append(decode_image(Path(f).read_bytes(), image_size, channels).numpy())
    return np.stack(out).astype("float32")
