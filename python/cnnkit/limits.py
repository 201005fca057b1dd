"""Limits on the work one input may ask for: how big an image file, a model file, an augmented copy
of a data set, a number of epochs may be.

Files from elsewhere cannot take unbounded memory or time: an image whose header declares more
pixels than ``image_pixels`` is refused (or skipped by ``image_folder()``) before it is decoded, and
a ``.keras`` or weights file that would decompress past ``model_bytes`` is refused before Keras
extracts it. Requests for unbounded work (``epochs = 1e9``, ``copies = 1e6``) are clear errors.

Each limit has a documented default and is raised (or lowered) with an environment variable, which
works the same from Python, R (``Sys.setenv()``) and the command line (``inf`` lifts a limit):

=================  ==============================  =========================================================
name               environment variable            default
=================  ==============================  =========================================================
``image_pixels``   ``CNNKIT_MAX_IMAGE_PIXELS``     50,000,000 pixels (width x height) per image file
``image_side``     ``CNNKIT_MAX_IMAGE_SIDE``       4,096: height or width to resize images to
``model_bytes``    ``CNNKIT_MAX_MODEL_BYTES``      4 GiB uncompressed per model or weights file
``augment_bytes``  ``CNNKIT_MAX_AUGMENT_BYTES``    4 GiB of images made by ``augment_dataset()``
``epochs``         ``CNNKIT_MAX_EPOCHS``           10,000 epochs per training call
``plot_images``    ``CNNKIT_MAX_PLOT_IMAGES``      32 images per row of ``plot_augmentation()``, per ``show_batch()``
``feature_cache``  ``CNNKIT_MAX_FEATURE_CACHE``    2 GiB of a frozen backbone's features kept by ``fit_classifier()``
``image_cache``    ``CNNKIT_MAX_IMAGE_CACHE``      2 GiB of decoded images an ``image_folder()`` dataset keeps (uint8)
=================  ==============================  =========================================================

Why these numbers: 50 megapixels is more than the photos of nearly every camera (8,660 x 5,773),
about 0.6 GB once decoded to float32; Pillow's own guard is 89 megapixels. 4 GiB is more than twice
the largest model cnnkit builds (VGG19 with its classifier, 575 MB of weights, 1.7 GB with Adam's
state saved beside them). 4,096 pixels a side is 16 megapixels per image, 6 GB for a batch of 32.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from ._context import caller, public


class Limit(NamedTuple):
    default: int
    env: str
    what: str


LIMITS: dict[str, Limit] = {
    "image_pixels": Limit(50_000_000, "CNNKIT_MAX_IMAGE_PIXELS", "pixels (width x height) of one image file"),
    "image_side": Limit(4096, "CNNKIT_MAX_IMAGE_SIDE", "height or width that images are resized to"),
    "model_bytes": Limit(4 << 30, "CNNKIT_MAX_MODEL_BYTES", "uncompressed bytes of one model or weights file"),
    "augment_bytes": Limit(4 << 30, "CNNKIT_MAX_AUGMENT_BYTES", "bytes of images made by augment_dataset()"),
    "epochs": Limit(10_000, "CNNKIT_MAX_EPOCHS", "epochs of one training call"),
    "plot_images": Limit(32, "CNNKIT_MAX_PLOT_IMAGES", "images per row of plot_augmentation(), per show_batch()"),
    "feature_cache": Limit(2 << 30, "CNNKIT_MAX_FEATURE_CACHE", "bytes of a frozen backbone's features kept in memory"),
    "image_cache": Limit(2 << 30, "CNNKIT_MAX_IMAGE_CACHE",
                         "bytes of decoded images (uint8) an image_folder() dataset keeps in memory"),
}


def _getenv(name: str) -> str | None:
    """The process environment as it is now. ``os.environ`` is a copy taken when Python started, so
    a variable set later by R (``Sys.setenv()``) is only seen through the C library's ``getenv``."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.getenv.restype = ctypes.c_char_p
        value = libc.getenv(name.encode())
        return None if value is None else value.decode(errors="replace")
    except Exception:  # noqa: BLE001 - no C library to ask (e.g. Windows): Python's copy
        return os.environ.get(name)


def limit(name: str, *, named: bool = True) -> int:
    """The current value of the limit ``name``: its environment variable if set, else the default.
    A value that is not a positive number is an error (naming the public function that asked, unless
    ``named`` is false).

    Example:
        >>> limit("epochs")
        10000
    """
    spec = LIMITS[name]
    text = (_getenv(spec.env) or "").strip().replace("_", "")
    if not text:
        return spec.default
    try:
        value = int(float(text)) if text.lower() != "inf" else 2 ** 62
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{caller() + '(): ' if named else ''}the environment variable {spec.env} "
                         "must be a positive whole number "
                         f"({spec.what}), got {_getenv(spec.env)!r}. Unset it for the default, {spec.default:,}.")
    return value


def too_many(name: str) -> str:
    """The end of an error message: the limit's value and how to change it."""
    spec = LIMITS[name]
    return f"the limit of {limit(name):,} {spec.what} (set the environment variable {spec.env} to change it)"


@public
def limits() -> dict[str, dict[str, Any]]:
    """The limits on untrusted input and unbounded requests, with their current values.

    Returns:
        A dict ``{name: {"value", "default", "env", "what"}}``; ``value`` is what applies now (the
        environment variable ``env`` if it is set, else ``default``).

    Example:
        >>> limits()["image_pixels"]["value"]
        50000000
    """
    return {name: {"value": limit(name, named=False), "default": s.default, "env": s.env, "what": s.what}
            for name, s in LIMITS.items()}
