"""Real data: Fashion-MNIST (offline first) and a user's own images in class sub-folders.

``load_fashion_mnist()`` looks for the four IDX files in this order and uses the first complete set:

1. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
2. the Keras cache (``$KERAS_HOME/datasets/fashion-mnist``, default ``~/.keras``);
3. otherwise ``keras.datasets.fashion_mnist.load_data()``, which downloads into that cache.

``image_folder()`` turns ``path/<class>/<image>`` into a prefetched ``tf.data`` pipeline; files that
are not readable images are skipped with a warning that counts them.

Image files are read in one place, ``cnnkit._images`` (the checked open, the one decoder and the
reader that ``load_images()``, ``predict_classes()``, ``feature_maps()`` and ``classify_image()`` use).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import _arg_checks as v
from ._context import called, caller, carried, otherwise, public, warn
from ._files import atomic_path, keras_home
from ._images import FORMAT_NAMES, ImageFileError, check_pipeline_file, decode_file, decode_workers, read_images
from ._lang import code
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
    try:
        with gzip.open(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":
                raise ValueError(f"{caller()}(): {path} is not an IDX file of unsigned bytes.")
            ndim = head[3]
            dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
            n = int(np.prod(dims, dtype=np.int64)) if dims else 0
            if not 0 < n <= MAX_IDX_BYTES:
                raise ValueError(f"{caller()}(): {path} declares {n:,} values (dimensions {dims}); a Fashion-MNIST "
                                 f"file holds at most {MAX_IDX_BYTES:,}.")
            raw = f.read(n)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{caller()}(): {path} is not a readable gzip file ({e.__class__.__name__}: {e}); "
                         "reinstall the data (apt-get install --reinstall dataset-fashion-mnist).") from None
    if len(raw) != n:
        raise ValueError(f"{caller()}(): {path} is truncated ({len(raw)} of {n} values).")
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


def _class_ids(classes: Any) -> list[int] | None:
    if classes is None:
        return None
    if isinstance(classes, (str, int, float, np.integer)):
        classes = [classes]
    if not isinstance(classes, (list, tuple, np.ndarray)):
        raise TypeError(f"{caller()}(): `classes` must be class ids 0-9 or class names, e.g. classes=(0, 9); "
                        f"got {classes!r}.")
    ids = []
    for c in list(classes):
        if isinstance(c, str):
            if c not in FASHION_MNIST_CLASSES:
                raise ValueError(f"{caller()}(): `classes` entry {c!r} is not a Fashion-MNIST class; "
                                 f"use ids 0-9 or names from {list(FASHION_MNIST_CLASSES)}.")
            ids.append(FASHION_MNIST_CLASSES.index(c))
        else:
            i = v.positive_int(c, "classes", minimum=0)
            if i > 9:
                raise ValueError(f"{caller()}(): `classes` entry {i} is not a class id; Fashion-MNIST has ids 0-9.")
            ids.append(i)
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise ValueError(f"{caller()}(): `classes` must name 2 or more different classes, e.g. classes=(0, 9); got {ids}.")
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


@public
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
    pad, normalize = v.flag(pad, "pad"), v.flag(normalize, "normalize")
    channels = v.choice(v.positive_int(channels, "channels"), "channels", choices=(1, 3))
    ids = _class_ids(classes)
    n = None if n is None else v.positive_int(n, "n")
    n_test = None if n_test is None else v.positive_int(n_test, "n_test")
    seed = v.positive_int(seed, "seed", minimum=0)
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


@public
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

    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"{caller()}(): `path` must be a folder path (a string), got {path!r}.")
    ids = _class_ids(classes)
    n = v.positive_int(n, "n", maximum=6000)
    seed = v.positive_int(seed, "seed", minimum=0)
    overwrite = v.flag(overwrite, "overwrite")
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise ValueError(f"{caller()}(): `path` {str(root)!r} is a file; pass a new folder.")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{caller()}(): `path` {str(root)!r} is not empty; pass a new folder, or "
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


def _decodable(files: list[str], channels: int, image_size: tuple[int, int] = (32, 32),
               keep: dict[str, np.ndarray] | None = None) -> set[int]:
    """Indices of the ``files`` that the pipeline's decoder (:func:`cnnkit._images.decode_file`) reads:
    each decoded once, in a few threads (Pillow releases the GIL while decoding), at ``image_size``.
    ``keep``: a dict that receives the decoded images (uint8, by path), for the pipeline to use
    instead of decoding them again."""

    @carried  # in the pool's threads, as image_folder() called it
    def decodes(f: str) -> np.ndarray | None:
        try:
            with called("image_folder"):
                return decode_file(f, channels, image_size)
        except (ImageFileError, OSError):
            return None

    if not files:
        return set()
    with ThreadPoolExecutor(max_workers=decode_workers(), thread_name_prefix="cnnkit-decode") as pool:
        ok = set()
        for i, (f, image) in enumerate(zip(files, pool.map(decodes, files))):
            if image is not None:
                ok.add(i)
                if keep is not None:
                    keep[f] = image
        return ok


# --- a user's own images: folders and tables, one engine --------------------------------------------
#
# A folder is scanned into a table (files and their class ids), and a table is checked into one; both
# then take the same path: header check, the subset, the decoding check, the split, the pipelines.

SKIP_REASONS = {"not a file": "not regular files", "unreadable": "unreadable", "not an image": "not images",
                "format": "in a format or variant cnnkit does not read",
                "too large": "over the size limit ({:,} pixels, CNNKIT_MAX_IMAGE_PIXELS)",
                "hidden": "hidden (a name starting with '.', or __MACOSX)",
                "loose": "beside the class folders, in no class",
                "link loop": "linked folder(s) already read (a link loop, or a second link to one folder)",
                "missing": "listed but not found", "no label": "without a label", "no file": "without a file name",
                "duplicate": "listed more than once"}
UNREAD = ("not a file", "unreadable", "not an image", "format", "too large")  # the reasons a file was read for
# suffixes of image files: a file with another suffix whose header no image reader recognises is
# "not an image" (notes.txt), one with such a suffix is "unreadable" (a broken photo.jpg)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".gif", ".webp", ".tif", ".tiff",
                  ".heic", ".heif", ".avif", ".ppm", ".pgm", ".pbm", ".ico", ".jp2"}
SPLIT_NAMES = {"train": "train", "val": "validation", "validation": "validation", "test": "test"}


def hidden_name(name: str) -> bool:
    """A hidden file or folder: a name starting with ``.`` (``.DS_Store``, ``.ipynb_checkpoints``) or
    macOS's archive junk ``__MACOSX``; image folders skip them (and count them in their warning)."""
    return name.startswith(".") or name.upper() == "__MACOSX"


