"""The input contract a model was trained on -- value range, channels, image size -- saved with it.

(Work in progress by the lead: the full module records the contract in ``fit_classifier()`` /
``save_model()`` and checks arrays against it. The two functions below are the interface other
modules call; they already work for models without a recorded contract.)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def file_value_range(model: Any) -> tuple[float, float]:
    """The value range image files should be scaled to for ``model`` (default ``(0, 1)``)."""
    rng = getattr(model, "_cnnkit_input", None) or {}
    low, high = rng.get("value_range", (0.0, 1.0))
    return float(low), float(high)


def files_to_model_range(model: Any, x: np.ndarray) -> np.ndarray:
    """Images read from files (float32 in [0, 1]) scaled to the range ``model`` was trained on."""
    low, high = file_value_range(model)
    if (low, high) == (0.0, 1.0):
        return x
    return (x * np.float32(high - low) + np.float32(low)).astype("float32")
