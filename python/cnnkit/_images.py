"""Reading image files: every cnnkit function that reads an image reads it here, with one decoder.

One checked open (:func:`check_image_file`: the header first, so a file declaring more than the
``image_pixels`` limit, ``CNNKIT_MAX_IMAGE_PIXELS``, is refused before anything is decoded -- a 21 KB
PNG can declare 13,000 x 13,000 pixels) and one decoder, :func:`decode_file` (Pillow), that gives
the pixels an image viewer shows:

- the EXIF orientation applied (a portrait phone photo stored sideways is read upright);
- 16-bit images scaled to 0-255, not clipped to white: grey by value / 257, RGB(A) by Pillow's own
  reduction to the high byte (within a level of that);
- transparency (RGBA, grey + alpha, palettes with a transparent colour) composited onto
  :data:`BACKGROUND`, white, as a browser shows a transparent PNG on a page; the colour hidden
  under transparent pixels never shows;
- palette, 1-bit, CMYK and YCbCr images converted to RGB; animated files: their first frame;
- grayscale (``channels=1``): the luma of that RGB image (ITU-R 601, ``L = 0.299 R + 0.587 G +
  0.114 B``, as Pillow's ``convert("L")``), RGB: 3 channels;
- resized with one filter, :data:`RESAMPLE` (Pillow's bicubic, antialiased when it shrinks); a JPEG
  much larger than the size asked for is decoded at 1/2, 1/4 or 1/8 scale first (libjpeg's DCT
  scaling, Pillow's ``draft``), never below twice that size.

Formats: :data:`IMAGE_FORMATS` (PNG, JPEG, BMP, GIF, WebP, TIFF) on every path. Its callers:

=================================  ==========  =========  ===========  =========
caller                             scale       crop       size         channels
=================================  ==========  =========  ===========  =========
``image_folder()`` (its pipeline)  0-1         none       given        1 or 3
``load_images()``,                 0-1         none       given        1 or 3
``predict_classes()`` (paths)
``feature_maps()`` (a path)        0-255       none       the model's  the model's
``classify_image()``               0-255       87.5 %     224          3
=================================  ==========  =========  ===========  =========

``image_folder()``'s ``tf.data`` pipeline calls :func:`decode_file` (``tf.numpy_function``), so
``load_images()`` gives a model exactly what the pipeline gave it in training.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import threading
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np

from ._context import caller, carried, otherwise
from .limits import limit, too_many

# Formats Pillow decodes that cnnkit reads (MPO: the multi-picture JPEG some phones write).
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "BMP": ".bmp", "GIF": ".gif", "WEBP": ".webp",
                 "TIFF": ".tif"}
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, WebP or TIFF"
# Pillow modes :func:`decode_file` turns into RGB or grayscale (a 32-bit float or LAB image is refused).
IMAGE_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
               "I", "I;16", "I;16L", "I;16B", "I;16N")
BACKGROUND = (255, 255, 255)  # what transparent pixels become: white, as a viewer shows them on a page
RESAMPLE = "bicubic"  # Pillow's Image.BICUBIC: antialiased when shrinking (its support grows with the scale)
JPEG_DRAFT = True  # decode large JPEGs at a reduced DCT scale, keeping at least twice the size asked for
DECODERS = ("pillow",)
SCALES = (1, 255)
_QUIET_LOCK = threading.Lock()  # warnings.catch_warnings() is not thread-safe: headers are read one at a time
# how a viewer turns the stored pixels for each EXIF orientation (tag 274), as PIL.ImageOps.exif_transpose
_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
              7: "TRANSVERSE", 8: "ROTATE_90"}
_PILLOW_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError, zlib.error)


# --- checked opening -----------------------------------------------------------------------------

class ImageFileError(ValueError):
    """A file that cnnkit does not read as an image; ``kind`` says why: ``"not a file"``,
    ``"unreadable"``, ``"format"`` (an image, but not PNG/JPEG/BMP/GIF/WebP/TIFF, or a variant such
    as 32-bit floating point) or ``"too large"``."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def max_image_bytes() -> int:
    """The largest image file read: 8 bytes per pixel of the pixel limit (16-bit RGBA, uncompressed)."""
    return 8 * limit("image_pixels")


