"""Real data: Fashion-MNIST (offline first) and a user's own images in class sub-folders.

``load_fashion_mnist()`` looks for the four IDX files in this order and uses the first complete set:

1. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
2. the Keras cache (``$KERAS_HOME/datasets/fashion-mnist``, default ``~/.keras``);
3. otherwise ``keras.datasets.fashion_mnist.load_data()``, which downloads into that cache.

``image_folder()`` turns ``path/<class>/<image>`` into a prefetched ``tf.data`` pipeline; files that
are not readable images are skipped with a warning that counts them.

Image files are read in one place, ``cnnkit._images`` (the checked open, the decoders and the one
reader that ``load_images()``, ``predict_classes()``, ``feature_maps()`` and ``classify_image()`` use).
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._files import atomic_path, keras_home
from ._images import ImageFileError, _decode, check_pipeline_file, decode_image, read_images
from ._lang import code
from . import _arg_checks as v
from .limits import limit

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
COLOR_MODES = {"rgb": 3, "grayscale": 1}


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FASHION_MNIST_FILES.values())


MAX_IDX_BYTES = 1 << 30  # the largest Fashion-MNIST file holds 47 MB of pixels


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST format: magic, sizes, then unsigned bytes).

    Only as many bytes as the header declares are decompressed (at most 1 GiB), so a damaged file or
    a gzip bomb in the data folder is an error, not a hang.
    """
    fn = "load_fashion_mnist"
    try:
        with gzip.open(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":
                raise ValueError(f"{fn}(): {path} is not an IDX file of unsigned bytes.")
            ndim = head[3]
            dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
            n = int(np.prod(dims, dtype=np.int64)) if dims else 0
            if not 0 < n <= MAX_IDX_BYTES:
                raise ValueError(f"{fn}(): {path} declares {n:,} values (dimensions {dims}); a Fashion-MNIST "
                                 f"file holds at most {MAX_IDX_BYTES:,}.")
            raw = f.read(n)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{fn}(): {path} is not a readable gzip file ({e.__class__.__name__}: {e}); "
                         "reinstall the data (apt-get install --reinstall dataset-fashion-mnist).") from None
    if len(raw) != n:
        raise ValueError(f"{fn}(): {path} is truncated ({len(raw)} of {n} values).")
    return np.frombuffer(raw, dtype=np.uint8).reshape(dims)


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
    for kind, folder in (("debian", Path(DEBIAN_DIR)), ("keras-cache", keras_home("datasets/fashion-mnist", writable=False))):
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


def folder_name(class_name: str) -> str:
    """A class name as a folder name: lower case, runs of other characters as one ``_``
    (``"T-shirt/top"`` -> ``"t_shirt_top"``, ``"Ankle boot"`` -> ``"ankle_boot"``)."""
    return re.sub(r"[^a-z0-9]+", "_", class_name.lower()).strip("_")


