"""Test-time augmentation (TTA): predict each image from several views of it and average.

A classifier that has learnt that a mirrored shirt is a shirt gives a slightly different answer for the
image and for its mirror; the average of the two is more often right (fastai's ``Learner.tta``, the
CIFAR-10 speed-run recipes' "test-time flips"). ``predict_classes(tta=)``, ``evaluate_classifier(tta=)``
and ``train_classifier(tta=)`` take:

- ``False`` / ``1``: the image only (the default);
- ``True`` / ``2``: the image and its left-right mirror;
- ``3`` to :data:`MAX_VIEWS`: also the image shifted by a few pixels (1/14 of its side, 2 px at 28 px:
  the padding crops of training-time augmentation), towards each corner, then those shifts mirrored.

The views are made inside the one traced prediction function (``cnnkit._execution.predictor``), so
``n`` views cost about ``n`` times the prediction time and no extra copies of the data. The model's
outputs (probabilities; logits for a model without a final activation) are averaged.

**TTA helps only a model that has learnt these views**: one trained with flip (and shift or crop)
augmentation (:func:`augmentation`, ``with_augmentation()``), as the speed-run recipes train. For a model
trained without it, a mirror is an image it has never seen: the main job's ``fashion_cnn`` (no
augmentation; every shoe in Fashion-MNIST points the same way) lost 3.5 points of validation accuracy
with ``tta=2`` (92.4 % -> 88.8 %, median of 3 seeds, bench/results/main_job_recipe.md). Mirrors do not
suit digits or text, whose mirror is another symbol, at all. Measure on a validation split before
using it (every setting from 2 views on includes the mirror).
"""

from __future__ import annotations

import numbers
from typing import Any

from ._context import caller

MAX_VIEWS = 10
SHIFTS = ((1, 1), (-1, -1), (1, -1), (-1, 1))  # towards each corner, in units of the shift


def check_tta(value: Any, arg: str = "tta") -> int:
    """``tta`` as a number of views (1: none), else a ``ValueError`` naming ``arg``."""
    if isinstance(value, bool):
        return 2 if value else 1
    if isinstance(value, numbers.Real) and float(value).is_integer() and 1 <= float(value) <= MAX_VIEWS:
        return int(float(value))
    raise ValueError(f"{caller()}(): `tta` must be True (the image and its mirror), False (none) or a "
                     f"number of views from 1 to {MAX_VIEWS} (3 and more add shifted views), got {value!r}.")


def views(x: Any, n: int) -> list[Any]:
    """The first ``n`` views of a batch of images ``(b, h, w, c)`` (TensorFlow tensors): the images,
    their mirror, then shifts by ``max(1, round(min(h, w) / 14))`` pixels (edges reflected) towards
    each corner, then those shifts mirrored."""
    import tensorflow as tf

    out = [x]
    if n >= 2:
        out.append(tf.reverse(x, axis=[2]))
    if n <= 2:
        return out[:n]
    h, w = int(x.shape[1]), int(x.shape[2])
    d = max(1, round(min(h, w) / 14))
    padded = tf.pad(x, [[0, 0], [d, d], [d, d], [0, 0]], mode="REFLECT" if d < min(h, w) else "SYMMETRIC")
    shifted = [padded[:, d + dy * d:d + dy * d + h, d + dx * d:d + dx * d + w, :] for dy, dx in SHIFTS]
    out += shifted + [tf.reverse(s, axis=[2]) for s in shifted]
    return out[:n]
