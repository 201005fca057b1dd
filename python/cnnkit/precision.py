"""Mixed precision: the lever that halves the training time of convolution-heavy models.

Measured on this project's 2-core Xeon (bench/peers/train_throughput.py, bench/README.md):
**mixed bfloat16** halves the time of convolution-heavy models on CPUs with AMX-BF16 (Intel
Sapphire Rapids and later) and on GPUs of compute capability 8.0 or more, with the same accuracy.
Tiny models (LeNet-5) gain nothing and predict slower, so ``precision="auto"`` uses it only where
the convolutions do enough work per image (``AUTO_MIXED_MIN_FLOPS``), and not on a CPU for models
with depthwise convolutions (MobileNet, EfficientNet, ConvNeXt): with oneDNN's bfloat16 depthwise
kernels, fine-tuning MobileNetV2 took 1.37x and EfficientNet-Lite0 1.24x the float32 time, while VGG16
took 0.59x and the slides' CNN 0.70x (bench/defaults/precision_auto.py). The output layer always
computes in float32, so probabilities keep their float32 resolution; the weights stay float32.

``computing_in(model, policy)`` is a context manager: the model's layers compute in ``policy`` for
the duration of the ``with`` block and get their own policies back afterwards, whatever happens
inside. (Steps per execution and the cached predictor: ``_execution``.)
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from typing import Any, Iterator

import keras

from . import _arg_checks as v
from ._context import otherwise
from ._model_info import leaf_layers

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
AUTO_MIXED_MIN_FLOPS = 2e6  # convolution multiply-adds per image (LeNet-5 ~0.4M; the slides' CNN ~3.9M)


@functools.lru_cache(maxsize=1)
def fast_bfloat16() -> str | None:
    """Where bfloat16 runs faster than float32 here: ``"gpu"`` (compute capability >= 8.0),
    ``"cpu"`` (AMX-BF16 in ``/proc/cpuinfo``) or ``None``."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        cc = tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0)
        if tuple(cc) >= (8, 0):
            return "gpu"
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return None
    return "cpu" if "amx_bf16" in flags.split() else None


def conv_flops(model: keras.Model) -> float:
    """Multiply-adds per image of the model's convolutions: for each layer with a convolution kernel
    (``Conv1D/2D/3D``, depthwise and separable included), output positions x kernel size; layers
    whose output size is unknown count 0."""
    total = 0.0
    for layer in leaf_layers(model):
        kernels = [getattr(layer, k, None) for k in ("kernel", "depthwise_kernel", "pointwise_kernel")]
        kernels = [k for k in kernels if k is not None]
        if not kernels or "conv" not in type(layer).__name__.lower():
            continue
        try:
            spatial = tuple(layer.output.shape[1:-1])
        except (AttributeError, ValueError):
            continue
        if not spatial or any(d is None for d in spatial):
            continue
        total += math.prod(spatial) * sum(math.prod(int(d) for d in k.shape) for k in kernels)
    return total


@otherwise("fit_classifier")
def resolve_precision(model: keras.Model, precision: str = "auto") -> str:
    """``"float32"`` or ``"mixed_bfloat16"``: what ``precision`` means for this model on this machine."""
    precision = v.choice(precision, "precision", choices=PRECISIONS)
    if precision != "auto":
        return precision
    if model.dtype_policy.name != "float32":  # the user chose a policy: keep it
        return "float32"
    fast = fast_bfloat16()
    if not fast or conv_flops(model) < AUTO_MIXED_MIN_FLOPS:
        return "float32"
    if fast == "cpu" and has_depthwise_convolutions(model):
        return "float32"  # slower in bfloat16 on oneDNN (module docstring)
    return "mixed_bfloat16"


def has_depthwise_convolutions(model: keras.Model) -> bool:
    """Does the model (nested models opened) have a depthwise or separable convolution?"""
    kinds = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv1D,
             keras.layers.SeparableConv2D)
    return any(isinstance(layer, kinds) for layer in leaf_layers(model))


def _outputs(model: keras.Model) -> set[int]:
    layers = set()
    for t in model.outputs:
        history = getattr(t, "_keras_history", None)
        if history is not None:
            layers.add(id(history.operation))
    return layers


def reset_traced_functions(model: keras.Model) -> None:
    """Drop Keras' traced train/test/predict functions: the next call traces them again (after a
    change of policies or of steps per execution)."""
    for name in ("train_function", "test_function", "predict_function"):
        if hasattr(model, name):
            setattr(model, name, None)


@contextlib.contextmanager
def _set_policies(pairs: list[tuple[keras.layers.Layer, Any]]) -> Iterator[list[tuple[keras.layers.Layer, Any]]]:
    """Give each layer its policy for the ``with`` block (yields the policies they had); put those back
    after, whatever happens inside."""
    before = [(layer, layer.dtype_policy) for layer, _ in pairs]
    try:
        for layer, policy in pairs:
            layer.dtype_policy = policy
        yield before
    finally:
        for layer, policy in before:
            layer.dtype_policy = policy


# model -> its layers' own policies, while computing_in() has changed them (read by stored_policies())
_OWN_POLICIES: "weakref.WeakKeyDictionary[keras.Model, list]" = weakref.WeakKeyDictionary()


@contextlib.contextmanager
@otherwise("fit_classifier")
def computing_in(model: keras.Model, policy: str = "auto") -> Iterator[str]:
    """Run the ``with`` block with ``model``'s layers computing in ``policy`` (see ``resolve_precision``);
    the output layer stays float32. Yields the policy used; restores every layer's policy after."""
    policy = resolve_precision(model, policy)
    if policy == "float32":
        yield policy
        return
    keep = _outputs(model)
    with _set_policies([(layer, policy) for layer in leaf_layers(model) if id(layer) not in keep]) as own:
        _OWN_POLICIES[model] = own
        reset_traced_functions(model)
        try:
            yield policy
        finally:
            _OWN_POLICIES.pop(model, None)
            reset_traced_functions(model)


@contextlib.contextmanager
def all_float32(model: keras.Model) -> Iterator[int]:
    """Run the ``with`` block with every layer of ``model`` computing in float32, whatever policy it was
    built with (``export_model()``: ONNX and LiteRT runtimes have no bfloat16 kernels for most layers);
    yields how many layers changed and gives them their own policies back after."""
    pairs = [(layer, "float32") for layer in leaf_layers(model) if layer.dtype_policy.name != "float32"]
    if not pairs:
        yield 0
        return
    with _set_policies(pairs):
        reset_traced_functions(model)
        try:
            yield len(pairs)
        finally:
            reset_traced_functions(model)


@contextlib.contextmanager
def stored_policies(model: keras.Model) -> Iterator[None]:
    """Inside ``computing_in()``: the layers' own policies for the ``with`` block (to save the model as
    the user built it); the traced functions are not touched, so training goes on in mixed precision."""
    with _set_policies(_OWN_POLICIES.get(model, [])):
        yield