def _folder_path(path: Any, arg: str = "path",
                 what: str = "the folder that holds one sub-folder per class") -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"{caller()}(): `{arg}` must be a folder path (a string), got {path!r} ({type(path).__name__}).")
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"{caller()}(): `{arg}` {str(root)!r} does not exist. Pass {what}"
                         + (" (path/<class>/<image>.png)." if what.startswith("the folder that holds") else "."))
    if not root.is_dir():
        raise ValueError(f"{caller()}(): `{arg}` {str(root)!r} is a file; pass {what}.")
    return root


@otherwise("image_folder")
def split_folders(path: Any) -> dict[str, Path] | None:
    """``{"train": .., "validation": .., "test": ..}`` when ``path`` holds split folders -- ``train/``
    and ``test/``, ``val/`` or ``validation/`` (any case) -- instead of class folders; else ``None``.
    Split folders beside other folders, or two folders for one split, are an error."""
    root = _folder_path(path)
    subs = sorted(d for d in root.iterdir() if d.is_dir() and not hidden_name(d.name))
    named = {d: SPLIT_NAMES.get(d.name.lower()) for d in subs}
    found = [s for s in named.values() if s]
    if "train" not in found or len(set(found)) < 2:
        return None
    others = [d.name for d, s in named.items() if s is None]
    if others:
        raise ValueError(f"{caller()}(): `path` {str(root)!r} holds split folders "
                         f"({', '.join(d.name for d, s in named.items() if s)}) "
                         f"beside other folders ({', '.join(others)}); put the class folders inside each split "
                         "(train/<class>/, test/<class>/), or keep class folders only.")
    twice = sorted({s for s in found if found.count(s) > 1})
    if twice:
        raise ValueError(f"{caller()}(): `path` {str(root)!r} has more than one folder for the {' and '.join(twice)} split "
                         f"({', '.join(d.name for d, s in named.items() if s in twice)}); keep one.")
    return {s: d for d, s in named.items() if s}  # every folder is a split here


def _walk_class(folder: Path, skipped: dict[str, str], seen: set[str]) -> list[str]:
    """The files under a class folder, at any depth: hidden entries skipped, linked folders followed
    (each real folder once: a loop or a second link is skipped), unreadable folders counted."""
    out: list[str] = []

    def unreadable(e: OSError) -> None:
        skipped[str(e.filename) + os.sep] = "unreadable"

    for top, dirs, names in os.walk(folder, followlinks=True, onerror=unreadable):
        keep = []
        for d in sorted(dirs):
            p = os.path.join(top, d)
            real = os.path.realpath(p)
            if hidden_name(d):
                skipped[p + os.sep] = "hidden"
            elif real in seen:
                skipped[p + os.sep] = "link loop"
            else:
                seen.add(real)
                keep.append(d)
        dirs[:] = keep
        for name in sorted(names):
            p = os.path.join(top, name)
            if hidden_name(name):
                skipped[p] = "hidden"
            else:
                out.append(p)
    return out


