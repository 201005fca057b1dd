"""A backbone's own input scaling as a layer of the model, so the model takes images as cnnkit gives them.

ImageNet backbones expect their training images' scaling: VGG16 and ResNet50 "caffe" style (BGR
channel order, ImageNet mean subtracted from 0-255 values), MobileNetV2 ``x / 127.5 - 1``, DenseNet
"torch" style, EfficientNet-Lite0 ``(x - 127) / 128``, EfficientNetB0 and ConvNeXt 0-255 values
(they normalise inside). cnnkit's loaders (:func:`image_folder`, :func:`load_fashion_mnist`,
:func:`load_images`) give values from 0 to 1. :func:`transfer_model` and
:func:`domain_adapted_model` therefore put a :class:`BackbonePreprocessing` layer in front of the
backbone: it computes the registry's ``preprocess`` function (``list_backbones()``) for images in
``value_range``, as one per-channel affine map (channel order, scale, offset) read off that function.
The layer has no weights and draws no random numbers, so a frozen backbone's features are still
computed once (``cnnkit.features``), it is saved with the model (a registered Keras class: the file
loads in safe mode) and predicts the same after loading.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np

from ._context import caller

PROBE_SEED = 0


@keras.saving.register_keras_serializable(package="cnnkit")
class BackbonePreprocessing(keras.layers.Layer):
    """``y[..., c] = x[..., channel_order[c]] * scale[c] + offset[c]``: a backbone's input scaling.

    Args:
        scale: one factor per output channel.
        offset: one offset per output channel.
        channel_order: which input channel feeds each output channel (``[2, 1, 0]``: RGB to BGR);
            ``None``: the same order.
        backbone: the registry name it was made for (shown in the config; informational).
        value_range: ``(low, high)`` of the images it takes (saved with the model: the model's input
            contract, ``cnnkit.contract``); ``None``: not recorded.
        **kwargs: Keras layer arguments (``name``).

    Example:
        >>> model = transfer_model("vgg16", (32, 32, 3), num_classes=2, weights=None)  # images in [0, 1]
        >>> model.get_layer("preprocessing").channel_order  # VGG16 wants BGR
        [2, 1, 0]
    """

    def __init__(self, scale: Sequence[float], offset: Sequence[float], channel_order: Sequence[int] | None = None,
                 backbone: str = "", value_range: Sequence[float] | None = None, **kwargs: Any):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.scale = [float(s) for s in scale]
        self.offset = [float(o) for o in offset]
        n = len(self.scale)
        self.channel_order = list(range(n)) if channel_order is None else [int(c) for c in channel_order]
        if len(self.offset) != n or len(self.channel_order) != n or sorted(self.channel_order) != list(range(n)):
            raise ValueError("BackbonePreprocessing(): `scale`, `offset` and `channel_order` must have one entry per "
                             f"channel (channel_order a permutation), got {self.scale}, {self.offset}, "
                             f"{self.channel_order}.")
        self.backbone = str(backbone)
        self.value_range = None if value_range is None else [float(v) for v in value_range]

    def call(self, inputs: Any) -> Any:
        x = keras.ops.cast(inputs, self.compute_dtype)
        if self.channel_order != list(range(len(self.channel_order))):
            x = keras.ops.take(x, self.channel_order, axis=-1)
        scale = keras.ops.convert_to_tensor(np.asarray(self.scale, "float32"), dtype=self.compute_dtype)
        offset = keras.ops.convert_to_tensor(np.asarray(self.offset, "float32"), dtype=self.compute_dtype)
        return x * scale + offset

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(scale=self.scale, offset=self.offset, channel_order=self.channel_order, backbone=self.backbone,
                      value_range=self.value_range)
        return config


def affine_scaling(preprocess: Callable[[np.ndarray], Any], channels: int,
                   value_range: tuple[float, float] = (0.0, 1.0)) -> tuple[list[int], list[float], list[float]]:
    """``(channel_order, scale, offset)`` such that ``preprocess(255 * (x - low) / (high - low))``
    equals ``x[..., channel_order] * scale + offset`` for images ``x`` in ``value_range``, read off
    ``preprocess`` (a function of 0-255 images) and checked on random images. Raises ``ValueError``
    when ``preprocess`` is not such a per-channel affine map."""
    low, high = value_range
    to255 = 255.0 / (high - low)

    def f(x: np.ndarray) -> np.ndarray:  # a copy in: Keras' caffe preprocessing works in place
        return np.asarray(preprocess(np.array((x - low) * to255, dtype="float32", copy=True)), dtype="float64")

    base = np.full((1, 1, 1, channels), low, dtype="float64")
    f0 = f(base).reshape(channels)
    columns = []
    for c in range(channels):
        e = base.copy()
        e[..., c] = high
        columns.append(f(e).reshape(channels) - f0)
    a = np.stack(columns, axis=1)  # a[out, in]: the change of output channel `out` from input channel `in`
    order = [int(np.argmax(np.abs(row))) for row in a]
    scale = [_round(a[o, i] / (high - low)) for o, i in enumerate(order)]
    offset = [_round(f0[o] - scale[o] * low) for o in range(channels)]
    x = np.random.default_rng(PROBE_SEED).uniform(low, high, (2, 3, 3, channels))
    expected = f(x)
    got = x[..., order] * np.asarray(scale) + np.asarray(offset)
    atol = 1e-3 * max(1.0, np.abs(expected).max())
    if sorted(order) != list(range(channels)) or not np.allclose(got, expected, rtol=1e-4, atol=atol):
        raise ValueError("its preprocessing function is not a per-channel scaling (channel order, scale and offset)")
    return order, scale, offset


def _round(value: float) -> float:
    """7 significant digits: what float32 arithmetic in the probe can tell (1.0, not 1.0000000299)."""
    return float(f"{float(value):.7g}")


def preprocessing_layer(spec: Any, value_range: tuple[float, float],
                        name: str = "preprocessing") -> BackbonePreprocessing:
    """The :class:`BackbonePreprocessing` layer for a registry entry and images in ``value_range``."""
    try:
        order, scale, offset = affine_scaling(spec.preprocess, spec.channels, value_range)
    except Exception as err:  # noqa: BLE001 - any failure of a user's function means "cannot be a layer"
        raise ValueError(f"{caller()}(): the input scaling of backbone {spec.name!r} cannot be put in the model ({err}). "
                         "Pass value_range=None (R: NULL) and scale the images yourself with "
                         f"preprocess_input(x, \"{spec.name}\").") from None
    return BackbonePreprocessing(scale, offset, order, backbone=spec.name, value_range=value_range, name=name)
