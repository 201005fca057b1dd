"""The 1000 ImageNet classes and the decoding of an ImageNet classifier's output (as Keras keeps
``imagenet_utils`` beside its applications): :func:`decode_predictions` for any model with the
1000-class ImageNet head, EfficientNet-Lite0's or a backbone's.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from . import _arg_checks as v
from ._context import caller, public


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """The 1000 ImageNet classes in output order, as ``(wordnet id, name)`` pairs (see data/)."""
    path = Path(__file__).parent / "data" / "imagenet_classes.json"
    return tuple(tuple(c) for c in json.loads(path.read_text(encoding="utf-8"))["classes"])


@public
def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The ``top`` ImageNet classes of each row of ``preds``, best first.

    Args:
        preds: ``(n, 1000)`` class probabilities (or logits) from an ImageNet classifier such as
            ``efficientnet_lite0(weights="imagenet")``.
        top: how many classes per image.

    Returns:
        One list per image of ``(wordnet id, class name, score)`` tuples, as Keras'
        ``decode_predictions`` gives (names with spaces: ``"Egyptian cat"``).

    Example:
        >>> preds = np.zeros((1, 1000)); preds[0, 285] = 1.0   # e.g. model.predict(x)
        >>> decode_predictions(preds, top=1)
        [[('n02124075', 'Egyptian cat', 1.0)]]
    """
    preds = np.asarray(preds)
    if preds.ndim == 1:
        preds = preds[None, :]
    if preds.ndim != 2 or preds.shape[1] != 1000 or not np.issubdtype(preds.dtype, np.number):
        raise ValueError(f"{caller()}(): `preds` must be numbers of shape (n, 1000), one row of ImageNet "
                         f"class scores per image; got shape {preds.shape}.")
    top = v.positive_int(top, "top")
    if top > 1000:
        raise ValueError(f"{caller()}(): `top` must be at most 1000 (the ImageNet classes), got {top}.")
    classes = imagenet_classes()
    best = np.argsort(-preds, axis=1, kind="stable")[:, :top]
    return [[(*classes[j], float(row[j])) for j in idx] for row, idx in zip(preds, best)]


@public(name="decode_predictions")
def decode_records(preds: Any, top: int = 5) -> list[list[dict[str, Any]]]:
    """:func:`decode_predictions` as records: ``class_id`` (0-based ImageNet index), ``wnid``,
    ``class_name``, ``score`` (what R's ``decode_predictions()`` returns as data frames)."""
    index = {wnid: i for i, (wnid, _) in enumerate(imagenet_classes())}
    return [[{"class_id": index[wnid], "wnid": wnid, "class_name": name, "score": score}
             for wnid, name, score in row] for row in decode_predictions(preds, top)]