def _scan_classes(root: Path, skipped: dict[str, str], seen: set[str]) -> tuple[list[str], list[str], list[int]]:
    """Class names (the sorted sub-folders), files and class ids of one folder of class folders;
    files beside the class folders are skipped as loose."""
    classes, files, labels = [], [], []
    for entry in sorted(root.iterdir()):
        if hidden_name(entry.name):
            skipped[str(entry) + (os.sep if entry.is_dir() else "")] = "hidden"
        elif not entry.is_dir():
            skipped[str(entry)] = "loose"
        elif os.path.realpath(entry) in seen:
            classes.append(entry.name)
            skipped[str(entry) + os.sep] = "link loop"
        else:
            seen.add(os.path.realpath(entry))
            classes.append(entry.name)
    for label, name in enumerate(classes):
        if str(root / name) + os.sep not in skipped:
            found = _walk_class(root / name, skipped, seen)
            files += found
            labels += [label] * len(found)
    return classes, files, labels


def _header_checked(files: list[str], labels: list[int], skipped: dict[str, str]
                    ) -> tuple[list[str], list[int]]:
    """The files whose header is that of an image cnnkit reads (nothing decoded yet); the others skipped."""
    keep_f, keep_y = [], []
    for f, y in zip(files, labels):
        try:
            check_pipeline_file(f)
        except ImageFileError as e:
            kind = e.kind
            if kind == "unreadable" and Path(f).suffix.lower() not in IMAGE_SUFFIXES:
                kind = "not an image"
            skipped[f] = kind
            continue
        keep_f.append(f)
        keep_y.append(y)
    return keep_f, keep_y


@otherwise("image_folder")
def stratified_subset(labels: Sequence[int], n: int, seed: int) -> list[int]:
    """Sorted indices of ``n`` of ``labels``, a random choice (``seed``) in which each class keeps its
    share (largest remainders; at least one image of each class). All of them when ``n`` is not less.

    >>> stratified_subset([0, 0, 0, 0, 1, 1, 1, 1], 4, seed=0)  # two of each class
    [2, 3, 4, 5]
    """
    labels = np.asarray(labels)
    if n >= len(labels):
        return list(range(len(labels)))
    classes, counts = np.unique(labels, return_counts=True)
    if n < len(classes):
        raise ValueError(f"{caller()}(): `subset` {n} is less than the number of classes ({len(classes)}); a subset keeps "
                         f"at least one image of each class: use subset >= {len(classes)}.")
    share = counts * n / len(labels)
    quota = np.maximum(1, np.floor(share).astype(int))
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    i = 0
    while quota.sum() < n:  # hand out what is left by largest remainder
        c = order[i % len(order)]
        if quota[c] < counts[c]:
            quota[c] += 1
        i += 1
    while quota.sum() > n:  # the "at least one" took too many: take back from the largest classes
        quota[np.argmax(quota)] -= 1
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == c), size=q, replace=False) for c, q in zip(classes, quota)]
    return sorted(int(i) for i in np.concatenate(picked))


def _usable(files: list[str], labels: list[int], skipped: dict[str, str], o: dict[str, Any]
            ) -> tuple[list[str], list[int]]:
    """Header check, then the subset (stratified by class), then one decoding of each file kept, at the
    pipeline's size: the images are kept in ``o["decoded"]`` while all of them (every split) fit the
    ``image_cache`` limit, and the pipelines then read them from memory instead of the files."""
    files, labels = _header_checked(files, labels, skipped)
    if o["subset"] is not None and labels:
        keep = stratified_subset(labels, o["subset"], o["seed"])
        files, labels = [files[i] for i in keep], [labels[i] for i in keep]
    height, width = o["image_size"]
    decoded = o.setdefault("decoded", {})
    fits = decoded is not None and \
        (len(decoded) + len(files)) * height * width * o["channels"] <= limit("image_cache", named=False)
    if not fits:
        o["decoded"] = None  # past the limit: every pipeline decodes its files each epoch
    ok = _decodable(files, o["channels"], o["image_size"], o["decoded"])  # decoded once, as the pipeline would
    skipped.update({f: "unreadable" for i, f in enumerate(files) if i not in ok})
    return [f for i, f in enumerate(files) if i in ok], [y for i, y in enumerate(labels) if i in ok]


def _shown(path: str, root: Path | None) -> str:
    if not os.path.isabs(path):  # "row 3": a row of a table without a file name
        return path
    tail = os.sep if path.endswith(os.sep) else ""
    if root is not None:
        rel = os.path.relpath(path, root)
        if not rel.startswith(os.pardir):  # inside root: the path from there; else the name
            return rel + tail
    return Path(path).name + tail