class ImageHeader(NamedTuple):
    format: str
    width: int
    height: int
    mode: str


def _where(path: Any, where: str | None) -> str:
    return where or f"`image` file {str(Path(path).expanduser())!r}"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Pillow's warnings silenced (its bomb warning: cnnkit's limit says more; "Corrupt EXIF data": the
    file is then read without it, or refused with the reason), one thread at a time."""
    from PIL import Image

    with _QUIET_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        yield


@contextlib.contextmanager
def _checked_open(path: Any, where: str | None, formats: Any = IMAGE_FORMATS) -> Iterator[Any]:
    """An open, not yet decoded ``PIL.Image`` whose header passed the checks of :func:`check_image_file`."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path).expanduser()
    where = _where(p, where)

    def fail(what: str, kind: str) -> ImageFileError:
        return ImageFileError(f"{caller()}(): {where} {what}", kind)

    if p.is_dir():
        raise fail("is a folder, not an image file.", "not a file")
    if not p.is_file():
        exists = os.path.lexists(p)
        raise fail("is not a regular file (a device, a pipe or a broken or looping link)." if exists
                   else "is not a file: it does not exist.", "not a file")
    size, pixels = p.stat().st_size, limit("image_pixels")
    if size > 8 * pixels:  # max_image_bytes()
        raise fail(f"is {size:,} bytes, more than an image within {too_many('image_pixels')} can be "
                   f"({8 * pixels:,} bytes, 8 a pixel).", "too large")
    try:
        with _quiet():
            img = Image.open(p)  # reads the header only
    except Image.DecompressionBombError as e:
        raise fail(f"declares more pixels than Pillow's own guard allows ({e}), and more than "
                   f"{too_many('image_pixels')}. Downscale it first.", "too large") from None
    except (UnidentifiedImageError, *_PILLOW_ERRORS) as e:
        raise fail(f"is not a readable image ({e.__class__.__name__}: {e}).", "unreadable") from None
    with img:
        fmt, (width, height), mode = img.format, img.size, img.mode
        if formats is not None and fmt not in formats:
            raise fail(f"is a {fmt} image; cnnkit reads {', '.join(sorted(set(formats) - {'MPO'}))} images. Convert "
                       "it, e.g. PIL.Image.open(f).save('image.png').", "format")
        if mode not in IMAGE_MODES:
            raise fail(f"is a {fmt} image of mode {mode} (e.g. 32-bit floating point), which cnnkit does not read; "
                       "convert it to 8 or 16 bits a channel, e.g. with PIL's Image.convert('RGB').", "format")
        if width * height > pixels:
            raise fail(f"declares {width:,} x {height:,} = {width * height:,} pixels, more than "
                       f"{too_many('image_pixels')}. Downscale it first (e.g. PIL's Image.thumbnail).",
                       "too large")
        yield img


def check_image_file(path: Any, where: str | None = None, formats: Any = IMAGE_FORMATS) -> ImageHeader:
    """``(format, width, height, mode)`` of an image file, read from its header only (nothing is decoded).

    Raises :class:`ImageFileError` (a ``ValueError`` whose message starts ``caller(): where``) when
    ``path`` is not a regular file, not an image Pillow recognises, not one of ``formats`` (``None``:
    any format Pillow reads) or of a mode :func:`decode_file` does not read, larger than the
    ``image_pixels`` limit (``CNNKIT_MAX_IMAGE_PIXELS``, 50 megapixels by default), or a file larger
    than such an image can be (8 bytes a pixel). Every cnnkit function that reads an image file calls
    this first (:func:`decode_file` does).
    """
    with _checked_open(path, where, formats) as img:
        return ImageHeader(img.format, img.size[0], img.size[1], img.mode)


