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

from typing import Any, Sequence

import keras

from . import _validate as v
from .backbones import POOLINGS, BackboneSpec, build, check_input_shape, get_spec, spec_of
from .blocks import activation_layer, output_layer
from .freeze import freeze as _freeze, unfreeze as _unfreeze
from .train import compile_classifier

MODES = ("feature_extraction", "fine_tune")


def _resolve_backbone(backbone: Any, input_shape: Any, weights: Any, pooling: str | None,
                      fn: str) -> tuple[keras.Model, BackboneSpec | None, tuple[int, ...]]:
    """A backbone model from a registry name or a ready model (whose input shape must match)."""
    if isinstance(backbone, keras.Model):
        own = tuple(backbone.input_shape[1:])
        shape = own if input_shape is None else v.shape(input_shape, "input_shape", fn, ndim=3)
        if shape != own:
            raise ValueError(f"{fn}(): `input_shape` {shape} differs from the backbone's input shape {own}.")
        return backbone, spec_of(backbone), shape
    spec = get_spec(backbone, fn, "backbone")
    shape = check_input_shape(spec, (32, 32, 3) if input_shape is None else input_shape, fn)
    return build(spec, shape, weights, pooling, fn=fn), spec, shape


def _fine_tune_blocks(spec: BackboneSpec | None, unfreeze_arg: Any, fn: str) -> str | list[str]:
    if unfreeze_arg is not None:
        return unfreeze_arg
    if spec is None or not spec.last_block:
        raise ValueError(f"{fn}(): `unfreeze` is needed: this backbone is not from the registry, so its "
                         "last block is unknown. Pass a layer-name prefix, e.g. unfreeze=\"block5\".")
    return list(spec.last_block)


def transfer_model(
    backbone: str | keras.Model = "vgg16",
    input_shape: Sequence[int] | None = (32, 32, 3),
    num_classes: int = 1,
    mode: str = "feature_extraction",
    unfreeze: str | Sequence[str] | None = None,
    weights: str | None = "imagenet",
    pooling: str = "avg",
    batchnorm: bool = False,
) -> keras.Model:
    """A pretrained backbone with a new output layer, frozen or partly trainable.

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

    Returns:
        An uncompiled ``keras.Model``: input -> backbone(training=False) -> output layer.

    Example:
        >>> m = transfer_model("vgg16", (32, 32, 3), mode="fine_tune", weights=None)
        >>> sum(int(np.prod(w.shape)) for w in m.trainable_weights)  # doctest: +SKIP
        7079937
    """
    fn = "transfer_model"
    mode = v.choice(mode, "mode", fn, MODES)
    pooling = v.choice(pooling, "pooling", fn, [p for p in POOLINGS if p])
    num_classes = v.positive_int(num_classes, "num_classes", fn)
    base, spec, shape = _resolve_backbone(backbone, input_shape, weights, pooling, fn)
    if len(base.output_shape) != 2:
        raise ValueError(f"{fn}(): `backbone` must end in global pooling (output (batch, features)); "
                         f"got output shape {base.output_shape}. Build it with pooling=\"avg\".")
    _freeze(base, recompile=False)
    if mode == "fine_tune":
        _unfreeze(base, block=_fine_tune_blocks(spec, unfreeze, fn), batchnorm=batchnorm, recompile=False)
    inputs = keras.Input(shape, name="input")
    outputs = output_layer(num_classes, fn=fn)(base(inputs, training=False))
    return keras.Model(inputs, outputs, name=f"{base.name}_transfer")