@otherwise("image_folder")
def skip_message(reasons: dict[str, str], root: Any = None) -> str:
    """The warning for skipped files: how many, and per reason how many and the first names
    (relative to ``root`` when given)."""
    root = None if root is None else Path(root)
    folders = sum(p.endswith(os.sep) for p in reasons)
    parts = []
    for kind, text in SKIP_REASONS.items():
        paths = [p for p, k in reasons.items() if k == kind]
        if paths:
            names = ", ".join(_shown(p, root) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
            text = "not an image" if kind == "not an image" and len(paths) == 1 else text
            parts.append(f"{len(paths)} {text.format(limit('image_pixels', named=False))}: {names}")
    what = "file(s)" if not folders else "file(s) and folder(s)"
    return f"{caller()}(): skipped {len(reasons)} {what}: {'; '.join(parts)}"


def _check_classes(root: Any, classes: list[str], labels: list[int], skipped: list[str],
                   table: str | None = None, loose: int = 0) -> None:
    """Errors for data a classifier cannot learn from: no images, one class, classes without images.
    ``table``: the argument's name for a table (else a folder); ``loose``: files beside the class folders."""
    where = f"`{table}`" if table else f"`path` {str(root)!r}"
    layout = ("Give one row per image: its file and its label." if table else
              "Put each class's images in a sub-folder of its own: path/<class>/<image>.png.")
    if not labels:
        raise ValueError(
            f"{caller()}(): {where} holds no readable images"
            + (f" ({len(skipped)} file(s) could not be read as {FORMAT_NAMES})" if skipped else "")
            + (f"; {loose} file(s) lie beside the class folders, in no class" if loose else "")
            + f". {layout}")
    found = sorted(set(labels))
    if len(found) < 2:
        present = [classes[i] for i in found]
        raise ValueError(
            f"{caller()}(): {where} has images of one class only ({present[0]!r}); a classifier needs at least 2 "
            + (f"labels with images (labels: {classes})." if table else
               f"class sub-folders with images (found folders: {classes})."))
    empty = [c for i, c in enumerate(classes) if i not in found]
    if empty:
        raise ValueError(f"{caller()}(): {'class(es)' if table else 'class folder(s)'} {empty} "
                         f"{'of' if table else 'under'} {where} hold no readable images; "
                         + ("drop them from `class_names` (R: droplevels())." if table else "remove them or add images."))


def _fingerprint(files: list[str], labels: list[int], classes: list[str], root: Path | None) -> str:
    """A hash of the sorted (file, size in bytes, class name) rows: a resumed run compares it, so a run
    does not continue on images that were added, removed, changed in size or moved between classes."""
    import hashlib

    rows = []
    for f, y in zip(files, labels):
        try:
            size = os.stat(f).st_size
        except OSError:
            size = -1
        rel = f if root is None else os.path.relpath(f, root)  # inside root: relative (the folder may move)
        rows.append(f"{f if rel.startswith(os.pardir) else rel}\t{size}\t{classes[y]}")
    return hashlib.blake2b("\n".join(sorted(rows)).encode(), digest_size=12).hexdigest()


def _pipeline(files: list[str], labels: list[int], image_size, channels: int, batch_size: int,
              shuffle: bool, seed: int, decoded: dict[str, np.ndarray] | None = None) -> Any:
    """Batches of ``(images in [0, 1], labels)``, each file decoded by :func:`cnnkit._images.decode_file`
    (the reader of ``load_images()``).

    Files are decoded once per run: the check that every kept file decodes (:func:`_usable`) decodes
    it at ``image_size`` and, while all images take at most the ``image_cache`` limit
    (``CNNKIT_MAX_IMAGE_CACHE``, 2 GiB: 14,000 RGB images at 224 x 224, as uint8), keeps them
    (``decoded``); the pipeline then reads them from memory, at the training step's speed from the
    first epoch. A larger dataset is decoded again every epoch, a batch of files a call, by
    :func:`cnnkit._images.read_images` (the reader of ``load_images()``, a thread pool)."""
    import tensorflow as tf

    height, width = image_size
    y = np.asarray(labels, dtype="int32")

    def scale(x: Any, y: Any) -> tuple[Any, Any]:
        return tf.cast(x, tf.float32) / 255.0, y

    if decoded is not None and all(f in decoded for f in files):
        images = np.stack([decoded[f] for f in files]) if files else np.zeros((0, height, width, channels), np.uint8)
        ds = tf.data.Dataset.from_tensor_slices((images, y))
        if shuffle:
            ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    @carried  # in tf.data's threads, later (while a model trains on it)
    def decode(paths: np.ndarray) -> np.ndarray:  # float32 in [0, 1], as scale() gives from memory
        with called("image_folder"):
            return read_images([os.fsdecode(p) for p in paths], (height, width), channels, "path")

    def load(f: Any, y: Any) -> tuple[Any, Any]:
        x = tf.numpy_function(decode, [f], tf.float32, stateful=False)
        x.set_shape([None, height, width, channels])
        return x, y

    ds = tf.data.Dataset.from_tensor_slices((files, y))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _options(image_size, color_mode, validation_split, seed, batch_size, subset) -> dict[str, Any]:
    return {"image_size": v.image_size(image_size, "image_size"),
            "channels": COLOR_MODES[v.choice(color_mode, "color_mode", choices=COLOR_MODES)],
            "seed": v.positive_int(seed, "seed", minimum=0),
            "batch_size": v.positive_int(batch_size, "batch_size"),
            "split": v.fraction(validation_split, "validation_split"),
            "subset": None if subset is None else v.positive_int(subset, "subset")}


def _datasets(splits: dict[str, tuple[list[str], list[int]]], classes: list[str], reasons: dict[str, str],
              o: dict[str, Any], root: Path | None) -> dict[str, Any]:
    """The common end of image_folder() and image_table(): the validation split (of ``train``, when
    there is no ``validation`` yet), the pipelines with their attributes, and the result dict."""
    if reasons:
        warn(skip_message(reasons, root), UserWarning)
    files, labels = splits["train"]
    order = np.random.default_rng(o["seed"]).permutation(len(files))
    files, labels = [files[i] for i in order], [labels[i] for i in order]
    n_val = int(round(len(files) * o["split"])) if o["split"] else 0
    if o["split"] and not 0 < n_val < len(files):
        raise ValueError(f"{caller()}(): `validation_split`={o['split']} of {len(files)} images leaves "
                         f"{'no validation' if n_val == 0 else 'no training'} images; use more images or another split.")
    parts = dict(splits, train=(files[n_val:], labels[n_val:]))
    if n_val:
        parts["validation"] = (files[:n_val], labels[:n_val])
    out: dict[str, Any] = {}
    for name in ("train", "validation", "test"):
        if name not in parts:
            out[name] = None
            continue
        f, y = parts[name]
        ds = _pipeline(f, y, o["image_size"], o["channels"], o["batch_size"], name == "train", o["seed"],
                       o.get("decoded"))
        # as Keras' image_dataset_from_directory does: fit_classifier() reads them
        ds.class_names = list(classes)
        ds.fixed_images = True  # the same images every epoch (in a new order): features may be cached
        ds.files, ds.labels = list(f), list(y)
        ds.fingerprint = _fingerprint(f, y, classes, root)  # a resumed run checks it (cnnkit.rundir)
        out[name] = ds
    return {**out, "class_names": list(classes), "num_train": len(parts["train"][0]),
            "num_validation": len(parts.get("validation", ((),))[0]), "num_test": len(parts.get("test", ((),))[0]),
            "skipped": list(reasons)}


def _scan_layout(root: Path, layout: dict[str, Path]
                 ) -> tuple[list[str], dict[str, tuple[list[str], list[str], list[int]]], dict[str, str]]:
    """Each split folder of ``layout`` scanned into ``(class names, files, labels)``; the class names
    (the same in every split, else an error) and the skipped paths (``{path: reason}``)."""
    reasons: dict[str, str] = {}
    seen = {os.path.realpath(d) for d in layout.values()}
    if len(layout) > 1:  # beside the split folders: nothing belongs there
        for entry in sorted(root.iterdir()):
            if entry not in layout.values():
                reasons[str(entry) + (os.sep if entry.is_dir() else "")] = "hidden" if hidden_name(entry.name) else "loose"
    scanned = {split: _scan_classes(folder, reasons, seen) for split, folder in layout.items()}
    classes = scanned["train"][0]
    for split, (names, _, _) in scanned.items():
        lacks, extra = sorted(set(classes) - set(names)), sorted(set(names) - set(classes))
        if lacks or extra:
            what = ([f"lacks {lacks}"] if lacks else []) + ([f"has {extra}, which {layout['train'].name}/ lacks"]
                                                            if extra else [])
            raise ValueError(f"{caller()}(): the splits of `path` {str(root)!r} have different class folders: "
                             f"{layout[split].name}/ {' and '.join(what)}; every split needs the same class folders.")
    return classes, scanned, reasons


@public
def image_folder(
    path: str,
    image_size: int | tuple[int, int] = (64, 64),
    color_mode: str = "rgb",
    validation_split: float | None = None,
    seed: int = 0,
    batch_size: int = 32,
    subset: int | None = None,
) -> dict[str, Any]:
    """Images in class sub-folders (``path/<class>/<image>``) as a prefetched ``tf.data`` pipeline.

    Class ids follow the sorted folder names (0, 1, ...). Images are decoded as a viewer shows
    them (turned upright by their EXIF orientation, 16-bit images scaled to 8 bits, transparent
    pixels white, the first frame of an animation), resized to ``image_size`` (bicubic) and scaled
    to [0, 1]. Every file under ``path`` is either used or counted, by
    reason, in one warning (the ``skipped`` entry lists them):

    - files that are not readable PNG, JPEG, BMP, GIF, WebP or TIFF images (not images at all,
      corrupt or truncated, another format) or that declare more pixels than the limit
      (``CNNKIT_MAX_IMAGE_PIXELS``, 50 megapixels, checked from the header before decoding). Every
      file kept has been decoded once by the decoder the pipeline uses, so training never meets a
      file it cannot read;
    - hidden files and folders -- a name starting with ``.`` (``.DS_Store``, ``.ipynb_checkpoints/``)
      or ``__MACOSX`` -- at any depth (a hidden folder is not read, and counts once);
    - files lying beside the class folders (in no class).

    A class folder is read at any depth; linked folders (symbolic links) are followed, each real
    folder once (a link loop, or a second link to a folder already read, is skipped and counted).

    **Splits.** A ``path`` whose folders are ``train/`` and ``test/``, ``val/`` or ``validation/``
    (any case) holds splits, not classes: ``path/train/<class>/<image>``, ... The result's ``train``,
    ``validation`` and ``test`` are those splits; each split must have the same class folders (else
    an error names the difference). ``validation_split`` then splits ``train/`` only when there is
    no ``val/`` folder.

    Args:
        path: the folder holding one sub-folder per class (or the split folders).
        image_size: ``(height, width)`` to resize to (one number: square); at most 4,096 a side
            (``CNNKIT_MAX_IMAGE_SIDE``).
        color_mode: ``"rgb"`` (3 channels) or ``"grayscale"`` (1 channel: the luma of colour images).
        validation_split: fraction of the (training) images held out for validation (``None``: none).
        seed: seed of the shuffle, of the split and of the subset.
        batch_size: images per batch.
        subset: use at most this many images of each split (of the whole folder without split
            folders), a random choice with ``seed`` that keeps each class's share (at least one image
            a class); chosen before ``validation_split``. ``None``: all.

    Returns:
        A dict: ``train`` (a ``tf.data.Dataset`` of ``(images, labels)`` batches, shuffled each
        epoch), ``validation`` and ``test`` (datasets or ``None``), ``class_names``, ``num_train``,
        ``num_validation``, ``num_test`` and ``skipped`` (the paths that were skipped; a folder ends
        with ``/``). Each dataset carries ``class_names``, ``files``, ``labels`` and ``fingerprint``
        (a hash of its files, their sizes and classes: a resumed run in a ``run_dir`` refuses other
        images).

    Example:
        >>> photos = example_image_folder("photos", classes=["Sneaker", "Bag", "Dress"], n=10)
        >>> d = image_folder(photos, image_size=32, validation_split=0.2)
        >>> d["class_names"], d["num_train"], d["num_validation"]
        (['bag', 'dress', 'sneaker'], 24, 6)
        >>> model = simple_cnn((32, 32, 3), blocks=1, filters=4, units=8, num_classes=3)
        >>> h = fit_classifier(model, d["train"], validation_data=d["validation"], epochs=1, verbose=0)
    """
    o = _options(image_size, color_mode, validation_split, seed, batch_size, subset)
    root = _folder_path(path)
    layout = split_folders(root) or {"train": root}
    if "validation" in layout and o["split"]:
        raise ValueError(f"{caller()}(): `path` {str(root)!r} has its own validation folder "
                         f"({layout['validation'].name}/); leave validation_split as None (R: NULL).")
    classes, scanned, reasons = _scan_layout(root, layout)
    splits = {}
    for split, (_names, files, labels) in scanned.items():
        files, labels = _usable(files, labels, reasons, o)
        where = layout[split] if len(layout) > 1 else root
        mine = {p: k for p, k in reasons.items() if p.startswith(str(where) + os.sep)}
        _check_classes(where, classes, labels, [p for p, k in mine.items() if k in UNREAD],
                       loose=sum(k == "loose" for k in mine.values()))
        splits[split] = (files, labels)
    return _datasets(splits, classes, dict(sorted(reasons.items())), o, root)


# --- a table of files and labels ---------------------------------------------------------------------

def _columns(table: Any, arg: str) -> tuple[dict[str, list[Any]], Path | None, dict[str, list[str]]]:
    """The columns of a table (a CSV file, a dict of columns, a list of rows or a pandas-like data
    frame), the CSV's folder (or ``None``) and the category order of categorical columns."""
    import csv

    if isinstance(table, (str, os.PathLike)):
        f = Path(table).expanduser()
        if not str(table) or not f.is_file():
            raise ValueError(f"{caller()}(): `{arg}` {str(table)!r} is not a CSV file ("
                             f"{'a folder' if f.is_dir() else 'it does not exist'}); pass a CSV file with a file and a "
                             f"label column, or a table ({code('a dict of columns or a pandas DataFrame', 'a data frame')}).")
        try:
            with open(f, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise ValueError(f"{caller()}(): `{arg}` {str(f)!r} is not a readable CSV file ({type(e).__name__}: {e}).") from None
        if not rows:
            raise ValueError(f"{caller()}(): `{arg}` {str(f)!r} is empty; its first line must name the columns (file,label).")
        head, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if any(c.strip() for c in r)]
        cols: dict[str, list[Any]] = {h: [r[i].strip() if i < len(r) else "" for r in body] for i, h in enumerate(head)}
        return cols, f.parent, {}
    if isinstance(table, (list, tuple)) and table and all(isinstance(r, dict) for r in table):
        names = list(dict.fromkeys(k for r in table for k in r))
        return {k: [r.get(k) for r in table] for k in names}, None, {}
    if isinstance(table, dict) or (hasattr(table, "columns") and hasattr(table, "__getitem__")):
        cols, cats = {}, {}
        for k in list(table.keys() if isinstance(table, dict) else table.columns):
            col = table[k]
            cat = getattr(col, "cat", None)  # a pandas categorical: its categories are the class order
            with contextlib.suppress(AttributeError, TypeError):
                if cat is not None:
                    cats[str(k)] = [str(c) for c in list(cat.categories)]
            if isinstance(col, dict) and set(col) == {"values", "levels"}:  # an R factor (R/data.R as_py_table)
                levels = col["levels"]
                cats[str(k)] = [str(c) for c in ([levels] if isinstance(levels, str) else list(levels))]
                col = col["values"]
            col = col.tolist() if hasattr(col, "tolist") else col
            if isinstance(col, (str, bytes)) or not isinstance(col, (list, tuple)):
                col = [col] if isinstance(table, dict) and not isinstance(col, dict) else None
            if col is None:
                raise TypeError(f"{caller()}(): `{arg}` column {k!r} must be a list of values, got {type(table[k]).__name__}.")
            cols[str(k)] = list(col)
        if len({len(c) for c in cols.values()}) > 1:
            raise ValueError(f"{caller()}(): the columns of `{arg}` have different lengths "
                             f"({', '.join(f'{k}: {len(c)}' for k, c in cols.items())}).")
        return cols, None, cats
    raise TypeError(f"{caller()}(): `{arg}` must be a CSV file, "
                    f"{code('a dict of columns, a list of rows or a pandas DataFrame', 'a data frame')} "
                    f"with a file and a label column, got {type(table).__name__}.")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and value != value) or \
        (isinstance(value, str) and not value.strip())