def check_pipeline_file(path: Any, where: str | None = None) -> ImageHeader:
    """:func:`check_image_file` (the pipeline decodes with :func:`decode_file`, as every reader does)."""
    return check_image_file(path, where)


# --- the decoder ---------------------------------------------------------------------------------

@otherwise("read_image")
def decode_file(path: Any, channels: int = 3, size: tuple[int | None, int | None] | None = None, *,
                crop: float | None = None, where: str | None = None) -> np.ndarray:
    """One image file as a viewer shows it: a uint8 array ``(height, width, channels)``.

    The header is checked first (:func:`check_image_file`). Then: the first frame, decoded; the EXIF
    orientation applied; 16-bit values divided by 257; transparency composited onto
    :data:`BACKGROUND` (white); grayscale (``channels=1``) as the ITU-R 601 luma of that RGB image.
    ``crop`` (a fraction of the shorter side) keeps a central square; ``size`` ``(height, width)``
    resizes with :data:`RESAMPLE` (bicubic; ``None`` or a ``None`` side: as stored, after ``crop``).
    A file that does not decode is an :class:`ImageFileError` naming the public function called and ``where``.

    Example:
        >>> photos = example_image_folder("decoded_photos", classes=["Bag", "Dress"], n=1)
        >>> x = decode_file(photos + "/bag/img_001.png", channels=3, size=(32, 24))
        >>> x.shape, x.dtype.name
        ((32, 24, 3), 'uint8')
    """
    if channels not in (1, 3):
        raise ValueError(f"decode_file(): `channels` must be 1 or 3, got {channels!r}.")
    with _checked_open(path, where) as img:
        try:
            if img.format in ("JPEG", "MPO"):
                _draft(img, size, crop, _orientation(img))
            if img.format == "TIFF":  # Pillow turns a TIFF itself as it loads (and drops its tag), warning on bad tags
                with _quiet():
                    img.load()
            img.load()  # the first frame
            orientation = _orientation(img)  # after loading: a PNG's eXIf chunk may follow its pixels
        except _PILLOW_ERRORS as e:
            raise ImageFileError(f"{caller()}(): {_where(path, where)} is not a readable image "
                                 f"({e.__class__.__name__}: {e}).", "unreadable") from None
        img = _flattened(_upright(img, orientation))
        img = img if img.mode == ("L" if channels == 1 else "RGB") else img.convert("L" if channels == 1 else "RGB")
        arr = np.asarray(_resized(img, size, crop))
    return arr[..., None] if arr.ndim == 2 else arr


def _orientation(img: Any) -> int:
    """The EXIF orientation (tag 274; 1: as stored) of an opened image: from its EXIF block (JPEG,
    PNG, WebP), its own TIFF tag, or else its XMP ``tiff:Orientation``; 1 when it is damaged."""
    import re

    from PIL import Image

    data, xmp = img.info.get("exif"), img.info.get("XML:com.adobe.xmp") or img.info.get("xmp")
    if not data and not xmp and not hasattr(img, "tag_v2"):
        return 1
    try:
        with _quiet():  # a damaged EXIF block warns
            if not data and hasattr(img, "tag_v2"):
                value = img.tag_v2.get(274)
            else:
                exif = Image.Exif()
                if data:
                    exif.load(data)
                value = exif.get(274)
            if value is None and xmp:
                found = re.search(r'tiff:Orientation(="|>)([0-9])', xmp if isinstance(xmp, str) else xmp.decode("latin-1"))
                value = int(found[2]) if found else 1
        value = int(value or 1)
    except (TypeError, *_PILLOW_ERRORS):
        return 1
    return value if value in range(1, 9) else 1


