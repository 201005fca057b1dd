"""Precision and steps per execution: the two levers that make cnnkit's training path fast.

Measured on this project's 2-core Xeon (bench/train_throughput.py, bench/README.md):

- **Mixed bfloat16** halves the time of convolution-heavy models on CPUs with AMX-BF16 (Intel
  Sapphire Rapids and later) and on GPUs of compute capability 8.0 or more, with the same accuracy.
  Tiny models (LeNet-5) gain nothing and predict slower, so ``precision="auto"`` uses it only where
  the convolutions do enough work per image (``AUTO_MIXED_MIN_FLOPS``). The output layer always
  computes in float32, so probabilities keep their float32 resolution; the weights stay float32.
- **Steps per execution**: Keras runs several training steps per call into TensorFlow, which
  removes the per-step Python overhead that dominates small models (+70 % for LeNet-5).
  ``fit_classifier`` uses ``AUTO_STEPS_PER_EXECUTION`` steps for models with fewer than
  ``AUTO_SPE_MAX_PARAMS`` parameters (for big models a step is long and the progress bar would
  update too rarely), and only while fitting: ``predict`` and ``evaluate`` keep one step per call.

- **Prediction** (``predict_classes``, ``evaluate_classifier``) runs the model as one traced
  TensorFlow function over the batches (``predictor()``), made once per model and precision and
  cached: 2.3x ``model.predict``'s throughput for LeNet-5, 3.5x for the slides' CNN in bfloat16.
  Small images go through it in chunks of at least ``PREDICT_CHUNK_VALUES`` input values
  (``predict_chunk()``; LeNet-5: 1,024 images per call, bench/lenet_levers.py), since each call
  costs a fixed dispatch; the model has no batch statistics at inference, so results are the same.

``precision(model, ...)`` and ``steps_per_execution(model, ...)`` are context managers: the model
is changed for the duration of the ``with`` block and restored afterwards, whatever happens inside.
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from typing import Any, Callable, Iterator

import keras

from . import _validate as v

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
AUTO_MIXED_MIN_FLOPS = 2e6  # convolution multiply-adds per image (LeNet-5 ~0.4M; the slides' CNN ~3.9M)
AUTO_STEPS_PER_EXECUTION = 32
AUTO_SPE_MAX_PARAMS = 1_000_000
PREDICT_CHUNK_VALUES = 2 ** 20  # input values per predictor call at least (LeNet-5: 1,024 images of 32x32x1)


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


def _leaves(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer that computes (nested models opened), input layers left out."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]


def conv_flops(model: keras.Model) -> float:
    """Multiply-adds per image of the model's convolutions: for each layer with a convolution kernel
    (``Conv1D/2D/3D``, depthwise and separable included), output positions x kernel size; layers
    whose output size is unknown count 0."""
    total = 0.0
    for layer in _leaves(model):
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


def resolve_precision(model: keras.Model, precision: str = "auto", fn: str = "fit_classifier") -> str:
    """``"float32"`` or ``"mixed_bfloat16"``: what ``precision`` means for this model on this machine."""
    precision = v.choice(precision, "precision", fn, PRECISIONS)
    if precision != "auto":
        return precision
    if model.dtype_policy.name != "float32":  # the user chose a policy: keep it
        return "float32"
    if fast_bfloat16() and conv_flops(model) >= AUTO_MIXED_MIN_FLOPS:
        return "mixed_bfloat16"
    return "float32"


def _outputs(model: keras.Model) -> set[int]:
    layers = set()
    for t in model.outputs:
        history = getattr(t, "_keras_history", None)
        if history is not None:
            layers.add(id(history.operation))
    return layers


def _reset_functions(model: keras.Model) -> None:
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


# model -> its layers' own policies, while precision() has changed them (read by stored_policies())
_OWN_POLICIES: "weakref.WeakKeyDictionary[keras.Model, list]" = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def precision(model: keras.Model, policy: str = "auto", fn: str = "fit_classifier") -> Iterator[str]:
    """Run the ``with`` block with ``model``'s layers computing in ``policy`` (see ``resolve_precision``);
    the output layer stays float32. Yields the policy used; restores every layer's policy after."""
    policy = resolve_precision(model, policy, fn)
    if policy == "float32":
        yield policy
        return
    keep = _outputs(model)
    with _set_policies([(layer, policy) for layer in _leaves(model) if id(layer) not in keep]) as own:
        _OWN_POLICIES[model] = own
        _reset_functions(model)
        try:
            yield policy
        finally:
            _OWN_POLICIES.pop(model, None)
            _reset_functions(model)


@contextlib.contextmanager
def stored_policies(model: keras.Model) -> Iterator[None]:
    """Inside ``precision()``: the layers' own policies for the ``with`` block (to save the model as
    the user built it); the traced functions are not touched, so training goes on in mixed precision."""
    with _set_policies(_OWN_POLICIES.get(model, [])):
        yield


@contextlib.contextmanager
def steps_per_execution(model: keras.Model, steps: Any = "auto", fn: str = "fit_classifier") -> Iterator[int]:
    """Run the ``with`` block with ``model.steps_per_execution`` = ``steps`` (``"auto"``: see the module
    docstring; a model compiled with its own value > 1 keeps it). Yields the value used."""
    current = int(getattr(model, "steps_per_execution", 1) or 1)
    if steps == "auto":
        steps = current if current > 1 else (
            AUTO_STEPS_PER_EXECUTION if model.count_params() < AUTO_SPE_MAX_PARAMS else 1)
    else:
        steps = v.positive_int(steps, "steps_per_execution", fn)
    if steps == current:
        yield steps
        return
    try:
        model.steps_per_execution = steps
        _reset_functions(model)
        yield steps
    finally:
        model.steps_per_execution = current
        _reset_functions(model)


_PREDICTORS: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def predictor(model: keras.Model, policy: str = "auto", fn: str = "predict_classes") -> Callable[[Any], Any]:
    """``model(x, training=False)`` as one traced TensorFlow function (any batch size) computing in
    ``policy`` (see ``resolve_precision``); made once per model and policy, then cached. The model is
    left as it is: the policy is baked into the trace, the weights are read live at every call."""
    import tensorflow as tf

    policy = resolve_precision(model, policy, fn)
    cache = _PREDICTORS.setdefault(model, {})
    key = (policy, tuple(layer.dtype_policy.name for layer in _leaves(model)))
    if key not in cache:
        ref = weakref.ref(model)  # the cache must not keep the model alive
        f = tf.function(lambda x: ref()(x, training=False), reduce_retracing=True)
        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        with precision(model, policy, fn):
            traced = f.get_concrete_function(spec)
        cache.clear()  # an older entry belongs to policies the layers no longer have
        cache[key] = traced
    return cache[key]


def predict_chunk(model: keras.Model, batch_size: int) -> int:
    """Images per ``predictor()`` call when predicting ``batch_size`` at a time: never fewer than
    ``batch_size``, more for small inputs (up to ``PREDICT_CHUNK_VALUES`` input values per call)."""
    per_image = math.prod(int(d or 1) for d in model.input_shape[1:])
    return max(int(batch_size), PREDICT_CHUNK_VALUES // max(per_image, 1))