def _label_text(value: Any, column: str) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (str, int, float, np.integer, np.floating)):
        raise TypeError(f"{caller()}(): the labels (`label_column` {column!r}) must be text or whole numbers, got {value!r} "
                        f"({type(value).__name__}).")
    if isinstance(value, str):
        return value.strip()
    if not _is_whole(value):
        raise ValueError(f"{caller()}(): the labels (`label_column` {column!r}) must be text or whole numbers, got {value!r}.")
    return str(int(value))


def _is_whole(value: Any) -> bool:
    try:
        return float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        return False


def _class_order(labels: list[str], class_names: Any, cats: list[str] | None, column: str) -> list[str]:
    """The class names: ``class_names`` as given, else a categorical's categories, else the labels
    sorted (as numbers when all are whole numbers)."""
    if class_names is not None:
        names = v.strings(class_names, "class_names")
        if len(set(names)) != len(names):
            raise ValueError(f"{caller()}(): `class_names` has duplicates: {names}.")
    elif cats is not None:
        names = cats
    else:
        names = sorted(set(labels))
        if all(re.fullmatch(r"[+-]?\d+", s) for s in names):
            names = sorted(names, key=int)
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ValueError(f"{caller()}(): label(s) {unknown[:5]}{' ...' if len(unknown) > 5 else ''} of `label_column` "
                         f"{column!r} are not in `class_names` {names}.")
    return list(names)