def example_image_folder(
    path: str | os.PathLike,
    classes: Sequence[int | str] | None = None,
    n: int = 20,
    seed: int = 0,
    overwrite: bool = False,
) -> str:
    """A small real image folder to try :func:`image_folder` on: Fashion-MNIST training images (28x28
    grayscale PNG files) in one sub-folder per class, ``path/<class>/img_001.png``, ...

    Class folders are named after the classes (``t_shirt_top``, ``trouser``, ..., ``ankle_boot``).

    Args:
        path: the folder to write (created; it must be empty or absent unless ``overwrite``).
        classes: the classes to write (ids 0-9 or names, as in :func:`load_fashion_mnist`; default:
            all ten).
        n: images per class, 1 to 6,000 (a random choice, the same for the same ``seed``).
        seed: seed of the choice.
        overwrite: write into a folder that is not empty (replacing the ``img_*.png`` files of
            these classes; nothing else is touched).

    Returns:
        ``path``, as a string.

    Example:
        >>> import tempfile
        >>> photos = example_image_folder(tempfile.mkdtemp(), classes=["Sneaker", "Bag"], n=3)
        >>> sorted(p.name for p in Path(photos).iterdir())
        ['bag', 'sneaker']
        >>> image_folder(photos, image_size=28)["num_train"]
        6
    """
    from PIL import Image

    fn = "example_image_folder"
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"{fn}(): `path` must be a folder path (a string), got {path!r}.")
    ids = _class_ids(classes, fn)
    n = v.positive_int(n, "n", fn, maximum=6000)
    seed = v.positive_int(seed, "seed", fn, minimum=0)
    overwrite = v.flag(overwrite, "overwrite", fn)
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise ValueError(f"{fn}(): `path` {str(root)!r} is a file; pass a new folder.")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{fn}(): `path` {str(root)!r} is not empty; pass a new folder, or "
                         f"{code('overwrite=True', 'overwrite = TRUE')} to write into it.")
    raw, _ = fashion_mnist_raw()
    x, y = raw["x_train"], raw["y_train"]
    rng = np.random.default_rng(seed)
    width = max(3, len(str(n)))
    for c in ids or range(10):
        folder = root / folder_name(FASHION_MNIST_CLASSES[c])
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("img_*.png"):
            old.unlink()
        for j, i in enumerate(np.sort(rng.choice(np.flatnonzero(y == c), size=n, replace=False)), 1):
            with atomic_path(folder / f"img_{j:0{width}d}.png") as tmp:  # an interrupted call leaves no half PNG
                Image.fromarray(np.asarray(x[i], dtype="uint8"), "L").save(tmp)
    return str(path)


