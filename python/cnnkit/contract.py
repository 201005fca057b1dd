"""The input contract: the value range, channels and image size a model was trained on, kept with it.

A model trained on images with values 0-255 (``keras.utils.image_dataset_from_directory`` gives
those) scores well on such images and badly, without a word, on images in [0, 1] (what cnnkit's
readers give), and the reverse. So cnnkit records what a model takes:

- :func:`fit_classifier` and :func:`fine_tune` look at the training data (the arrays, or the first
  batch of a dataset) and record its value range -- ``(0, 1)`` or ``(0, 255)`` -- with the model's
  channels and image size; a transfer model records the ``value_range`` its preprocessing layer was
  built for as soon as it is built (:func:`transfer_model`), and training data that clearly does not
  fit it is an error that says what to do.
- :func:`save_model` stores the contract beside the class names (``cnnkit.json`` in the ``.keras``
  file); :func:`load_model` attaches it again, in any process.
- Image files (``predict_classes(files)``, ``cnnkit predict``) are read in [0, 1] and scaled to the
  model's range (:func:`files_to_model_range`); arrays and datasets given to
  ``predict_classes()``, ``evaluate_classifier()``, ``top_losses()`` or ``grad_cam()`` whose values
  clearly do not fit get a warning that says what the model expects and how to convert.

"Clearly": values above 2 for a model of [0, 1]; a maximum of at most 1 for a model of 0-255 (a
batch of 0-255 photos with no value above 1 is not a thing). Data in other ranges (standardised, say)
records no range and is never checked. :func:`input_contract` reads the contract of a model.

Example:
    >>> m = simple_cnn((8, 8, 1), blocks=1, filters=2, units=4, num_classes=2)
    >>> record(m, np.full((2, 8, 8, 1), 200.0), "doc")
    >>> input_contract(m)
    {'value_range': [0.0, 255.0], 'channels': 1, 'image_size': [8, 8]}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._context import caller, warn
from ._lang import code

ATTRIBUTE = "_cnnkit_input"
RANGES = ((0.0, 1.0), (0.0, 255.0))
SAMPLE = 1 << 20  # values looked at in a large array (a strided sample; the extremes of images are not rare)


def input_contract(model: Any) -> dict[str, Any] | None:
    """The recorded contract of ``model`` -- ``{"value_range": [low, high], "channels": c,
    "image_size": [h, w]}`` -- or ``None`` if nothing was recorded (a model built outside cnnkit and
    not yet trained by it). A transfer model's preprocessing layer declares its range itself, so a
    file saved with Keras' own ``model.save()`` keeps it too."""
    contract = getattr(model, ATTRIBUTE, None)
    if contract:
        return dict(contract)
    declared = _layer_range(model)
    return {"value_range": declared, **_shape(model)} if declared else None


def _layer_range(model: Any) -> list[float] | None:
    """The ``value_range`` of a preprocessing layer at the model's input (transfer_model() puts one there)."""
    for layer in getattr(model, "layers", [])[:3]:
        value_range = getattr(layer, "value_range", None)
        if type(layer).__name__ == "BackbonePreprocessing" and value_range:
            return [float(v) for v in value_range]
    return None


def attach(model: Any, contract: dict[str, Any] | None) -> None:
    """Attach ``contract`` (as :func:`input_contract` returns it; ``None`` removes it) to ``model``."""
    if contract:
        contract = {"value_range": [float(v) for v in contract["value_range"]],
                    "channels": contract.get("channels"), "image_size": contract.get("image_size")}
    object.__setattr__(model, ATTRIBUTE, contract or None)  # outside Keras' attribute tracking


def _shape(model: Any) -> dict[str, Any]:
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and len(shape) == 4:
        return {"channels": shape[-1], "image_size": [shape[1], shape[2]]}
    return {"channels": None, "image_size": None}


def file_value_range(model: Any) -> tuple[float, float]:
    """The value range image files are scaled to for ``model``: its recorded range, else ``(0, 1)``."""
    contract = input_contract(model) or {}
    low, high = contract.get("value_range") or (0.0, 1.0)
    return float(low), float(high)


def files_to_model_range(model: Any, x: np.ndarray) -> np.ndarray:
    """Images read from files (float32 in [0, 1]) scaled to the range ``model`` was trained on."""
    low, high = file_value_range(model)
    if (low, high) == (0.0, 1.0):
        return x
    return (x * np.float32(high - low) + np.float32(low)).astype("float32")