@otherwise("image_table")
def table_files(table: Any, path: Any = None, file_column: str = "file", label_column: str = "label",
                class_names: Any = None, arg: str = "table"
                ) -> tuple[list[str], list[str], list[int], dict[str, str], Path | None]:
    """A table's rows as ``(class_names, files, labels, skipped, root)``: relative file names resolved
    against ``path`` (else the CSV file's folder, else the working directory); rows without a file
    or a label, files that do not exist and repeated files skipped (``{path: reason}``)."""
    file_column = v.string(file_column, "file_column", example="file")
    label_column = v.string(label_column, "label_column", example="label")
    base = None if path is None else _folder_path(path, what="the folder the table's file names are relative to")
    cols, csv_dir, cats = _columns(table, arg)
    for col_arg, name in (("file_column", file_column), ("label_column", label_column)):
        if name not in cols and arg != "table":  # a caller with fixed column names (train_classifier's labels)
            raise ValueError(f"{caller()}(): `{arg}` needs a {name!r} column (the {col_arg.split('_')[0]} of each "
                             f"image); its columns are {list(cols) or 'none'}. Name that column {name!r}.")
        if name not in cols:
            raise ValueError(f"{caller()}(): `{col_arg}` {name!r} is not a column of `{arg}`; its columns are "
                             f"{list(cols) or 'none'}. Name the {col_arg.split('_')[0]} column with `{col_arg}`.")
    root = base or csv_dir
    skipped: dict[str, str] = {}
    rows: dict[str, str] = {}
    for i, (f, y) in enumerate(zip(cols[file_column], cols[label_column])):
        if _missing(f):
            skipped[f"row {i + 1}"] = "no file"
            continue
        if not isinstance(f, (str, os.PathLike)):
            raise TypeError(f"{caller()}(): the files (`file_column` {file_column!r}) must be paths (text), "
                            f"got {f!r} in row {i + 1}.")
        p = Path(str(f).strip()).expanduser()
        p = str(p if p.is_absolute() or root is None else root / p)
        if _missing(y):
            skipped[p] = "no label"
            continue
        y = _label_text(y, label_column)
        if p in rows:
            if rows[p] != y:
                raise ValueError(f"{caller()}(): `{arg}` lists the file {p!r} twice, with labels {rows[p]!r} and {y!r}; an "
                                 "image has one class.")
            skipped[p + f" (row {i + 1})"] = "duplicate"
            continue
        if not os.path.lexists(p):
            skipped[p] = "missing"
            continue
        rows[p] = y
    names = _class_order(list(rows.values()), class_names, cats.get(label_column), label_column)
    ids = {c: i for i, c in enumerate(names)}
    return names, list(rows), [ids[y] for y in rows.values()], skipped, root