def _decodable(files: list[str], channels: int) -> set[int]:
    """Indices of the ``files`` that TensorFlow's decoder reads, found in parallel (a ``tf.data``
    map that drops the files whose decoding fails), the same decoding as the pipeline's."""
    import tensorflow as tf

    if not files:
        return set()
    ds = tf.data.Dataset.from_tensor_slices(files).enumerate()
    ds = ds.map(lambda i, f: (i, tf.shape(_decode(tf.io.read_file(f), channels, tf.uint8))[0]),
                num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    return {int(i) for i, _ in ds.as_numpy_iterator()}


# --- a user's own images -------------------------------------------------------------------------

SKIP_REASONS = {"not a file": "not regular files", "unreadable": "unreadable",
                "format": "in a format or variant cnnkit does not read",
                "too large": "over the size limit ({:,} pixels, CNNKIT_MAX_IMAGE_PIXELS)"}


def scan_image_folder(path: Any, fn: str = "image_folder", channels: int = 3,
                      ) -> tuple[list[str], list[str], list[int], dict[str, str]]:
    """Class names, image files, their labels and the skipped files (``{path: reason}``) under
    ``path/<class>/``. A file is kept when TensorFlow decodes it with ``channels`` channels."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}(): `path` must be a folder path (a string), got {type(path).__name__}.")
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"{fn}(): `path` {str(root)!r} does not exist. Pass the folder that holds one "
                         "sub-folder per class (path/<class>/<image>.png).")
    if not root.is_dir():
        raise ValueError(f"{fn}(): `path` {str(root)!r} is a file; pass the folder that holds one sub-folder per class.")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels, skipped = [], [], {}
    for label, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if f.name.startswith(".") or f.is_dir():
                continue
            try:
                check_pipeline_file(f, fn)  # the header: nothing decoded yet
            except ImageFileError as e:
                skipped[str(f)] = e.kind
                continue
            files.append(str(f))
            labels.append(label)
    ok = _decodable(files, channels)  # then decoded once, as the pipeline will
    skipped.update({f: "unreadable" for i, f in enumerate(files) if i not in ok})
    labels = [y for i, y in enumerate(labels) if i in ok]
    files = [f for i, f in enumerate(files) if i in ok]
    return classes, files, labels, dict(sorted(skipped.items()))


def skip_message(reasons: dict[str, str], fn: str = "image_folder") -> str:
    """The warning for skipped files: how many, why (counted per reason) and the first names."""
    shown = ", ".join(Path(f).name for f in list(reasons)[:5]) + (", ..." if len(reasons) > 5 else "")
    counts = {k: list(reasons.values()).count(k) for k in SKIP_REASONS if k in reasons.values()}
    why = "; ".join(f"{n} {SKIP_REASONS[k].format(limit('image_pixels'))}" for k, n in counts.items())
    return f"{fn}(): skipped {len(reasons)} file(s) that are not readable images ({why}): {shown}"


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
    (corrupt, truncated, or not images at all) or that declare more pixels than the limit
    (``CNNKIT_MAX_IMAGE_PIXELS``, 50 megapixels, checked from the header before decoding) are
    skipped; a warning counts them by reason. Every file kept has been decoded once by the decoder
    the pipeline uses, so training never meets a file it cannot read.

    Args:
        path: the folder holding one sub-folder per class.
        image_size: ``(height, width)`` to resize to (one number: square); at most 4,096 a side
            (``CNNKIT_MAX_IMAGE_SIDE``).
        color_mode: ``"rgb"`` (3 channels) or ``"grayscale"`` (1 channel: the luma of colour images).
        validation_split: fraction of the images held out for validation (``None``: none).
        seed: seed of the shuffle and of the split.
        batch_size: images per batch.

    Returns:
        A dict: ``train`` (a ``tf.data.Dataset`` of ``(images, labels)`` batches, shuffled each
        epoch), ``validation`` (a dataset or ``None``), ``class_names``, ``num_train``,
        ``num_validation`` and ``skipped`` (the paths that were skipped).

    Example:
        >>> photos = example_image_folder("photos", classes=["Sneaker", "Bag", "Dress"], n=10)
        >>> d = image_folder(photos, image_size=32, validation_split=0.2)
        >>> d["class_names"], d["num_train"], d["num_validation"]
        (['bag', 'dress', 'sneaker'], 24, 6)
        >>> model = simple_cnn((32, 32, 3), blocks=1, filters=4, units=8, num_classes=3)
        >>> h = fit_classifier(model, d["train"], validation_data=d["validation"], epochs=1, verbose=0)
    """
    fn = "image_folder"
    image_size = v.image_size(image_size, "image_size", fn)
    channels = COLOR_MODES[v.choice(color_mode, "color_mode", fn, COLOR_MODES)]
    seed = v.positive_int(seed, "seed", fn, minimum=0)
    batch_size = v.positive_int(batch_size, "batch_size", fn)
    split = v.fraction(validation_split, "validation_split", fn)
    classes, files, labels, reasons = scan_image_folder(path, fn, channels)
    skipped = list(reasons)
    _check_classes(path, classes, labels, skipped, fn)
    if skipped:
        warnings.warn(skip_message(reasons, fn), UserWarning, stacklevel=2)
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
            ds.fixed_images = True  # the same images every epoch (in a new order): features may be cached
    return {"train": train, "validation": val, "class_names": classes, "num_train": len(files) - n_val,
            "num_validation": n_val, "skipped": skipped}


def load_images(
    files: str | Sequence[str],
    image_size: int | tuple[int, int],
    color_mode: str = "rgb",
) -> np.ndarray:
    """Read image files into one float32 array ``(n, height, width, channels)`` in [0, 1].

    The same decoding and resizing as :func:`image_folder`, so a model trained on a folder sees
    new files the same way. An unreadable file, or one declaring more pixels than the limit
    (``CNNKIT_MAX_IMAGE_PIXELS``, checked before decoding), is an error that names it.

    Args:
        files: one path or a list of paths (PNG, JPEG, BMP or GIF).
        image_size: ``(height, width)`` (one number: square).
        color_mode: ``"rgb"`` or ``"grayscale"``.

    Returns:
        A NumPy array.

    Example:
        >>> photos = example_image_folder("some_photos", classes=["Sneaker", "Bag"], n=2)
        >>> load_images([photos + "/bag/img_001.png", photos + "/sneaker/img_002.png"], 28, "grayscale").shape
        (2, 28, 28, 1)
    """
    fn = "load_images"
    image_size = v.image_size(image_size, "image_size", fn)
    channels = COLOR_MODES[v.choice(color_mode, "color_mode", fn, COLOR_MODES)]
    return read_images(files, image_size, channels, fn, "files")