def _upright(img: Any, orientation: int) -> Any:
    """The decoded image turned the way a viewer shows it (the EXIF orientation; a new image if turned)."""
    from PIL import Image

    method = _TRANSPOSE.get(orientation)
    return img.transpose(getattr(Image.Transpose, method)) if method else img


def _draft(img: Any, size: Any, crop: float | None, orientation: int) -> None:
    """Let libjpeg decode a JPEG at 1/2, 1/4 or 1/8 scale when that still leaves twice ``size``."""
    if not JPEG_DRAFT or not size or None in size:
        return
    h, w = size
    if orientation in (5, 6, 7, 8):  # stored sideways: the stored width becomes the height
        h, w = w, h
    width, height = img.size
    side = crop * min(width, height) if crop is not None else None
    need = (math.ceil(2 * w * width / (side or width)), math.ceil(2 * h * height / (side or height)))
    if need[0] * 2 <= width and need[1] * 2 <= height:
        img.draft(None, need)


def _flattened(img: Any) -> Any:
    """An 8-bit ``RGB`` or ``L`` image: 16 bits scaled, palettes and CMYK converted, alpha composited."""
    from PIL import Image

    mode = img.mode
    if mode.startswith("I"):  # 16-bit (or 32-bit integer) grey: 0-65535 to 0-255
        wide = np.asarray(img).astype(np.int64)
        grey = Image.fromarray(np.rint(np.clip(wide, 0, 65535) / 257.0).astype(np.uint8), "L")
        trns = img.info.get("transparency")
        if isinstance(trns, int):
            grey.putalpha(Image.fromarray(np.where(wide == trns, 0, 255).astype(np.uint8), "L"))
            return _composited(grey.convert("RGBA"))
        return grey
    # what Pillow >= 10.1 calls has_transparency_data (cnnkit supports Pillow 10.0)
    see_through = "A" in mode or "a" in mode or img.info.get("transparency") is not None
    if mode in ("RGB", "L") and not see_through:
        return img
    if mode in ("1", "CMYK", "YCbCr", "RGBX") or (mode == "P" and not see_through):
        return img.convert("RGB" if mode != "1" else "L")
    return _composited(img.convert("RGBA"))  # RGBA, LA, PA, P with transparency, premultiplied modes