@public
def image_table(
    table: Any,
    path: str | None = None,
    file_column: str = "file",
    label_column: str = "label",
    class_names: Sequence[str] | None = None,
    image_size: int | tuple[int, int] = (64, 64),
    color_mode: str = "rgb",
    validation_split: float | None = None,
    seed: int = 0,
    batch_size: int = 32,
    subset: int | None = None,
) -> dict[str, Any]:
    """Images listed in a table -- one row per image: its file and its label -- as the same prefetched
    ``tf.data`` pipeline and dict as :func:`image_folder` (the same checks, split, subset and skip
    warning: rows without a file or a label, files that do not exist, files listed twice and files
    that are not readable images are skipped and counted; a file listed twice with two labels is an
    error).

    Args:
        table: a CSV file (its first line names the columns), a dict of columns
            (``{"file": [...], "label": [...]}``), a list of rows (dicts) or a pandas ``DataFrame``
            (pandas is not needed otherwise). From R: a data frame (or tibble).
        path: the folder relative file names are relative to. ``None``: the CSV file's folder, or
            the working directory for a table in memory. Absolute paths are used as they are.
        file_column, label_column: the columns' names (an error lists the columns there are).
        class_names: the class order (class id 0 first); every label must be one of them. ``None``:
            a pandas categorical's categories (an R factor's levels), else the labels sorted -- as
            numbers when all of them are whole numbers (``2`` before ``10``). Labels are text or
            whole numbers; the class names are text.
        image_size, color_mode, validation_split, seed, batch_size, subset: as in :func:`image_folder`.

    Returns:
        A dict as :func:`image_folder`'s (``test`` is ``None``, ``num_test`` 0).

    Example:
        >>> photos = example_image_folder("table_photos", classes=["Sneaker", "Bag"], n=3)
        >>> rows = {"file": ["bag/img_001.png", "bag/img_002.png", "sneaker/img_001.png"],
        ...         "label": ["bag", "bag", "sneaker"]}
        >>> d = image_table(rows, path=photos, image_size=28)
        >>> d["class_names"], d["num_train"]
        (['bag', 'sneaker'], 3)
    """
    return _image_table(table, path, file_column, label_column, class_names, image_size, color_mode,
                        validation_split, seed, batch_size, subset)


