"""cnnkit: image classification with convolutional neural networks in Keras 3.

The workshop "Image classification: Convolutional neural networks" (RSFAS, ANU) as a package:
the MLP baseline, ``conv_block``, the small CNN and LeNet-5, for Python users directly and for
R users through the R package of the same name.

Example:
    >>> import cnnkit
    >>> model = cnnkit.simple_cnn()
    >>> model.count_params()
    28097
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from pathlib import Path as _Path
from typing import Any as _Any

from . import _keras_classes
from ._quiet import install_import_hook as _install_import_hook

_install_import_hook()  # TensorFlow's start-up lines are filtered whenever it is first imported

# Public names -> the module that defines them, imported on first use (PEP 562), so that
# ``import cnnkit`` and ``cnnkit --help`` do not load TensorFlow. A new public function goes here;
# __all__ is derived from this table (tests/python/test_packaging.py checks that every name resolves).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "blocks": ("classifier_head", "conv_block", "output_layer"),
    "cnn": ("fashion_cnn", "simple_cnn"),
    "diagram": ("model_mermaid",),
    "feature_maps": ("feature_maps", "plot_feature_maps"),
    "lenet": ("lenet5",),
    "mlp": ("mlp_classifier",),
    "summary": ("summary_text",),
    "train": ("compile_classifier", "fit_classifier", "plot_history"),
    # pretrained backbones and transfer learning
    "backbones": ("backbone", "list_backbones", "prefetch_weights", "preprocess_input", "register_backbone"),
    "freeze": ("freeze", "freeze_weights", "trainable_layers", "unfreeze", "unfreeze_weights"),
    "transfer": ("domain_adapted_model", "fine_tune", "transfer_model"),
    # augmentation, data, training, evaluation, saving, the main job
    "augment": ("augment_dataset", "augmentation", "augmented_dataset", "plot_augmentation", "rand_augment",
                "with_augmentation"),
    "data": ("example_image_folder", "image_folder", "image_table", "load_fashion_mnist", "load_images"),
    "distribute": ("distribution_strategy",),
    "evaluate": ("evaluate_classifier", "plot_confusion_matrix", "plot_roc_curves", "predict_classes"),
    "job": ("train_classifier",),
    "runs": ("compare_runs", "plot_runs", "run_card"),
    "saving": ("load_model", "save_model"),
    "export": ("export_model",),  # SavedModel, ONNX, LiteRT for deployment
    "show": ("show_batch",),
    # what the model sees (Grad-CAM, top losses), the learning-rate finder
    "grad_cam": ("grad_cam", "plot_grad_cam"),
    "lr_find": ("lr_find", "plot_lr_find"),
    "top_losses": ("most_confused", "plot_top_losses", "top_losses"),
    "limits": ("limits",),  # limits on untrusted input and unbounded requests
    "config": ("config",),  # the set-up doctor (cnnkit doctor; R: cnnkit_config())
    # EfficientNet-Lite0 with ImageNet weights installed offline; decoding ImageNet predictions
    "efficientnet_lite": ("EfficientNetLite0", "classify_image", "efficientnet_lite0",
                          "efficientnet_lite0_preprocess", "efficientnet_lite0_weights"),
    "imagenet": ("decode_predictions",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> _Any:
    """Import a public function's module (or a submodule, ``cnnkit.saving``) on first use."""
    module = _WHERE.get(name)
    if module is None and not name.startswith("__") and (_Path(__file__).parent / f"{name}.py").is_file():
        return _import(name, name)
    if module is None:
        raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")
    value = getattr(_import(module, name), name)
    globals()[name] = value
    return value


def _import(module: str, name: str) -> _types.ModuleType:
    """Import ``cnnkit.<module>``; a package it needs that is missing (Keras, TensorFlow) is a
    ModuleNotFoundError that says so and how to install it (``cnnkit.config()`` shows the whole set-up)."""
    try:
        return _importlib.import_module(f".{module}", __name__)
    except ModuleNotFoundError as e:
        if not e.name or e.name.split(".")[0] == __name__:
            raise
        top = e.name.split(".")[0]
        raise ModuleNotFoundError(
            f"cnnkit.{name} needs the Python package {top!r}, which this Python ({_sys.executable}) does not have: "
            f"pip install cnnkit (it brings TensorFlow, Keras and NumPy), or pip install {top}. "
            "cnnkit.config() shows the whole set-up.", name=e.name) from e


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


class _Package(_types.ModuleType):
    """Keeps ``cnnkit.limits`` and ``cnnkit.feature_maps`` the functions, as the eager imports did:
    importing the submodule of the same name later must not replace them with the module."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name in _WHERE and isinstance(value, _types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)

    def __getitem__(self, name: str) -> _Any:
        """``cnnkit["lenet5"]`` is ``cnnkit.lenet5``. For bridges: reticulate's ``[[`` asks
        ``PyObject_HasAttr`` first, which swallows every error (the ModuleNotFoundError of a missing
        Keras too), then subscripts; answered as attribute access, that raises the real error instead
        of "'_Package' object is not subscriptable"."""
        if not isinstance(name, str):
            raise TypeError(f"cnnkit[...] takes a name (a string), got {type(name).__name__}")
        return getattr(self, name)


_sys.modules[__name__].__class__ = _Package
# After the line above: registering imports submodules (cnnkit.augment imports cnnkit.limits, which must
# stay the function). cnnkit's Keras layers are registered as soon as Keras is imported: saved models load.
_keras_classes.install()


__version__ = "0.1.0"

# Every public name, derived from the table above, but for two that are importable and kept out because
# R names them otherwise: EfficientNetLite0 (the keras.applications spelling; R: efficientnet_lite0())
# and config (R: cnnkit_config()).
_NOT_IN_ALL = frozenset({"EfficientNetLite0", "config"})
__all__ = [name for name in _WHERE if name not in _NOT_IN_ALL]