def dataset_to_model_range(model: Any, ds: Any) -> Any:
    """A dataset of cnnkit's readers (images in [0, 1]: ``image_folder()``, ``image_table()``) scaled to
    the range ``model`` was trained on; the dataset itself where that is [0, 1]."""
    low, high = file_value_range(model)
    if (low, high) == (0.0, 1.0):
        return ds
    scaled = ds.map(lambda x, *rest: (x * (high - low) + low, *rest))
    for name in ("class_names", "files", "labels", "fingerprint", "fixed_images"):
        if hasattr(ds, name):
            setattr(scaled, name, getattr(ds, name))
    return scaled


def observed(x: Any) -> tuple[float, float] | None:
    """``(min, max)`` of an image array (a strided sample of a large one); ``None`` if empty."""
    a = np.asarray(x)
    if a.size == 0 or not np.issubdtype(a.dtype, np.number):
        return None
    flat = a.reshape(-1)
    if flat.size > SAMPLE:
        flat = flat[:: flat.size // SAMPLE + 1]
    with np.errstate(invalid="ignore"):
        return float(np.nanmin(flat)), float(np.nanmax(flat))


def range_of(extremes: tuple[float, float] | None) -> tuple[float, float] | None:
    """The standard range -- ``(0, 1)`` or ``(0, 255)`` -- that values with these extremes are in, if any."""
    if extremes is None:
        return None
    low, high = extremes
    if low < -1e-3:
        return None
    if high <= 1.0 + 1e-3:
        return RANGES[0]
    if high <= 255.0 + 1e-3:
        return RANGES[1]
    return None


def data_extremes(data: Any) -> tuple[float, float] | None:
    """The extremes of the images of ``(x, y)`` arrays, an image array, or a dataset's first batch."""
    from ._data_checks import is_dataset

    if is_dataset(data):
        try:
            for batch in data.take(1):
                return observed(batch[0] if isinstance(batch, (tuple, list)) else batch)
        except Exception:  # noqa: BLE001 - a dataset that fails is reported where it is read for real
            return None
        return None
    if isinstance(data, dict) and "x" in data:
        data = data["x"]
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        data = data[0]
    try:
        return observed(data)
    except (TypeError, ValueError):
        return None


def mismatch(expected: tuple[float, float], extremes: tuple[float, float] | None) -> str | None:
    """What is wrong when images with ``extremes`` are given to a model of range ``expected``, or ``None``."""
    if extremes is None:
        return None
    low, high = expected
    if (low, high) == RANGES[0] and extremes[1] > 2.0:
        return (f"has values up to {extremes[1]:g}, but the model takes images with values in [0, 1]; divide them "
                "by 255 (x / 255)")
    if (low, high) == RANGES[1] and 0 < extremes[1] <= 1.0 and extremes[0] >= 0:
        return ("has values in [0, 1], but the model was trained on images with values 0-255; multiply them by 255 "
                "(x * 255)")
    return None


def record(model: Any, data: Any, arg: str = "data") -> None:
    """At training: check ``data`` against the model's contract (an error if it clearly does not fit), or
    record the range it is in. Data in no standard range leaves the model without a recorded range."""
    extremes = data_extremes(data)
    contract = input_contract(model)
    if contract and contract.get("value_range"):
        problem = mismatch(tuple(contract["value_range"]), extremes)
        if problem:
            rebuild = code("value_range=(0, 255)", "value_range = c(0, 255)")
            raise ValueError(f"{caller()}(): `{arg}` {problem}. (A transfer model takes the range its preprocessing was "
                             f"built for: transfer_model(..., {rebuild}) for 0-255 images.)")
        attach(model, {**contract, **_shape(model)})
        return
    found = range_of(extremes)
    if found is not None:
        attach(model, {"value_range": found, **_shape(model)})


def check(model: Any, data: Any, arg: str = "x") -> None:
    """At prediction: warn when ``data`` clearly does not fit the range ``model`` was trained on."""
    contract = input_contract(model)
    if not contract or not contract.get("value_range"):
        return
    problem = mismatch(tuple(contract["value_range"]), data_extremes(data))
    if problem:
        warn(f"{caller()}(): `{arg}` {problem}. Predictions on images in another range are not meaningful.",
                      UserWarning)
