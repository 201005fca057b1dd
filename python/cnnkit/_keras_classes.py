"""cnnkit's own Keras classes, registered with Keras in every process that imports cnnkit.

A model file names each layer's class; Keras finds a class of cnnkit's by the name it was registered
under (``cnnkit>BackbonePreprocessing``), and a class is registered when the module defining it is
imported. ``import cnnkit`` does not import Keras (``cnnkit --help`` answers at once), so it arranges
for :data:`CLASS_MODULES` to be imported as soon as Keras is: at once where Keras is already loaded,
otherwise right after Keras' own import (a one-shot import hook, :func:`install`). So every model
cnnkit saves loads in any process that has imported cnnkit -- ``cnnkit.load_model()``, Keras' own
``keras.saving.load_model()``, R's ``load_model()``, ``cnnkit predict`` -- and not only in the
process that built it. A process that never imports cnnkit does not know these classes (Keras says
``Could not locate class 'BackbonePreprocessing'``); :func:`cnnkit.load_model` names the fix.

The classes (one list, checked by ``tests/python/test_reload.py`` against what the modules define):

- ``cnnkit.preprocessing.BackbonePreprocessing``: a backbone's input scaling, in transfer models;
- ``cnnkit.augment.RandomShear``: Keras' ``RandomShear`` whose saved config loads again (Keras 3.15
  saves ``x_factor=[-0.1, 0.1]`` and then refuses it: "should be a number ... in the range [0, 1.0]");
- ``cnnkit.losses.SparseCategoricalCrossentropy``: cross-entropy of class ids with label smoothing, in
  the compile settings of a model trained with ``label_smoothing``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import warnings
from typing import Any

from ._quiet import wrapped_spec

CLASS_MODULES = ("preprocessing", "augment", "losses")
PACKAGE = "cnnkit"  # the ``package`` of every ``register_keras_serializable`` call


def register() -> None:
    """Import the modules that define cnnkit's Keras classes (which registers them); idempotent."""
    for name in CLASS_MODULES:
        importlib.import_module(f"{__package__}.{name}")


class _RegisterAfter(importlib.abc.Loader):
    """Runs Keras' own loader, then :func:`register`."""

    def __init__(self, loader: Any):
        self.loader = loader

    def create_module(self, spec):  # noqa: D102
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: D102
        module.__spec__.loader = module.__loader__ = self.loader  # introspection sees the real loader
        self.loader.exec_module(module)
        try:
            register()
        except Exception as e:  # noqa: BLE001 - `import keras` itself must never fail because of cnnkit
            warnings.warn(f"cnnkit could not register its Keras layers ({e.__class__.__name__}: {e}); models "
                          "saved by cnnkit will not load in this process until `import cnnkit.preprocessing` "
                          "works.", RuntimeWarning, stacklevel=2)


class _KerasFinder(importlib.abc.MetaPathFinder):
    """The first ``import keras`` (from anywhere) registers cnnkit's classes once Keras is loaded."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if fullname != "keras":
            return None
        uninstall()
        return wrapped_spec(fullname, path, target, _RegisterAfter)  # cnnkit's quiet-import finder among the others


_HOOK = _KerasFinder()


def install() -> None:
    """Register cnnkit's Keras classes now if Keras is loaded, else as soon as it is (idempotent)."""
    keras = sys.modules.get("keras")
    if keras is not None and getattr(getattr(keras, "__spec__", None), "_initializing", False) is False:
        register()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)


def uninstall() -> None:
    """Take the import hook out again (done by the hook itself once Keras is being imported)."""
    while _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)
