"""Save and load models as ``.keras`` files: atomically, with class names, in Keras' safe mode.

The ``.keras`` file is Keras' own zip; cnnkit adds one member, ``cnnkit.json``, holding the class
names, so ``predict_classes()`` on a loaded model prints names without extra files. Keras ignores the
member, so the file loads anywhere with ``keras.saving.load_model()``.

A model file from elsewhere is checked before Keras extracts anything (:func:`check_model_file`): the
zip's members must declare at most the ``model_bytes`` limit in all (``CNNKIT_MAX_MODEL_BYTES``, 4 GiB;
see ``cnnkit.limits()``) with a believable compression ratio, the HDF5 weights inside must declare
at most as much, and so must the variables the model's config would create. Weights files
(``backbone(weights=<file>)``) get the same HDF5 check (:func:`check_weights_file`).
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Sequence

import keras

from . import _arg_checks as v
from . import _keras_classes, contract, keras_compat
from ._context import caller, otherwise, public
from ._data_checks import check_class_names
from ._files import atomic_path, check_file_target
from .limits import limit, too_many

META = "cnnkit.json"
CONFIG, WEIGHTS = "config.json", ("model.weights.h5", "model.weights.npz")
MAX_CONFIG_BYTES = 64 << 20   # config.json: the largest keras.applications configs are about 1 MB
MAX_MEMBERS = 10_000          # files inside one .keras zip (Keras writes 3 or 4)
MAX_RATIO, RATIO_FLOOR = 100, 1 << 20      # zip members: Keras stores them uncompressed (ratio 1)
MAX_H5_RATIO, H5_RATIO_FLOOR = 1000, 64 << 20  # HDF5 datasets: declared bytes per stored byte
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def class_names_of(model: Any) -> list[str] | None:
    """The class names attached to ``model`` by :func:`load_model` or :func:`save_model`, if any."""
    names = getattr(model, "_cnnkit_class_names", None)
    return list(names) if names else None


def _attach(model: Any, class_names: Sequence[str] | None) -> None:
    # object.__setattr__: keep Keras' attribute tracking away from a plain tuple of strings
    object.__setattr__(model, "_cnnkit_class_names", tuple(str(c) for c in class_names) if class_names else None)


@public
def save_model(model: keras.Model, file: str | os.PathLike, class_names: Sequence[str] | None = None) -> str:
    """Save ``model`` to a ``.keras`` file, complete or not at all.

    The file is written under a temporary name in the same folder and renamed when complete, so an
    error (or a kill) never leaves a half-written model under ``file``.

    Args:
        model: a Keras model.
        file: the path, ending in ``.keras``; its folder is created if needed.
        class_names: class names stored with the model (default: those already attached to it): one
            distinct string per class the model predicts, in class-id order (a 1-unit sigmoid output
            predicts 2 classes: the names of class 0 and class 1).

    Returns:
        The path written, as a string.

    Example:
        >>> save_model(simple_cnn(), "cnn.keras", class_names=["cat", "dog"])
        'cnn.keras'
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be a Keras model, got {type(model).__name__}.")
    path = check_file_target(file, "file", (".keras",))
    if class_names is not None:
        _attach(model, check_class_names(model, class_names, "class_names"))
    meta = {"class_names": class_names_of(model), "input": contract.input_contract(model)}
    meta = {k: value for k, value in meta.items() if value}
    with atomic_path(path) as tmp:
        model.save(tmp)
        if meta:
            with zipfile.ZipFile(tmp, "a") as z:
                z.writestr(META, json.dumps(meta))
    return str(path)


class ModelFileError(ValueError):
    """A model or weights file refused before Keras reads it (the message names the argument)."""


