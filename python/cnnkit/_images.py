"""Reading image files: every cnnkit function that reads an image reads it here.

One checked open (:func:`check_image_file`: the header first, so a file declaring more than the
``image_pixels`` limit, ``CNNKIT_MAX_IMAGE_PIXELS``, is refused before anything is decoded -- a 21 KB
PNG can declare 13,000 x 13,000 pixels) and one reader, :func:`read_image`, with the options its
callers need:

=================================  =========  ==========  =========  ===========  =========
caller                             decoder    scale       crop       size         channels
=================================  =========  ==========  =========  ===========  =========
``load_images()``,                 TensorFlow 0-1         none       given        1 or 3
``predict_classes()`` (paths)      (as ``image_folder()``'s pipeline: bilinear resize)
``feature_maps()`` (a path)        Pillow     0-255       none       the model's  the model's
``classify_image()``               Pillow     0-255       87.5 %     224          3
=================================  =========  ==========  =========  ===========  =========

``image_folder()``'s ``tf.data`` pipeline decodes with :func:`decode_image`, the decoder of
``decoder="tensorflow"``, so ``load_images()`` gives a model what the pipeline gave it in training.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .limits import limit, too_many

# Formats both Pillow (for the check) and TensorFlow (for the pipeline) decode.
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif"}
DECODERS = ("pillow", "tensorflow")
SCALES = (1, 255)


# --- checked opening -----------------------------------------------------------------------------

class ImageFileError(ValueError):
    """A file that cnnkit does not read as an image; ``kind`` says why: ``"not a file"``,
    ``"unreadable"``, ``"format"`` (an image, but not PNG/JPEG/BMP/GIF) or ``"too large"``."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def max_image_bytes(fn: str | None = None) -> int:
    """The largest image file read: 8 bytes per pixel of the pixel limit (16-bit RGBA, uncompressed)."""
    return 8 * limit("image_pixels", fn)


class ImageHeader(NamedTuple):
    format: str
    width: int
    height: int
    mode: str


