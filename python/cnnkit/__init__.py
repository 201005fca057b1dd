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

from ._quiet import import_backend_quietly as _import_backend_quietly

_import_backend_quietly()

from .blocks import classifier_head, conv_block, output_layer  # noqa: E402
from .cnn import simple_cnn  # noqa: E402
from .diagram import model_mermaid  # noqa: E402
from .feature_maps import feature_maps, plot_feature_maps  # noqa: E402
from .lenet import lenet5  # noqa: E402
from .mlp import mlp_classifier  # noqa: E402
from .summary import summary_text  # noqa: E402
from .train import compile_classifier  # noqa: E402

# issue 3: backbones.py, freeze.py, transfer.py (pretrained backbones and transfer learning)
from .backbones import backbone, list_backbones, prefetch_weights, preprocess_input, register_backbone  # noqa: E402
from .freeze import freeze, trainable_layers, unfreeze  # noqa: E402
from .transfer import domain_adapted_model, fine_tune, transfer_model  # noqa: E402
# --- issue 4: augmentation, data, training, evaluation, saving, the main job ---
from .augment import (  # noqa: E402
    augment_dataset, augmentation, augmented_dataset, plot_augmentation, rand_augment, with_augmentation,
)
from .data import image_folder, load_fashion_mnist, load_images  # noqa: E402
from .distribute import distribution_strategy  # noqa: E402
from .evaluate import evaluate_classifier, plot_confusion_matrix, predict_classes  # noqa: E402
from .job import fashion_cnn, train_classifier  # noqa: E402
from .saving import load_model, save_model  # noqa: E402
from .limits import limits  # noqa: E402  (issue 12: limits on untrusted input and unbounded requests)
# issue 15: what the model sees (Grad-CAM, top losses), the learning-rate finder
from .grad_cam import grad_cam, plot_grad_cam  # noqa: E402
from .lr_find import lr_find, plot_lr_find  # noqa: E402
from .top_losses import most_confused, plot_top_losses, top_losses  # noqa: E402
from .train import fit_classifier, plot_history  # noqa: E402
# efficientnet_lite.py (issue 7): EfficientNet-Lite0 with ImageNet weights installed offline
from .efficientnet_lite import (  # noqa: E402
    EfficientNetLite0,
    classify_image,
    decode_predictions,
    efficientnet_lite0,
    efficientnet_lite0_preprocess,
    efficientnet_lite0_weights,
)

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
    # issue 3: backbones.py, freeze.py, transfer.py
    "backbone",
    "list_backbones",
    "register_backbone",
    "prefetch_weights",
    "preprocess_input",
    "freeze",
    "unfreeze",
    "trainable_layers",
    "transfer_model",
    "domain_adapted_model",
    "fine_tune",
    # issue 4: augmentation, data, training, evaluation, saving, the main job
    "augmentation",
    "rand_augment",
    "augment_dataset",
    "augmented_dataset",
    "with_augmentation",
    "plot_augmentation",
    "load_fashion_mnist",
    "image_folder",
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
    # efficientnet_lite.py (issue 7); EfficientNetLite0 (keras.applications spelling) is importable
    # but kept out of __all__: its R name is efficientnet_lite0()
    "efficientnet_lite0",
    "efficientnet_lite0_preprocess",
    "efficientnet_lite0_weights",
    "decode_predictions",
    "classify_image",
    # issue 12
    "limits",
    # issue 15
    "grad_cam",
    "plot_grad_cam",
    "top_losses",
    "plot_top_losses",
    "most_confused",
    "lr_find",
    "plot_lr_find",
]