def _h5_declared_bytes(source: Any, where: str) -> int:
    """Bytes that the datasets of an HDF5 file declare (shape x item size), summed; refuses datasets
    that declare far more than they store (a fill-value or compression bomb)."""
    import h5py

    total, bombs = 0, []

    def visit(name: str, obj: Any) -> None:
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            declared = math.prod(obj.shape or ()) * obj.dtype.itemsize
            total += declared
            if declared > H5_RATIO_FLOOR and declared > MAX_H5_RATIO * max(obj.id.get_storage_size(), 1):
                bombs.append((name, declared, obj.id.get_storage_size()))

    try:
        with h5py.File(source, "r") as f:
            f.visititems(visit)
    except Exception as e:  # noqa: BLE001 - h5py raises OSError, KeyError, RuntimeError ... on damage
        raise ModelFileError(f"{caller()}(): {where} holds damaged HDF5 weights ({e.__class__.__name__}: {e}).") from None
    if bombs:
        name, declared, stored = bombs[0]
        raise ModelFileError(f"{caller()}(): {where} is refused: its HDF5 dataset {name!r} declares {declared:,} bytes "
                             f"but stores {stored:,} (a decompression bomb, not saved weights).")
    if total > limit("model_bytes"):
        raise ModelFileError(f"{caller()}(): {where} is refused: its weights declare {total:,} bytes, more than "
                             f"{too_many('model_bytes')}.")
    return total