def check_image_file(path: Any, fn: str, where: str | None = None, formats: Any = IMAGE_FORMATS) -> ImageHeader:
    """``(format, width, height, mode)`` of an image file, read from its header only (nothing is decoded).

    Raises :class:`ImageFileError` (a ``ValueError`` whose message starts ``fn(): where``) when
    ``path`` is not a regular file, not an image Pillow recognises, not one of ``formats`` (``None``:
    any format Pillow reads), larger than the ``image_pixels`` limit (``CNNKIT_MAX_IMAGE_PIXELS``,
    50 megapixels by default), or a file larger than such an image can be (8 bytes a pixel).
    Every cnnkit function that reads an image file calls this first.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path).expanduser()
    where = where or f"`image` file {str(p)!r}"

    def fail(what: str, kind: str) -> ImageFileError:
        return ImageFileError(f"{fn}(): {where} {what}", kind)

    if p.is_dir():
        raise fail("is a folder, not an image file.", "not a file")
    if not p.is_file():
        exists = os.path.lexists(p)
        raise fail("is not a regular file (a device, a pipe or a broken or looping link)." if exists
                   else "is not a file: it does not exist.", "not a file")
    size = p.stat().st_size
    if size > max_image_bytes(fn):
        raise fail(f"is {size:,} bytes, more than an image within {too_many('image_pixels', fn)} can be "
                   f"({max_image_bytes(fn):,} bytes, 8 a pixel).", "too large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:  # reads the header only
                fmt, (width, height), mode = img.format, img.size, img.mode
    except Image.DecompressionBombError as e:
        raise fail(f"declares more pixels than Pillow's own guard allows ({e}), and more than "
                   f"{too_many('image_pixels', fn)}. Downscale it first.", "too large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as e:
        raise fail(f"is not a readable image ({e.__class__.__name__}: {e}).", "unreadable") from None
    if formats is not None and fmt not in formats:
        raise fail(f"is a {fmt} image; cnnkit reads {', '.join(formats)} images. Convert it, e.g. "
                   "PIL.Image.open(f).save('image.png').", "format")
    if width * height > limit("image_pixels", fn):
        raise fail(f"declares {width:,} x {height:,} = {width * height:,} pixels, more than "
                   f"{too_many('image_pixels', fn)}. Downscale it first (e.g. PIL's Image.thumbnail).",
                   "too large")
    return ImageHeader(fmt, width, height, mode)


def open_image(path: Any, fn: str, where: str | None = None) -> Any:
    """A checked (:func:`check_image_file`) and decoded ``PIL.Image``; any format Pillow reads.

    For the readers that decode with Pillow (``feature_maps()``, ``classify_image()``); an error is
    a ``ValueError`` whose message starts ``fn(): where``.
    """
    from PIL import Image

    check_image_file(path, fn, where, formats=None)
    where = where or f"`image` file {str(Path(path).expanduser())!r}"
    try:
        with Image.open(Path(path).expanduser()) as img:
            img.load()
            return img.copy()  # decoded, and the file closed (an animated GIF: its first frame)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        raise ImageFileError(f"{fn}(): {where} is not a readable image ({e.__class__.__name__}: {e}).",
                             "unreadable") from None


def check_pipeline_file(path: Any, fn: str, where: str | None = None) -> ImageHeader:
    """:func:`check_image_file` for TensorFlow's decoder: PNG, JPEG, BMP or GIF, and no BMP that
    TensorFlow reads wrongly (palette and 1/4-bit BMPs: it takes the palette indices for gray values,
    a wrong image rather than an error, measured with TensorFlow 2.21)."""
    header = check_image_file(path, fn, where)
    if header.format == "BMP" and header.mode not in ("RGB", "RGBA", "L"):
        where = where or f"`image` file {str(Path(path).expanduser())!r}"
        raise ImageFileError(f"{fn}(): {where} is a BMP with a palette or under 8 bits a pixel ({header.mode} "
                             "mode), which TensorFlow's decoder reads wrongly or not at all. Convert it to PNG, "
                             "e.g. PIL.Image.open(f).save('image.png').", "format")
    return header


def _not_decoded(e: Any, path: Any, fn: str, where: str | None) -> ImageFileError:
    """The error for a file TensorFlow's decoder refused (its message without the op's decorations)."""
    first = str(e.message or "").splitlines()[0] if getattr(e, "message", None) else ""
    reason = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*$", "", first) or e.__class__.__name__
    where = where or f"`image` file {str(Path(path).expanduser())!r}"
    return ImageFileError(f"{fn}(): {where} is not an image TensorFlow can decode ({reason}).", "unreadable")


def _decode(contents: Any, channels: int, dtype: Any) -> Any:
    """TensorFlow's decoder as cnnkit uses it: ``(h, w, channels)``, the first frame of a GIF.

    Grayscale (``channels=1``) decodes as stored and takes the luma of RGB(A) images
    (``tf.image.rgb_to_grayscale``), because TensorFlow's own conversion fails on GIF, BMP and
    CMYK JPEG files (``channels=1`` is refused for GIF and BMP).
    """
    import tensorflow as tf

    if channels != 1:
        return tf.io.decode_image(contents, channels=channels, expand_animations=False, dtype=dtype)
    img = tf.io.decode_image(contents, channels=0, expand_animations=False, dtype=dtype)
    return tf.cond(tf.shape(img)[-1] >= 3, lambda: tf.image.rgb_to_grayscale(img[..., :3]), lambda: img[..., :1])


def decode_image(contents: Any, image_size: tuple[int, int], channels: int) -> Any:
    """Decode PNG/JPEG/BMP/GIF bytes to a float32 ``(h, w, channels)`` tensor in [0, 1] (TensorFlow)."""
    import tensorflow as tf

    img = _decode(contents, channels, tf.float32)
    img.set_shape([None, None, channels])
    return tf.image.resize(img, image_size)


# --- the reader ----------------------------------------------------------------------------------

def read_image(image: Any, *, size: tuple[int | None, int | None] | int | None = None, channels: int = 3,
               scale: int = 255, crop: float | None = None, decoder: str = "pillow", fn: str,
               where: str | None = None) -> np.ndarray:
    """One image, a file path or (``decoder="pillow"``) an array with values 0-255, as a float32
    ``(height, width, channels)`` array.

    Args:
        image: a path (PNG, JPEG, ...; checked by :func:`check_image_file` before it is decoded) or,
            for the Pillow decoder, an image array ``(height, width, channels)`` or ``(1, height,
            width, channels)`` with values 0-255.
        size: ``(height, width)`` to resize to (one number: square); ``None`` or a ``None`` side: as read.
        channels: 1 (grayscale: the luma of colour images) or 3 (RGB).
        scale: 255 (values 0-255) or 1 (values in [0, 1]).
        crop: ``None`` (the whole image) or the fraction of the shorter side kept by a central
            square crop before resizing (0.875: ImageNet's evaluation crop). Pillow decoder only.
        decoder: ``"pillow"`` (bicubic resize) or ``"tensorflow"`` (TensorFlow's decoder and bilinear
            resize, as ``image_folder()``'s pipeline; PNG, JPEG, BMP and GIF files only).
        fn, where: the function and argument errors name (``fn(): where ...``).

    Example:
        >>> photos = example_image_folder("reader_photos", classes=["Bag", "Dress"], n=1)
        >>> read_image(photos + "/bag/img_001.png", size=32, channels=1, scale=1, fn="doc").shape
        (32, 32, 1)
    """
    if decoder not in DECODERS or scale not in SCALES or channels not in (1, 3):
        raise ValueError(f"read_image(): decoder {decoder!r}, scale {scale!r} or channels {channels!r} "
                         f"is not one of {DECODERS}, {SCALES}, (1, 3).")
    if isinstance(size, int):
        size = (size, size)
    if decoder == "tensorflow":
        if crop is not None or not isinstance(image, (str, os.PathLike)) or None in (size or (None,)):
            raise ValueError("read_image(): the TensorFlow decoder reads a file to a given size, without a crop.")
        x = _tf_read(image, size, channels, fn, where)
        return x * 255.0 if scale == 255 else x
    pil = _pil_image(image, channels, fn, where)
    if crop is not None or (size and size[0] and size[1]):
        w, h = pil.size
        side = crop * min(w, h) if crop is not None else None
        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2) if side else (0, 0, w, h)
        out = (size[1], size[0]) if size and size[0] and size[1] else (round(box[2] - box[0]), round(box[3] - box[1]))
        from PIL import Image

        pil = pil.resize(out, Image.BICUBIC, box=box)
    x = np.asarray(pil, dtype=np.float32)
    x = x[..., None] if x.ndim == 2 else x
    return x / np.float32(255.0) if scale == 1 else x


def _pil_image(image: Any, channels: int, fn: str, where: str | None) -> Any:
    """A path (checked, then decoded) or a 0-255 image array as a Pillow image of ``channels``."""
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    if isinstance(image, (str, os.PathLike)):
        return open_image(image, fn, where).convert(mode)
    arr = np.asarray(image)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[-1] != channels or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{fn}(): `image` must be a file path, a list of paths, or {'RGB ' * (channels == 3)}image arrays "
                         f"(height, width, {channels}) or (n, height, width, {channels}) with values 0-255; "
                         f"got {type(image).__name__} of shape {getattr(arr, 'shape', None)}.")
    if arr.dtype != np.uint8 and arr.size and 0 <= arr.min() and arr.max() <= 1.0 and arr.max() > 0:
        raise ValueError(f"{fn}(): `image` has values in [0, 1]; pass 0-255 values (multiply by 255).")
    arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return Image.fromarray(arr[..., 0] if channels == 1 else arr)


def _tf_read(path: Any, size: tuple[int, int], channels: int, fn: str, where: str | None) -> np.ndarray:
    """The pipeline's decoding of one file: float32 in [0, 1]; TensorFlow's refusal as an ImageFileError."""
    import tensorflow as tf

    check_pipeline_file(path, fn, where)  # the header first: nothing is decoded past the limits
    try:
        return decode_image(Path(path).expanduser().read_bytes(), size, channels).numpy()
    except tf.errors.OpError as e:
        raise _not_decoded(e, path, fn, where) from None


def read_images(files: Any, image_size: tuple[int, int], channels: int, fn: str, arg: str) -> np.ndarray:
    """Image files as ``image_folder()``'s pipeline reads them: one float32 array ``(n, height, width,
    channels)`` in [0, 1]; errors name ``fn`` and ``arg`` (sizes checked by the caller)."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if not isinstance(files, (list, tuple)) or not files:
        raise TypeError(f"{fn}(): `{arg}` must be one image path or a non-empty list of paths, got {files!r}.")
    out = []
    for f in files:
        if not isinstance(f, (str, os.PathLike)):
            raise TypeError(f"{fn}(): `{arg}` entry {f!r} is not a file path (a string).")
        out.append(read_image(f, size=image_size, channels=channels, scale=1, decoder="tensorflow", fn=fn,
                              where=f"`{arg}` entry {str(f)!r}"))
    return np.stack(out).astype("float32")
