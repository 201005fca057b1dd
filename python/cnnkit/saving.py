"""Save and load models as ``.keras`` files: atomically, with class names, in Keras' safe mode.

The ``.keras`` file is Keras' own zip; cnnkit adds one member, ``cnnkit.json``, holding the class
names, so ``predict_classes()`` on a loaded model prints names without extra files. Keras ignores the
member, so the file loads anywhere with ``keras.saving.load_model()``.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, Sequence

import keras

from ._files import atomic_path, check_file_target

META = "cnnkit.json"


def class_names_of(model: Any) -> list[str] | None:
    """The class names attached to ``model`` by :func:`load_model` or :func:`save_model`, if any."""
    names = getattr(model, "_cnnkit_class_names", None)
    return list(names) if names else None


def _attach(model: Any, class_names: Sequence[str] | None) -> None:
    # object.__setattr__: keep Keras' attribute tracking away from a plain tuple of strings
    object.__setattr__(model, "_cnnkit_class_names", tuple(str(c) for c in class_names) if class_names else None)


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
        >>> save_model(simple_cnn(), "cnn.keras")  # doctest: +SKIP
        'cnn.keras'
    """
    fn = "save_model"
    if not isinstance(model, keras.Model):
        raise TypeError(f"{fn}(): `model` must be a Keras model, got {type(model).__name__}.")
    path = check_file_target(file, "file", fn, (".keras",))
    if class_names is not None:
        from ._checks import check_class_names

        _attach(model, check_class_names(model, class_names, "class_names", fn))
    names = class_names_of(model)
    with atomic_path(path) as tmp:
        model.save(tmp)
        if names:
            with zipfile.ZipFile(tmp, "a") as z:
                z.writestr(META, json.dumps({"class_names": names}))
    return str(path)


def load_model(file: str | os.PathLike, safe_mode: bool = True, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` model in Keras' safe mode (no arbitrary Python code is run).

    Args:
        file: the ``.keras`` file.
        safe_mode: keep Keras' safe mode on. A model with a ``Lambda`` layer holds Python code and
            is refused; pass ``False`` only for a file you trust.
        compile: restore the optimizer and loss as saved.

    Returns:
        The model, with its class names attached if :func:`save_model` stored them.

    Example:
        >>> model = load_model("runs/2025-01-01_120000/model.keras")  # doctest: +SKIP
    """
    fn = "load_model"
    from . import _validate as v

    safe_mode = v.flag(safe_mode, "safe_mode", fn)
    compile = v.flag(compile, "compile", fn)
    if not isinstance(file, (str, os.PathLike)):
        raise TypeError(f"{fn}(): `file` must be a path to a .keras file, got {type(file).__name__}.")
    path = Path(file).expanduser()
    if not path.is_file():
        raise ValueError(f"{fn}(): `file` {str(path)!r} does not exist.")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ValueError(f"{fn}(): `file` {str(path)!r} is not a .keras model file (corrupt, truncated or "
                         "another format). Save models with save_model(model, 'name.keras').")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model = keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
    except ValueError as e:
        if "safe_mode" in str(e):
            raise ValueError(
                f"{fn}(): `file` {str(path)!r} contains Python code (e.g. a Lambda layer), which Keras' safe "
                "mode refuses to load. Only if you trust the file, pass safe_mode=False.") from None
        raise ValueError(f"{fn}(): `file` {str(path)!r} could not be loaded as a Keras model: {e}") from None
    except (OSError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise ValueError(f"{fn}(): `file` {str(path)!r} is damaged and could not be loaded "
                         f"({e.__class__.__name__}: {e}).") from None
    with zipfile.ZipFile(path) as z:
        if META in z.namelist():
            _attach(model, json.loads(z.read(META)).get("class_names"))
    return model
