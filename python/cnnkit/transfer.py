"""Transfer learning: a pretrained backbone with a new head, the domain adapter, two-phase fine-tuning.

``transfer_model`` reproduces the slides (VGG16 on 32x32x3 images, global average pooling,
``Dense(1, sigmoid)``; the whole backbone frozen for feature extraction, the last convolutional block
trainable for fine-tuning); ``domain_adapted_model`` is the closing exercise (a small convolutional
adapter feeding grayscale or other-domain images to a frozen ConvNeXtTiny); ``fine_tune`` trains the
head with the backbone frozen, then unfreezes the last block and continues at a lower learning rate,
in one call (what fastai's ``fine_tune`` does). The backbone is always called with ``training=False``
so its BatchNormalization layers stay in inference mode.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import keras

from . import _arg_checks as v
from ._context import caller, public, warn
from .augment import _value_range
from .backbones import POOLINGS, BackboneSpec, build_backbone, check_input_shape, get_spec, spec_of
from .blocks import activation_layer, output_layer
from .distribute import distribution_strategy
from .engine import Phase, run_phases
from .freeze import _strings, _unknown, flat_layers, in_block
from .freeze import freeze as freeze_layers  # `freeze`/`unfreeze` name arguments here
from .freeze import unfreeze as unfreeze_layers
from .keras_compat import take_training_from_own_call
from .preprocessing import preprocessing_layer
from .saving import _attach
from .train import check_callbacks, check_fit_args, check_fit_data, check_tensorboard, fit_arguments

MODES = ("feature_extraction", "fine_tune")
BN_MOMENTUM = 0.9  # the adapter's BatchNormalization momentum: settles within short runs (bench/results/adapter_momentum.md)


def _resolve_backbone(backbone: Any, input_shape: Any, weights: Any,
                      pooling: str | None) -> tuple[keras.Model, BackboneSpec | None, tuple[int, ...]]:
    """A backbone model from a registry name or a ready model (whose input shape must match)."""
    if isinstance(backbone, keras.Model):
        own = tuple(backbone.input_shape[1:])
        shape = own if input_shape is None else v.shape(input_shape, "input_shape", ndim=3)
        if shape != own:
            raise ValueError(f"{caller()}(): `input_shape` {shape} differs from the backbone's input shape {own}.")
        return backbone, spec_of(backbone), shape
    spec = get_spec(backbone, arg="backbone")
    shape = check_input_shape(spec, input_shape)
    return build_backbone(spec, shape, weights, pooling), spec, shape


def inference_mode(backbone: keras.Model) -> keras.Model:
    """Make ``backbone`` run in inference mode wherever it is called with ``training=False``, even while
    the model around it trains. Keras 3 (3.15) passes the outer ``training=True`` of ``fit()`` into a
    nested model despite an explicit ``training=False``: a frozen backbone's BatchNormalization still
    runs in inference mode (Keras checks ``trainable`` there), but its dropout (EfficientNet's
    drop-connect, for one) would be active while the head trains -- not what Keras' transfer-learning
    guide, or these models' documentation, promise. The backbone then takes ``training`` from its
    call alone. (A model loaded from a file is rebuilt without this.)"""
    take_training_from_own_call(backbone)
    return backbone


def _checkunfreeze_layers(base: keras.Model, unfreeze_arg: Any) -> list[str] | None:
    """``None`` or layer-name prefixes that each name a block of ``base`` (as :func:`unfreeze`'s
    ``block`` does), checked here so that the error names the caller and `unfreeze`."""

    if unfreeze_arg is None:
        return None
    prefixes = _strings(unfreeze_arg, "unfreeze")
    names = [layer.name for layer, _ in flat_layers(base)]
    for prefix in prefixes:
        if not any(in_block(name, prefix) for name in names):
            raise _unknown(prefix, "unfreeze", names)
    return prefixes


def _fine_tune_blocks(spec: BackboneSpec | None, unfreeze_arg: Any) -> str | list[str]:
    if unfreeze_arg is not None:
        return unfreeze_arg
    if spec is None or not spec.last_block:
        raise ValueError(f"{caller()}(): `unfreeze` is needed: this backbone is not from the registry, so its "
                         "last block is unknown. Pass a layer-name prefix, e.g. unfreeze=\"block5\".")
    return list(spec.last_block)


@public
def transfer_model(
    backbone: str | keras.Model = "vgg16",
    input_shape: Sequence[int] | None = (32, 32, 3),
    num_classes: int = 1,
    mode: str = "feature_extraction",
    unfreeze: str | Sequence[str] | None = None,
    weights: str | None = "imagenet",
    pooling: str = "avg",
    batchnorm: bool = False,
    value_range: Sequence[float] | None = (0, 1),
) -> keras.Model:
    """A pretrained backbone with a new output layer, frozen or partly trainable, that takes images
    with values in ``value_range`` (cnnkit's loaders give 0 to 1) and scales them as the backbone expects.

    Args:
        backbone: a registry name (:func:`list_backbones`) or a backbone model.
        input_shape: ``(height, width, channels)``; ``None`` with a model: its own input shape.
        num_classes: 1 gives ``Dense(1, sigmoid)`` (binary), more gives softmax.
        mode: ``"feature_extraction"`` (the whole backbone frozen) or ``"fine_tune"`` (its last
            block trainable, BatchNormalization excepted).
        unfreeze: for ``"fine_tune"``: layer-name prefix(es) to unfreeze; default: the registry's
            last block (``"block5"`` for VGG16).
        weights: ``"imagenet"``, ``None`` or a weights file path (see :func:`backbone`).
        pooling: global pooling inside the backbone: ``"avg"`` or ``"max"``.
        batchnorm: also unfreeze BatchNormalization layers in ``"fine_tune"`` mode.
        value_range: ``(low, high)`` of the images the model will take: a ``preprocessing`` layer
            (:class:`cnnkit.preprocessing.BackbonePreprocessing`, no weights, saved with the model)
            maps them to the backbone's own input scaling from the registry (VGG16: BGR with the
            ImageNet mean subtracted from 0-255 values; EfficientNet-Lite0: ``(x - 127) / 128``; see
            :func:`preprocess_input`). ``None``: no layer, the model takes what the backbone takes. A
            backbone model that :func:`backbone` did not build gets no layer (its scaling is unknown).

    Returns:
        An uncompiled ``keras.Model``: input -> preprocessing -> backbone(training=False) -> output layer.

    Example:
        >>> m = transfer_model("vgg16", (32, 32, 3), mode="fine_tune", weights=None)
        >>> sum(int(np.prod(w.shape)) for w in m.trainable_weights)
        7079937
    """
    mode = v.choice(mode, "mode", choices=MODES)
    pooling = v.choice(pooling, "pooling", choices=[p for p in POOLINGS if p])
    num_classes = v.positive_int(num_classes, "num_classes")
    batchnorm = v.flag(batchnorm, "batchnorm")
    if input_shape is None and not isinstance(backbone, keras.Model):
        raise ValueError(f"{caller()}(): `input_shape` None means the backbone model's own input shape, but `backbone` "
                         f"{backbone!r} is a name; pass e.g. input_shape=(224, 224, 3).")
    value_range = None if value_range is None else _value_range(value_range)
    base, spec, shape = _resolve_backbone(backbone, input_shape, weights, pooling)
    unfreeze = _checkunfreeze_layers(base, unfreeze)
    if len(base.output_shape) != 2:
        raise ValueError(f"{caller()}(): `backbone` must end in global pooling (output (batch, features)); "
                         f"got output shape {base.output_shape}. Build it with pooling=\"avg\".")
    freeze_layers(base, recompile=False)
    if mode == "fine_tune":
        unfreeze_layers(base, block=_fine_tune_blocks(spec, unfreeze), batchnorm=batchnorm, recompile=False)
    inputs = keras.Input(shape, name="input")
    x = inputs if spec is None or value_range is None else preprocessing_layer(spec, value_range)(inputs)
    outputs = output_layer(num_classes)(inference_mode(base)(x, training=False))
    return keras.Model(inputs, outputs, name=f"{base.name}_transfer")


@public
def domain_adapted_model(
    backbone: str = "convnext_tiny",
    input_shape: Sequence[int] = (32, 32, 1),
    num_classes: int = 1,
    adapter_filters: int = 32,
    adapter_layers: int = 2,
    weights: str | None = "imagenet",
    kernel_size: int = 3,
    activation: str | None = "relu",
    bn_momentum: float = BN_MOMENTUM,
    preprocessing: bool = True,
) -> keras.Model:
    """The closing exercise: a convolutional domain adapter in front of a frozen ImageNet backbone.

    input -> [Conv2D(adapter_filters) -> BatchNormalization -> activation] x adapter_layers ->
    Conv2D(3) -> preprocessing -> backbone (frozen, ``training=False``) -> GlobalAveragePooling2D ->
    output layer. The adapter learns a mapping from grayscale (or other-domain) images to the 3
    channels the pretrained stem expects; only the adapter and the output layer train.

    Args:
        backbone: a registry name (default ConvNeXtTiny, as in the exercise).
        input_shape: ``(height, width, channels)``, any number of channels.
        num_classes: 1 (sigmoid) or more (softmax).
        adapter_filters: filters of each adapter convolution.
        adapter_layers: number of Conv2D + BatchNormalization pairs.
        weights: the backbone's weights (``"imagenet"``, ``None`` or a path).
        kernel_size: kernel of the adapter convolutions.
        activation: after each BatchNormalization (``None``: none).
        bn_momentum: momentum of the adapter's BatchNormalization moving statistics, in [0, 1).
            0.9 (not Keras' 0.99) lets them follow the data within a short run: with 0.99, the
            exercise's 171 steps left the validation accuracy Keras reports after each epoch at 0.44
            against 0.76 in training; with 0.9 both are about 0.73
            (``bench/results/adapter_momentum.md``).
        preprocessing: read the adapter's 3 channels as an image with values 0 to 1 and scale it
            as the backbone expects (a ``preprocessing`` layer from the registry, as in
            :func:`transfer_model`); ``False``: the adapter feeds the backbone directly and has to
            learn the backbone's scaling itself (ConvNeXt expects 0-255 values, for one).

    Returns:
        An uncompiled ``keras.Model``; layers ``adapter_conv1``, ``adapter_bn1``, ... ``adapter_rgb``,
        ``preprocessing``, the backbone, ``global_pool``, ``predictions``.

    Example:
        >>> m = domain_adapted_model("efficientnet_lite0", input_shape=(32, 32, 1), weights=None)
        >>> [layer.name for layer in m.layers][-3:]  # the default backbone is "convnext_tiny"
        ['efficientnet_lite0', 'global_pool', 'predictions']
    """
    spec = get_spec(backbone, arg="backbone")
    shape = check_input_shape(spec, input_shape, any_channels=True)
    num_classes = v.positive_int(num_classes, "num_classes")
    filters = v.positive_int(adapter_filters, "adapter_filters")
    layers_n = v.positive_int(adapter_layers, "adapter_layers", minimum=0)
    kernel = v.int_tuple(kernel_size, "kernel_size")
    if activation is not None:
        activation = v.string(activation, "activation")
        try:
            keras.activations.get(activation)
        except (ValueError, TypeError):
            raise ValueError(f"{caller()}(): `activation` {activation!r} is not a Keras activation; use e.g. 'relu', or "
                             "None for none.") from None
    momentum = _momentum(bn_momentum)
    preprocessing = v.flag(preprocessing, "preprocessing")
    pre = preprocessing_layer(spec, (0.0, 1.0)) if preprocessing else None
    base = build_backbone(spec, shape[:2] + (spec.channels,), weights, None, trainable=False)
    inputs = keras.Input(shape, name="input")
    x = inputs
    for i in range(1, layers_n + 1):
        x = keras.layers.Conv2D(filters, kernel, padding="same", name=f"adapter_conv{i}")(x)
        x = keras.layers.BatchNormalization(momentum=momentum, name=f"adapter_bn{i}")(x)
        if activation:
            x = activation_layer(activation, f"adapter_act{i}")(x)
    x = keras.layers.Conv2D(spec.channels, kernel, padding="same", name="adapter_rgb")(x)
    if pre is not None:
        x = pre(x)
    x = inference_mode(base)(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = output_layer(num_classes)(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_domain_adapted")


def _momentum(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) < 1:
        raise ValueError(f"{caller()}(): `bn_momentum` must be a number in [0, 1), e.g. {BN_MOMENTUM} (the share of the "
                         f"old moving statistics kept at each step), got {value!r}.")
    return float(value)


def find_backbone(model: keras.Model) -> keras.Model:
    """The nested model with the most parameters: the backbone of a transfer model."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not nested:
        raise ValueError(f"{caller()}(): `model` has no nested backbone model; build it with transfer_model() "
                         "or domain_adapted_model(), or call a keras.applications model inside it.")
    return max(nested, key=lambda m: m.count_params())


PHASES = ("head", "fine_tune")


def _deprecated_rate(new: Any, old: Any, new_name: str, old_name: str) -> Any:
    if old is None:
        return new
    warn(f"{caller()}(): `{old_name}` is deprecated; use `{new_name}` (the same name as in fit_classifier()).",
                  FutureWarning)  # (under fine_tune()'s argument forwarding)
    return v.positive_number(old, old_name)  # checked under the name the caller used


@public
@fit_arguments(drop=("initial_epoch", "resume"),
               after={"head_epochs": "data", "fine_tune_learning_rate": "learning_rate", "unfreeze": "optimizer",
                      "batchnorm": "unfreeze"})
def fine_tune(
    model: keras.Model,
    data: Any,
    head_epochs: int = 1,
    epochs: int = 1,
    fine_tune_learning_rate: float | None = None,
    unfreeze: str | Sequence[str] | None = None,
    batchnorm: bool = False,
    lr: float | None = None,
    lr_fine: float | None = None,
    **fit_args: Any,
) -> dict[str, list[Any]]:
    """Two-phase transfer learning in one call: train the head, then fine-tune the last block.

    Phase ``"head"``: the backbone frozen, ``head_epochs`` epochs at ``learning_rate``. Phase
    ``"fine_tune"``: the backbone's last block (or ``unfreeze``) made trainable (BatchNormalization
    stays frozen unless ``batchnorm=True``), ``epochs`` more epochs at ``fine_tune_learning_rate``.
    Both phases train through :func:`fit_classifier` (the model compiled afresh for each: a new
    optimizer of the kind ``optimizer`` names), so its data checks, precision, steps per execution,
    progress display and run directory apply; the arguments mean what they mean there.

    With ``run_dir``, each phase keeps its own run directory (``run_dir/head``,
    ``run_dir/fine_tune``) and ``run_dir/history.csv`` holds both: called again after a kill, a
    finished head phase is loaded, not retrained, and the interrupted phase resumes from its last
    completed epoch.

    Args:
        model: a transfer model (from :func:`transfer_model` or :func:`domain_adapted_model`, or any
            model with a nested backbone model).
        data: ``(x, y)`` arrays, a dict with ``x``, ``y`` (and ``class_names``), or a
            ``tf.data.Dataset`` of ``(images, labels)`` batches (see :func:`fit_classifier`).
        head_epochs: epochs of phase 1 (0 skips it).
        epochs: epochs of phase 2 (0 skips it).
        validation_data, validation_split, batch_size, schedule, early_stopping, checkpoint, strategy,
            callbacks, verbose, precision, steps_per_execution, recalibrate_bn, cache_features,
            label_smoothing, class_weight, ema, seed, tensorboard: as in :func:`fit_classifier`, for
            each phase (the head phase computes a frozen backbone's features once: see
            ``cnnkit.features``).
        learning_rate: learning rate of phase 1.
        fine_tune_learning_rate: learning rate of phase 2 (default ``learning_rate / 10``).
        optimizer: the optimizer for both phases (a name).
        unfreeze: layer-name prefix(es) to unfreeze in phase 2 (default: the registry's last block).
        batchnorm: unfreeze BatchNormalization layers too in phase 2.
        run_dir: a folder for both phases' files (``None``: none).
        overwrite: discard what ``run_dir`` holds and train afresh.
        lr, lr_fine: deprecated names of ``learning_rate`` and ``fine_tune_learning_rate``.

    Returns:
        One history: ``{"epoch": [1, 2, ...], "phase": ["head", ..., "fine_tune", ...], "loss": [...],
        ...}``, epochs numbered continuously across the phases.

    Example:
        >>> d = load_fashion_mnist(n=64, channels=3, pad=True)
        >>> m = transfer_model("efficientnet_lite0", (32, 32, 3), num_classes=10)
        >>> h = fine_tune(m, (d["x_train"], d["y_train"]), head_epochs=1, epochs=1, batch_size=64, verbose=0)
        >>> h["phase"]
        ['head', 'fine_tune']
    """
    validation_data, run_dir = fit_args.pop("validation_data"), fit_args.pop("run_dir")
    strategy, callbacks = fit_args.pop("strategy"), fit_args.pop("callbacks")
    fit_args["learning_rate"] = _deprecated_rate(fit_args["learning_rate"], lr, "learning_rate", "lr")
    fine_tune_learning_rate = _deprecated_rate(fine_tune_learning_rate, lr_fine, "fine_tune_learning_rate",
                                               "lr_fine")
    head_epochs = v.epochs(head_epochs, "head_epochs", minimum=0)
    epochs = v.epochs(epochs, "epochs", minimum=0)
    fit_args["overwrite"] = v.flag(fit_args["overwrite"], "overwrite")
    plan = check_fit_args(model, max(epochs, 1), **fit_args)
    check_tensorboard(plan, run_dir)
    if head_epochs + epochs == 0:
        raise ValueError(f"{caller()}(): `head_epochs` and `epochs` are both 0: nothing to train.")
    rates = {"head": plan.learning_rate,
             "fine_tune": plan.learning_rate / 10 if fine_tune_learning_rate is None
             else v.learning_rate(fine_tune_learning_rate, "fine_tune_learning_rate")}
    batchnorm = v.flag(batchnorm, "batchnorm")
    base = find_backbone(model)
    blocks = _fine_tune_blocks(spec_of(base), _checkunfreeze_layers(base, unfreeze)) if epochs else None
    callbacks = check_callbacks(callbacks)
    data, validation_data, names = check_fit_data(model, data, validation_data, plan)
    strategy = distribution_strategy(strategy)
    phases = [Phase("head", head_epochs, rates["head"], lambda: freeze_layers(base, recompile=False)),
              Phase("fine_tune", epochs, rates["fine_tune"],
                    lambda: unfreeze_layers(base, block=blocks, batchnorm=batchnorm, recompile=False))]
    history = run_phases(model, data, validation_data, plan, phases, run_dir, strategy, callbacks,
                         section="fine_tune", settings={"head_epochs": head_epochs, "epochs": epochs, "rates": rates,
                                                        "unfreeze": blocks, "batchnorm": batchnorm,
                                                        **({} if plan.seed is None else {"seed": plan.seed})})
    if names:
        _attach(model, names)
    return history