def check_weights_file(path: Any, arg: str = "weights") -> Path:
    """Check a Keras weights file (``.weights.h5`` or Keras' legacy ``.h5``) before Keras reads it.

    It must be a regular file, an HDF5 file (by its signature, not its name) whose datasets declare
    at most the ``model_bytes`` limit (``CNNKIT_MAX_MODEL_BYTES``) and store a believable share of
    it. Raises a ``ValueError`` naming the public function called and ``arg``; returns the path.
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    where = f"`{arg}` file {str(p)!r}"
    if not p.is_file():
        raise ModelFileError(f"{caller()}(): {where} " + ("is a folder" if p.is_dir() else "does not exist") +
                             ". Pass None, \"imagenet\" or the path of a weights file (.weights.h5 from "
                             "model.save_weights(), or Keras' .h5 files).")
    with open(p, "rb") as f:
        head = f.read(4096 + 8)
    if not any(head[i:i + 8] == HDF5_SIGNATURE for i in (0, 512, 1024, 2048, 4096)):  # after a user block
        raise ModelFileError(f"{caller()}(): {where} is not an HDF5 weights file (empty, truncated at the start, or "
                             "another format with a weights name). Save weights with model.save_weights('x.weights.h5').")
    if p.stat().st_size > limit("model_bytes"):
        raise ModelFileError(f"{caller()}(): {where} is {p.stat().st_size:,} bytes, more than {too_many('model_bytes')}.")
    _h5_declared_bytes(str(p), where)
    return p


def _config_variable_bytes(config: Any, safe_mode: bool) -> int:
    """Bytes of the variables that building ``config`` would allocate, counted without allocating
    them: built in a Keras ``StatelessScope`` that defers variable initialisation, then discarded."""
    deferred = keras_compat.deferred_variables()
    if deferred is None:  # another Keras: skip this count (the zip and HDF5 checks still apply)
        return 0
    get_deferred, set_deferred = deferred
    before = get_deferred()
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(dict(config, compile_config=None), safe_mode=safe_mode)
        return sum(math.prod(v.shape) * _itemsize(v.dtype) for v in getattr(model, "variables", []))
    finally:  # forget the uninitialised variables, or Keras would allocate them at the next scope exit
        set_deferred(before)


def _itemsize(dtype: Any) -> int:
    import numpy as np

    name = keras.backend.standardize_dtype(dtype)
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


@otherwise("load_model")
def check_model_file(path: Any, arg: str = "file", safe_mode: bool = True) -> None:
    """Check a ``.keras`` file before Keras extracts anything from it; raise a ``ValueError`` naming
    ``arg`` if it is not a Keras model or would take more than the ``model_bytes`` limit.

    In order: a zip (not truncated, not another format), with ``config.json`` and weights; members'
    declared sizes summing to at most the limit, none compressed more than 100:1 (Keras stores
    them uncompressed); a ``config.json`` of at most 64 MB that is JSON; HDF5 weights declaring at
    most the limit; and a config whose variables would take at most the limit (counted without
    allocating them). Unknown layer classes and, in safe mode, Python code in the config are
    refused here too.
    """
    p = Path(path)
    where = f"`{arg}` {str(p)!r}"
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ModelFileError(f"{caller()}(): {where} is not a .keras model file (corrupt, truncated or another format: "
                             f"{e}). Save models with save_model(model, 'name.keras').") from None
    with z:
        infos = z.infolist()
        names = {i.filename for i in infos}
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"{caller()}(): {where} is refused: it holds {len(infos):,} files; a Keras model holds 3 or 4.")
        if CONFIG not in names or not names & set(WEIGHTS):
            raise ModelFileError(f"{caller()}(): {where} is a zip file but not a Keras model (no {CONFIG} and "
                                 f"{WEIGHTS[0]} inside; it holds {sorted(names)[:5]}).")
        total = sum(i.file_size for i in infos)
        if total > limit("model_bytes"):
            raise ModelFileError(f"{caller()}(): {where} is refused: its files would decompress to {total:,} bytes, "
                                 f"more than {too_many('model_bytes')}.")
        for i in infos:
            if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise ModelFileError(
                    f"{caller()}(): {where} is refused: its member {i.filename!r} would decompress from "
                    f"{i.compress_size:,} to {i.file_size:,} bytes (more than {MAX_RATIO}:1; Keras stores "
                    "its files uncompressed): a zip bomb, not a saved model.")
        if z.getinfo(CONFIG).file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{caller()}(): {where} is refused: its {CONFIG} is {z.getinfo(CONFIG).file_size:,} "
                                 f"bytes; Keras configs are well under {MAX_CONFIG_BYTES >> 20} MB.")
        try:
            config = json.loads(z.read(CONFIG))
        except (ValueError, zipfile.BadZipFile, OSError, EOFError) as e:
            raise ModelFileError(f"{caller()}(): {where} is damaged: its {CONFIG} could not be read "
                                 f"({e.__class__.__name__}: {e}).") from None
        if not isinstance(config, dict):
            raise ModelFileError(f"{caller()}(): {where} is damaged: its {CONFIG} is not a Keras config.")
        if WEIGHTS[0] in names:
            with z.open(WEIGHTS[0]) as member:
                _h5_declared_bytes(member, where)
    need = _config_variable_bytes(config, safe_mode)
    if need > limit("model_bytes"):
        raise ModelFileError(f"{caller()}(): {where} is refused: its config builds variables of {need:,} bytes, more "
                             f"than {too_many('model_bytes')}.")


def unknown_classes(config: Any) -> list[tuple[str, str]]:
    """``(module, registered name)`` of the classes in a model config that this process cannot resolve:
    neither Keras' own (a ``keras`` module) nor registered with Keras (``register_keras_serializable``)."""
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            module, name = node.get("module"), node.get("class_name")
            if isinstance(module, str) and isinstance(name, str) and module != "builtins" \
                    and not (module == "keras" or module.startswith("keras.")):
                registered = node.get("registered_name") or name
                if keras.saving.get_registered_object(registered) is None and (module, registered) not in found:
                    found.append((module, registered))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def _unknown_class_error(path: Path, text: str) -> ValueError:
    """The error for a file naming classes this process does not know: which, and where they live."""
    where = f"`file` {str(path)!r}"
    try:
        with zipfile.ZipFile(path) as z:
            missing = unknown_classes(json.loads(z.read(CONFIG)))
    except Exception:  # noqa: BLE001 - the config was read once already; if not now, say what Keras said
        missing = []
    if not missing:
        return ValueError(f"{caller()}(): {where} refers to a class Keras does not know ({text}). It was saved "
                          "with a custom layer or a newer Keras; load it where that class is defined.")
    named = ", ".join(f"{name!r} (from Python module {module!r})" for module, name in missing[:5])
    module = missing[0][0]
    return ValueError(
        f"{caller()}(): {where} uses Keras class(es) that this process does not know: {named}. Import the module "
        f"that defines and registers them before loading (Python: `import {module}`; R: "
        f"`reticulate::import(\"{module}\")`), or load it where that code is installed.")