def domain_adapted_model(
    backbone: str = "convnext_tiny",
    input_shape: Sequence[int] = (32, 32, 1),
    num_classes: int = 1,
    adapter_filters: int = 32,
    adapter_layers: int = 2,
    weights: str | None = "imagenet",
    kernel_size: int = 3,
    activation: str | None = "relu",
) -> keras.Model:
    """The closing exercise: a convolutional domain adapter in front of a frozen ImageNet backbone.

    input -> [Conv2D(adapter_filters) -> BatchNormalization -> activation] x adapter_layers ->
    Conv2D(3) -> backbone (frozen, ``training=False``) -> GlobalAveragePooling2D -> output layer.
    The adapter learns a mapping from grayscale (or other-domain) images to the 3 channels the
    pretrained stem expects; only the adapter and the output layer train.

    Args:
        backbone: a registry name (default ConvNeXtTiny, as in the exercise).
        input_shape: ``(height, width, channels)``, any number of channels.
        num_classes: 1 (sigmoid) or more (softmax).
        adapter_filters: filters of each adapter convolution.
        adapter_layers: number of Conv2D + BatchNormalization pairs.
        weights: the backbone's weights (``"imagenet"``, ``None`` or a path).
        kernel_size: kernel of the adapter convolutions.
        activation: after each BatchNormalization (``None``: none).

    Returns:
        An uncompiled ``keras.Model``; layers ``adapter_conv1``, ``adapter_bn1``, ... ``adapter_rgb``,
        the backbone, ``global_pool``, ``predictions``.

    Example:
        >>> m = domain_adapted_model(input_shape=(32, 32, 1), weights=None)  # doctest: +SKIP
        >>> [layer.name for layer in m.layers][-3:]  # doctest: +SKIP
        ['convnext_tiny', 'global_pool', 'predictions']
    """
    fn = "domain_adapted_model"
    spec = get_spec(backbone, fn, "backbone")
    shape = check_input_shape(spec, input_shape, fn, any_channels=True)
    num_classes = v.positive_int(num_classes, "num_classes", fn)
    filters = v.positive_int(adapter_filters, "adapter_filters", fn)
    layers_n = v.positive_int(adapter_layers, "adapter_layers", fn, minimum=0)
    kernel = v.int_tuple(kernel_size, "kernel_size", fn)
    base = build(spec, shape[:2] + (spec.channels,), weights, None, trainable=False, fn=fn)
    inputs = keras.Input(shape, name="input")
    x = inputs
    for i in range(1, layers_n + 1):
        x = keras.layers.Conv2D(filters, kernel, padding="same", name=f"adapter_conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"adapter_bn{i}")(x)
        if activation:
            x = activation_layer(activation, f"adapter_act{i}")(x)
    x = keras.layers.Conv2D(spec.channels, kernel, padding="same", name="adapter_rgb")(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = output_layer(num_classes, fn=fn)(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_domain_adapted")


def find_backbone(model: keras.Model, fn: str = "fine_tune") -> keras.Model:
    """The nested model with the most parameters: the backbone of a transfer model."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not nested:
        raise ValueError(f"{fn}(): `model` has no nested backbone model; build it with transfer_model() "
                         "or domain_adapted_model(), or call a keras.applications model inside it.")
    return max(nested, key=lambda m: m.count_params())


def _fit_args(data: Any, validation_data: Any, batch_size: int, fn: str) -> dict[str, Any]:
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        args: dict[str, Any] = {"x": data, "shuffle": False}  # a dataset shuffles itself
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        args = {"x": data[0], "y": data[1], "batch_size": batch_size}
    else:
        raise TypeError(f"{fn}(): `data` must be a pair (x, y) of arrays or a tf.data.Dataset of "
                        f"(images, labels) batches, got {type(data).__name__}.")
    if validation_data is not None:
        args["validation_data"] = tuple(validation_data) if isinstance(validation_data, list) else validation_data
    return args


def fine_tune(
    model: keras.Model,
    data: Any,
    head_epochs: int = 1,
    epochs: int = 1,
    lr: float = 1e-3,
    lr_fine: float | None = None,
    unfreeze: str | Sequence[str] | None = None,
    batchnorm: bool = False,
    validation_data: Any = None,
    batch_size: int = 32,
    optimizer: str = "adam",
    verbose: int = 0,
    **fit_kwargs: Any,
) -> dict[str, list[Any]]:
    """Two-phase transfer learning in one call: train the head, then fine-tune the last block.

    Phase "head": the backbone frozen, ``head_epochs`` epochs at ``lr``. Phase "fine_tune": the
    backbone's last block (or ``unfreeze``) made trainable (BatchNormalization stays frozen unless
    ``batchnorm=True``), ``epochs`` more epochs at ``lr_fine``. Each phase compiles the model with
    :func:`compile_classifier` (loss from the output layer) and trains with ``model.fit``.

    Args:
        model: a transfer model (from :func:`transfer_model` or :func:`domain_adapted_model`, or any
            model with a nested backbone model).
        data: ``(x, y)`` arrays or a ``tf.data.Dataset`` yielding ``(images, labels)`` batches.
        head_epochs: epochs of phase 1 (0 skips it).
        epochs: epochs of phase 2 (0 skips it).
        lr: learning rate of phase 1.
        lr_fine: learning rate of phase 2 (default ``lr / 10``).
        unfreeze: layer-name prefix(es) to unfreeze in phase 2 (default: the registry's last block).
        batchnorm: unfreeze BatchNormalization layers too in phase 2.
        validation_data: ``(x, y)`` or a dataset, evaluated after each epoch.
        batch_size: batch size for array data.
        optimizer: optimizer name for both phases.
        verbose: passed to ``model.fit``.
        **fit_kwargs: more ``model.fit`` arguments (``callbacks``, ``class_weight``, ...).

    Returns:
        One history: ``{"epoch": [1, 2, ...], "phase": ["head", ..., "fine_tune", ...], "loss": [...],
        ...}`` (the metrics of both phases, one entry per epoch).

    Example:
        >>> m = transfer_model("vgg16", (32, 32, 3), weights=None)  # doctest: +SKIP
        >>> fine_tune(m, (x, y), head_epochs=1, epochs=1)["phase"]  # doctest: +SKIP
        ['head', 'fine_tune']
    """
    fn = "fine_tune"
    if not isinstance(model, keras.Model):
        raise TypeError(f"{fn}(): `model` must be a Keras model, got {type(model).__name__}.")
    head_epochs = v.positive_int(head_epochs, "head_epochs", fn, minimum=0)
    epochs = v.positive_int(epochs, "epochs", fn, minimum=0)
    if head_epochs + epochs == 0:
        raise ValueError(f"{fn}(): `head_epochs` and `epochs` are both 0: nothing to train.")
    lr = _rate(lr, "lr", fn)
    lr_fine = lr / 10 if lr_fine is None else _rate(lr_fine, "lr_fine", fn)
    base = find_backbone(model, fn)
    blocks = _fine_tune_blocks(spec_of(base), unfreeze, fn) if epochs else None
    args = _fit_args(data, validation_data, v.positive_int(batch_size, "batch_size", fn), fn)
    args.update(fit_kwargs)
    history: dict[str, list[Any]] = {"epoch": [], "phase": []}
    phases = [("head", head_epochs, lr), ("fine_tune", epochs, lr_fine)]
    done = 0
    for phase, n, rate in phases:
        if n == 0:
            continue
        if phase == "head":
            _freeze(base, recompile=False)
        else:
            _unfreeze(base, block=blocks, batchnorm=batchnorm, recompile=False)
        compile_classifier(model, learning_rate=rate, optimizer=optimizer)
        hist = model.fit(**args, epochs=done + n, initial_epoch=done, verbose=verbose)
        _append(history, hist.history, phase, done, n)
        done += n
    return history


def _rate(value: Any, arg: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{fn}(): `{arg}` must be a positive number such as 1e-3, got {value!r}.")
    return float(value)


def _append(history: dict[str, list[Any]], new: dict[str, list[Any]], phase: str, done: int, n: int) -> None:
    for key in new:
        history.setdefault(key, [None] * len(history["epoch"]))
    history["epoch"].extend(range(done + 1, done + n + 1))
    history["phase"].extend([phase] * n)
    for key in history:
        if key not in ("epoch", "phase"):
            history[key].extend(None if x is None else float(x) for x in new.get(key, [None] * n))