def _composited(rgba: Any) -> Any:
    """``rgba`` composited onto :data:`BACKGROUND`: ``(c a + b (255 - a)) / 255``, rounded."""
    from PIL import Image

    x = np.asarray(rgba).astype(np.uint32)
    a, bg = x[..., 3:], np.asarray(BACKGROUND, dtype=np.uint32)
    return Image.fromarray(((x[..., :3] * a + bg * (255 - a) + 127) // 255).astype(np.uint8), "RGB")


def _resized(img: Any, size: Any, crop: float | None) -> Any:
    """The central ``crop`` square (if any), resized to ``size`` ``(height, width)`` with :data:`RESAMPLE`."""
    from PIL import Image

    if crop is None and not (size and size[0] and size[1]):
        return img
    w, h = img.size
    side = crop * min(w, h) if crop is not None else None
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2) if side else (0, 0, w, h)
    out = (size[1], size[0]) if size and size[0] and size[1] else (round(box[2] - box[0]), round(box[3] - box[1]))
    if out == img.size and box == (0, 0, w, h):
        return img
    return img.resize(out, Image.Resampling.BICUBIC, box=box)


# --- the reader ----------------------------------------------------------------------------------

def read_image(image: Any, *, size: tuple[int | None, int | None] | int | None = None, channels: int = 3,
               scale: int = 255, crop: float | None = None, decoder: str = "pillow",
               where: str | None = None) -> np.ndarray:
    """One image, a file path or an array with values 0-255, as a float32 ``(height, width,
    channels)`` array.

    Args:
        image: a path (PNG, JPEG, BMP, GIF, WebP or TIFF; read by :func:`decode_file`: checked, then
            decoded as a viewer shows it) or an image array ``(height, width, channels)`` or ``(1,
            height, width, channels)`` with values 0-255.
        size: ``(height, width)`` to resize to (one number: square); ``None`` or a ``None`` side: as read.
        channels: 1 (grayscale: the luma of colour images) or 3 (RGB).
        scale: 255 (values 0-255) or 1 (values in [0, 1]).
        crop: ``None`` (the whole image) or the fraction of the shorter side kept by a central
            square crop before resizing (0.875: ImageNet's evaluation crop).
        decoder: ``"pillow"``, the one decoder (kept for callers that name it).
        where: the argument errors name (``read_image(): where ...``; the function is the public one
            called, ``_context.caller()``).

    Example:
        >>> photos = example_image_folder("reader_photos", classes=["Bag", "Dress"], n=1)
        >>> read_image(photos + "/bag/img_001.png", size=32, channels=1, scale=1).shape
        (32, 32, 1)
    """
    if decoder not in DECODERS or scale not in SCALES or channels not in (1, 3):
        raise ValueError(f"read_image(): decoder {decoder!r}, scale {scale!r} or channels {channels!r} "
                         f"is not one of {DECODERS}, {SCALES}, (1, 3).")
    if isinstance(size, int):
        size = (size, size)
    if isinstance(image, (str, os.PathLike)):
        x = decode_file(image, channels, size, crop=crop, where=where)
    else:
        x = np.asarray(_resized(_array_image(image, channels), size, crop))
        x = x[..., None] if x.ndim == 2 else x
    x = x.astype(np.float32)
    return x / np.float32(255.0) if scale == 1 else x


def _array_image(image: Any, channels: int) -> Any:
    """A 0-255 image array as a Pillow image of ``channels``."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[-1] != channels or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{caller()}(): `image` must be a file path, a list of paths, or {'RGB ' * (channels == 3)}image arrays "
                         f"(height, width, {channels}) or (n, height, width, {channels}) with values 0-255; "
                         f"got {type(image).__name__} of shape {getattr(arr, 'shape', None)}.")
    if arr.dtype != np.uint8 and arr.size and 0 <= arr.min() and arr.max() <= 1.0 and arr.max() > 0:
        raise ValueError(f"{caller()}(): `image` has values in [0, 1]; pass 0-255 values (multiply by 255).")
    arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return Image.fromarray(arr[..., 0] if channels == 1 else arr)


def decode_workers() -> int:
    """Threads that decode files at once (Pillow releases the GIL while it decodes and resizes)."""
    return max(1, min(8, os.cpu_count() or 1))


def read_images(files: Any, image_size: tuple[int, int], channels: int, arg: str) -> np.ndarray:
    """Image files as ``image_folder()``'s pipeline reads them (:func:`decode_file`): one float32 array
    ``(n, height, width, channels)`` in [0, 1], decoded in a few threads; the first file (in order)
    that fails is the error. Errors name the public function called and ``arg`` (sizes checked by the caller)."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if not isinstance(files, (list, tuple)) or not files:
        raise TypeError(f"{caller()}(): `{arg}` must be one image path or a non-empty list of paths, got {files!r}.")
    for f in files:
        if not isinstance(f, (str, os.PathLike)):
            raise TypeError(f"{caller()}(): `{arg}` entry {f!r} is not a file path (a string).")

    @carried  # in the pool's threads: their messages name the same function
    def one(f: Any) -> np.ndarray:
        return decode_file(f, channels, tuple(image_size), where=f"`{arg}` entry {str(f)!r}")

    if len(files) == 1 or decode_workers() == 1:
        out = [one(f) for f in files]
    else:
        with ThreadPoolExecutor(max_workers=decode_workers(), thread_name_prefix="cnnkit-decode") as pool:
            out = list(pool.map(one, files))
    return np.stack(out).astype(np.float32) / np.float32(255.0)
