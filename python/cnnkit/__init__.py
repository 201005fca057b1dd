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
from .lenet import lenet5  # noqa: E402
from .mlp import mlp_classifier  # noqa: E402
from .summary import summary_text  # noqa: E402
from .train import compile_classifier  # noqa: E402

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
    # efficientnet_lite.py (issue 7); EfficientNetLite0 (keras.applications spelling) is importable
    # but kept out of __all__: its R name is efficientnet_lite0()
    "efficientnet_lite0",
    "efficientnet_lite0_preprocess",
    "efficientnet_lite0_weights",
    "decode_predictions",
    "classify_image",
]
