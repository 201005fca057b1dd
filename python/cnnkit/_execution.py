"""How Keras runs a model: steps per execution while fitting, one traced function to predict.

Measured on this project's 2-core Xeon (bench/peers/train_throughput.py, bench/README.md):

- **Steps per execution**: Keras runs several training steps per call into TensorFlow, which
  removes the per-step Python overhead that dominates small models (+70 % for LeNet-5).
  ``fit_classifier`` uses ``AUTO_STEPS_PER_EXECUTION`` steps for models with fewer than
  ``AUTO_SPE_MAX_PARAMS`` parameters (for big models a step is long and the progress bar would
  update too rarely), and only while fitting: ``predict`` and ``evaluate`` keep one step per call.
  ``steps_per_call(model, steps)`` is a context manager: the model is changed for the ``with``
  block and restored afterwards, whatever happens inside.
- **Prediction** (``predict_classes``, ``evaluate_classifier``) runs the model as one traced
  TensorFlow function over the batches (:func:`predictor`), made once per model and precision and
  cached: 2.3x ``model.predict``'s throughput for LeNet-5, 3.5x for the slides' CNN in bfloat16.
  Small images go through it in chunks of at least ``PREDICT_CHUNK_VALUES`` input values
  (:func:`predict_chunk`; LeNet-5: 1,024 images per call, bench/defaults/lenet_levers.py), since each call
  costs a fixed dispatch; the model has no batch statistics at inference, so results are the same.
- **BatchNormalization** runs TensorFlow's fused kernel (``FusedBatchNormV3``, one op forward and
  one backward) while cnnkit fits or predicts (:func:`fused_batchnorm`), instead of Keras 3's
  moments + normalisation in float32 (a dozen ops and two casts per layer): the same numbers
  (the same moving averages, to float rounding), and fashion_cnn's bfloat16 training step about
  1.2x faster (bench/defaults/batchnorm_fused.py). Only for plain ``keras.layers.BatchNormalization`` layers
  on 4-D channels-last inputs without renorm, synchronisation or a mask; while fitting, only for
  layers computing batch statistics (see :func:`fused_batchnorm`); all else runs Keras' code.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from typing import Any, Callable, Iterator

import keras

from . import _arg_checks as v
from ._context import otherwise
from ._model_info import leaf_layers
from .precision import computing_in, reset_traced_functions, resolve_precision

AUTO_STEPS_PER_EXECUTION = 32
AUTO_SPE_MAX_PARAMS = 1_000_000
PREDICT_CHUNK_VALUES = 2 ** 20  # input values per predictor call at least (LeNet-5: 1,024 images of 32x32x1)
MAX_CHUNK_VALUES = 2 ** 22  # and at most (27 images of 224 x 224 x 3): a backbone's activations grow with it


@contextlib.contextmanager
@otherwise("fit_classifier")
def steps_per_call(model: keras.Model, steps: Any = "auto") -> Iterator[int]:
    """Run the ``with`` block with ``model.steps_per_execution`` = ``steps`` (``"auto"``: see the module
    docstring; a model compiled with its own value > 1 keeps it). Yields the value used."""
    current = int(getattr(model, "steps_per_execution", 1) or 1)
    if steps == "auto":
        steps = current if current > 1 else (
            AUTO_STEPS_PER_EXECUTION if model.count_params() < AUTO_SPE_MAX_PARAMS else 1)
    else:
        steps = v.positive_int(steps, "steps_per_execution")
    if steps == current:
        yield steps
        return
    try:
        model.steps_per_execution = steps
        reset_traced_functions(model)
        yield steps
    finally:
        model.steps_per_execution = current
        reset_traced_functions(model)


_PREDICTORS: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def _fusable(layer: Any) -> bool:
    return (type(layer) is keras.layers.BatchNormalization and layer.axis in (-1, 3) and not layer.renorm
            and not layer.synchronized)


def _fused_call(layer: keras.layers.BatchNormalization, inference: bool) -> Callable[..., Any]:
    """``layer.call`` through ``FusedBatchNormV3``, with Keras' semantics: batch statistics only when
    ``training`` and the layer is trainable, Keras' moving-average update (biased variance), the output
    in the layer's compute dtype. Falls back to Keras' own ``call`` for anything else."""
    import tensorflow as tf

    keras_call = layer.call
    fused_dtypes = (tf.float32, tf.bfloat16, tf.float16)

    def call(inputs: Any, training: Any = None, mask: Any = None) -> Any:
        batch_statistics = bool(training) and layer.trainable
        if (mask is not None or len(inputs.shape) != 4 or inputs.dtype not in fused_dtypes
                or (not batch_statistics and not inference)):
            return keras_call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        gamma = tf.cast(layer.gamma, tf.float32) if layer.scale else tf.ones((channels,), tf.float32)
        beta = tf.cast(layer.beta, tf.float32) if layer.center else tf.zeros((channels,), tf.float32)
        mean, variance = tf.cast(layer.moving_mean, tf.float32), tf.cast(layer.moving_variance, tf.float32)
        if batch_statistics:
            y, batch_mean, batch_var = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=layer.epsilon, is_training=True)
            n = tf.cast(tf.size(inputs) // channels, tf.float32)
            batch_var = batch_var * (n - 1) / tf.maximum(n, 1)  # TensorFlow returns the unbiased variance
            m = layer.momentum
            layer.moving_mean.assign(mean * m + batch_mean * (1 - m))
            layer.moving_variance.assign(variance * m + batch_var * (1 - m))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(inputs, gamma, beta, mean, variance,
                                                       epsilon=layer.epsilon, is_training=False)
        return tf.cast(y, layer.compute_dtype)

    return call


@contextlib.contextmanager
def fused_batchnorm(model: keras.Model, inference: bool = True) -> Iterator[int]:
    """Run the ``with`` block with ``model``'s BatchNormalization layers on TensorFlow's fused kernel
    (see the module docstring); yields how many layers it changed and restores them after. Traced
    functions are not dropped: one traced inside (Keras' train function, :func:`predictor`'s) keeps
    the fused kernel and one traced before keeps Keras' code -- they compute the same, and dropping
    them would make every call retrace (seconds for a backbone).

    ``inference = False`` (while fitting): only layers computing batch statistics (``training`` and
    trainable) run fused; a layer in inference mode keeps Keras' code, because its gradient, needed
    when the layers around it train (a frozen backbone's BatchNormalization while the model
    fine-tunes), is slower through TensorFlow's fused inference kernel: MobileNetV2 and
    EfficientNet-Lite0 fine-tuning took 2.3x-2.7x as long (bench/defaults/batchnorm_fused.py)."""
    if keras.backend.backend() != "tensorflow":
        yield 0
        return
    from .keras_compat import has_replaced_call, replaced_call

    layers = [layer for layer in leaf_layers(model) if _fusable(layer) and not has_replaced_call(layer)]
    with contextlib.ExitStack() as stack:
        for layer in layers:
            stack.enter_context(replaced_call(layer, _fused_call(layer, inference)))
        yield len(layers)


@otherwise("predict_classes")
def predictor(model: keras.Model, policy: str = "auto", views: int = 1) -> Callable[[Any], Any]:
    """``model(x, training=False)`` as one traced TensorFlow function (any batch size) computing in
    ``policy`` (see ``resolve_precision``); made once per model, policy and number of ``views``, then
    cached. ``views`` > 1: the outputs averaged over that many test-time views (``cnnkit.tta``). The
    model is left as it is: the policy is baked into the trace, the weights are read live at every call."""
    import tensorflow as tf

    from .tta import views as tta_views

    policy = resolve_precision(model, policy)
    cache = _PREDICTORS.setdefault(model, {})
    key = (policy, tuple(layer.dtype_policy.name for layer in leaf_layers(model)), views)
    if key not in cache:
        ref = weakref.ref(model)  # the cache must not keep the model alive

        def predict(x: Any) -> Any:
            if views == 1:
                return ref()(x, training=False)  # type: ignore[misc]  # alive: the cache dies with it
            outs = [tf.cast(ref()(v, training=False), tf.float32) for v in tta_views(x, views)]  # type: ignore[misc]
            return tf.add_n(outs) / float(views)

        # autograph=False: Keras 3 layers have no tensor-dependent Python control flow (JAX could not run
        # them), and AutoGraph warns in R sessions, where it cannot read this function's source
        f = tf.function(predict, reduce_retracing=True, autograph=False)
        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        with computing_in(model, policy), fused_batchnorm(model):
            traced = f.get_concrete_function(spec)
        for old in [k for k in cache if k[:2] != key[:2]]:  # entries for policies the layers no longer have
            del cache[old]
        cache[key] = traced
    return cache[key]


def predict_chunk(model: keras.Model, batch_size: int) -> int:
    """Images per :func:`predictor` call when predicting ``batch_size`` at a time: more for small inputs
    (up to ``PREDICT_CHUNK_VALUES`` input values per call), fewer for large ones (at most
    ``MAX_CHUNK_VALUES``: EfficientNet-Lite0 at 224 px peaked at 3.5 GB with 256 images a call, and
    simple_cnn ran 2.8x slower per image at 256 than at 32, bench/acceptance/predict_files.py)."""
    per_image = max(math.prod(int(d or 1) for d in model.input_shape[1:]), 1)
    return max(1, min(max(int(batch_size), PREDICT_CHUNK_VALUES // per_image), MAX_CHUNK_VALUES // per_image))
