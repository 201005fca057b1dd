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
# ``import cnnkit`` and ``cnnkit --help`` do not load TensorFlow. A new public function goes here
# and into __all__ (tests/python/test_packaging.py checks that both agree).
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
    "evaluate": ("evaluate_classifier", "plot_confusion_matrix", "predict_classes"),
    "job": ("train_classifier",),
    "saving": ("load_model", "save_model"),
    "show": ("show_batch",),
    # what the model sees (Grad-CAM, top losses), the learning-rate finder
    "grad_cam": ("grad_cam", "plot_grad_cam"),
    "lr_find": ("lr_find", "plot_lr_find"),
    "top_losses": ("most_confused", "plot_top_losses", "top_losses"),
    "limits": ("limits",),  # limits on untrusted input and unbounded requests
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
        return _importlib.import_module(f".{name}", __name__)
    if module is None:
        raise AttributeError(f"module 'cnnkit' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


class _Package(_types.ModuleType):
    """Keeps ``cnnkit.limits`` and ``cnnkit.feature_maps`` the functions, as the eager imports did:
    importing the submodule of the same name later must not replace them with the module."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name in _WHERE and isinstance(value, _types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
# After the line above: registering imports submodules (cnnkit.augment imports cnnkit.limits, which must
# stay the function). cnnkit's Keras layers are registered as soon as Keras is imported: saved models load.
_keras_classes.install()


__version__ = "0.1.0"

__all__ = [
    "mlp_classifier",
    "conv_block",
    "classifier_head",
    "output_layer",
    "simple_cnn",
    "lenet5",
    "summary_text",
    "compile_classifier",
    "model_mermaid",
    "feature_maps",
    "plot_feature_maps",
    # pretrained backbones and transfer learning
    "backbone",
    "list_backbones",
    "register_backbone",
    "prefetch_weights",
    "preprocess_input",
    "freeze",
    "unfreeze",
    "freeze_weights",
    "unfreeze_weights",
    "trainable_layers",
    "transfer_model",
    "domain_adapted_model",
    "fine_tune",
    # augmentation, data, training, evaluation, saving, the main job
    "augmentation",
    "rand_augment",
    "augment_dataset",
    "augmented_dataset",
    "with_augmentation",
    "plot_augmentation",
    "load_fashion_mnist",
    "image_folder",
    "image_table",
    "load_images",
    "fit_classifier",
    "distribution_strategy",
    "plot_history",
    "evaluate_classifier",
    "plot_confusion_matrix",
    "predict_classes",
    "save_model",
    "load_model",
    "fashion_cnn",
    "train_classifier",
    # EfficientNet-Lite0; EfficientNetLite0 (keras.applications spelling) is importable
    # but kept out of __all__: its R name is efficientnet_lite0()
    "efficientnet_lite0",
    "efficientnet_lite0_preprocess",
    "efficientnet_lite0_weights",
    "decode_predictions",
    "classify_image",
    # limits on untrusted input
    "limits",
    # results users see (show_batch; plots return a Figure when file is None)
    "show_batch",
    "example_image_folder",
    # what the model sees, the learning-rate finder
    "grad_cam",
    "plot_grad_cam",
    "top_losses",
    "plot_top_losses",
    "most_confused",
    "lr_find",
    "plot_lr_find",
]