def _load_error(e: Exception, path: Path) -> ValueError:
    """A clear ValueError naming `file` for whatever Keras (or h5py, TensorFlow) raised."""
    where = f"`file` {str(path)!r}"
    text = str(e).strip().splitlines()[0][:300] if str(e).strip() else e.__class__.__name__
    if isinstance(e, ValueError) and "safe_mode" in str(e):
        return ValueError(f"{caller()}(): {where} contains Python code (e.g. a Lambda layer), which Keras' safe "
                          "mode refuses to load. Only if you trust the file, pass safe_mode=False.")
    if re.search(r"could not (locate|deserialize)|unknown (layer|class|object)|not a KerasSaveable", str(e), re.I):
        return _unknown_class_error(path, text)
    if isinstance(e, MemoryError) or e.__class__.__name__ == "ResourceExhaustedError":
        return ValueError(f"{caller()}(): {where} needs more memory than is available ({text}).")
    if isinstance(e, ValueError):
        return ValueError(f"{caller()}(): {where} could not be loaded as a Keras model: {text}")
    return ValueError(f"{caller()}(): {where} is damaged and could not be loaded ({e.__class__.__name__}: {text}).")


@public
def load_model(file: str | os.PathLike, safe_mode: bool = True, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` model in Keras' safe mode (no arbitrary Python code is run).

    The file is checked before Keras extracts anything (:func:`check_model_file`): a truncated or
    corrupt file, a zip that is not a Keras model, a zip bomb, weights or a config declaring more
    than the ``model_bytes`` limit (``CNNKIT_MAX_MODEL_BYTES``, 4 GiB), or a config naming a layer
    class Keras does not know are each a ``ValueError`` naming ``file``.

    Args:
        file: the ``.keras`` file.
        safe_mode: keep Keras' safe mode on. A model with a ``Lambda`` layer holds Python code and
            is refused; pass ``False`` only for a file you trust.
        compile: restore the optimizer and loss as saved.

    Returns:
        The model, with its class names attached if :func:`save_model` stored them.

    Example:
        >>> model = load_model(save_model(simple_cnn(), "cnn.keras", class_names=["cat", "dog"]))
        >>> class_names_of(model)   # e.g. load_model("runs/<timestamp>/model.keras") after cnnkit train
        ['cat', 'dog']
    """

    safe_mode = v.flag(safe_mode, "safe_mode")
    compile = v.flag(compile, "compile")
    if not isinstance(file, (str, os.PathLike)):
        raise TypeError(f"{caller()}(): `file` must be a path to a .keras file, got {type(file).__name__}.")
    path = Path(file).expanduser()
    if path.is_dir():
        raise ValueError(f"{caller()}(): `file` {str(path)!r} is a folder; pass a .keras file.")
    if not path.is_file():
        raise ValueError(f"{caller()}(): `file` {str(path)!r} " + ("is not a regular file." if os.path.lexists(path)
                                                          else "does not exist."))
    if path.suffix != ".keras":
        raise ValueError(f"{caller()}(): `file` {str(path)!r} is not a .keras model file (its name must end in .keras). "
                         "Save models with save_model(model, 'name.keras').")
    _keras_classes.register()  # cnnkit's own layers (transfer models' preprocessing), in any process
    try:
        check_model_file(path, "file", bool(safe_mode))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model = keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
        meta = _stored_meta(path)
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - a file from elsewhere: whatever fails, say which file and why
        raise _load_error(e, path) from None
    _attach(model, meta.get("class_names"))
    contract.attach(model, meta.get("input"))
    return model


def _stored_meta(path: Path) -> dict[str, Any]:
    """What save_model() stored beside the model: ``class_names`` and the ``input`` contract, checked."""
    with zipfile.ZipFile(path) as z:
        if META not in z.namelist() or z.getinfo(META).file_size > MAX_CONFIG_BYTES:
            return {}
        meta = json.loads(z.read(META))
    meta = meta if isinstance(meta, dict) else {}
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(c, str) for c in names)):
        raise ValueError(f"cnnkit.json holds class names that are not a list of strings: {names!r}")
    given = meta.get("input")
    value_range = given.get("value_range") if isinstance(given, dict) else None
    if given is not None and not (isinstance(value_range, list) and len(value_range) == 2 and
                                  all(isinstance(x, (int, float)) for x in value_range)):
        raise ValueError(f"cnnkit.json holds an input contract without a value range [low, high]: {given!r}")
    return meta