@otherwise("image_table")
def _image_table(table, path, file_column, label_column, class_names, image_size, color_mode, validation_split,
                 seed, batch_size, subset, arg: str = "table") -> dict[str, Any]:
    """:func:`image_table` for a caller whose messages name its own argument (``arg``)."""
    o = _options(image_size, color_mode, validation_split, seed, batch_size, subset)
    names, files, labels, reasons, root = table_files(table, path, file_column, label_column, class_names, arg)
    files, labels = _usable(files, labels, reasons, o)
    _check_classes(table, names, labels, [p for p, k in reasons.items() if k in UNREAD], table=arg)
    return _datasets({"train": (files, labels)}, names, dict(sorted(reasons.items())), o, root)


@public
def load_images(
    files: str | Sequence[str],
    image_size: int | tuple[int, int],
    color_mode: str = "rgb",
) -> np.ndarray:
    """Read image files into one float32 array ``(n, height, width, channels)`` in [0, 1].

    The same decoding and resizing as :func:`image_folder` (one decoder: EXIF orientation applied,
    16-bit images scaled, transparent pixels white, bicubic resizing), so a model trained on a
    folder sees new files the same way. An unreadable file, or one declaring more pixels than the limit
    (``CNNKIT_MAX_IMAGE_PIXELS``, checked before decoding), is an error that names it.

    Args:
        files: one path or a list of paths (PNG, JPEG, BMP, GIF, WebP or TIFF).
        image_size: ``(height, width)`` (one number: square).
        color_mode: ``"rgb"`` or ``"grayscale"``.

    Returns:
        A NumPy array.

    Example:
        >>> photos = example_image_folder("some_photos", classes=["Sneaker", "Bag"], n=2)
        >>> load_images([photos + "/bag/img_001.png", photos + "/sneaker/img_002.png"], 28, "grayscale").shape
        (2, 28, 28, 1)
    """
    image_size = v.image_size(image_size, "image_size")
    channels = COLOR_MODES[v.choice(color_mode, "color_mode", choices=COLOR_MODES)]
    return read_images(files, image_size, channels, "files")
