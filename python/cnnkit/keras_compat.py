"""Every touch of a private Keras or TensorFlow name, in one place, checked when cnnkit starts.

cnnkit uses Keras' public API everywhere else. Where it needs more -- a model's nested layers in
order, an epoch Keras keeps on the model, a layer's call replaced for the length of a ``with`` block,
Keras' multi-worker step -- it goes through the functions of this module, and only these touch
names Keras does not promise to keep. :data:`PRIVATE` lists each name: who uses it, how its presence
(and the signature relied on) is checked, and what cnnkit does without it. The check runs when this
module is first imported (:func:`missing`); a name that is gone gives one warning naming it and the
plain-Keras fallback, and the feature falls back instead of failing in the middle of a run.

Tested with (``tests/python/test_keras_compat.py`` runs the check and each fallback):

=======  ==========  ==========
Keras    TensorFlow  date
=======  ==========  ==========
3.15.1   2.21.0      2026-12-07
=======  ==========  ==========

``python/pyproject.toml`` bounds both below the next minor (``keras<3.16``, ``tensorflow<2.22``): when
a new minor passes the test suite, add it to the table (and :data:`TESTED`) and move the bounds.

Example:
    >>> missing()
    []
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import types
import warnings
from typing import Any, Callable, Iterator

import keras

TESTED = {"keras": ("3.15",), "tensorflow": ("2.21",)}


@dataclasses.dataclass(frozen=True)
class Private:
    """One private name cnnkit relies on."""

    name: str                      # as the code uses it
    used_by: str                   # the cnnkit feature
    without: str                   # what cnnkit does where it is missing
    probe: Callable[[], bool]      # True where it exists with what cnnkit relies on


def _source_has(obj: Callable[[], Any], *needles: str) -> bool:
    try:
        text = inspect.getsource(obj())
    except (AttributeError, ImportError, OSError, TypeError):
        return False
    return all(n in text for n in needles)


def _params(obj: Callable[[], Any], *names: str) -> bool:
    try:
        params = inspect.signature(obj()).parameters
    except (AttributeError, ImportError, TypeError, ValueError):
        return False
    return all(n in params for n in names)


def _tf_trainer() -> Any:
    from keras.src.backend.tensorflow import trainer

    return trainer


def _global_state() -> Any:
    from keras.src.backend.common import global_state

    return global_state


def _strategy_extended() -> Any:
    import tensorflow as tf

    return tf.distribute.StrategyExtended


def _variables() -> Any:
    from keras.src.backend.common import variables

    return variables


def _tree() -> Any:
    from keras.src import tree

    return tree


PRIVATE: tuple[Private, ...] = (
    Private("Layer._flatten_layers(include_self, recursive)",
            "walking a model's layers, nested models opened (freeze, fused BatchNormalization, feature cache)",
            "a walk over the public `layers` attribute (the same layers in the same order, but for the "
            "InputLayer of a nested Sequential)",
            lambda: _params(lambda: keras.layers.Layer._flatten_layers, "include_self", "recursive")),
    Private("Model._initial_epoch (read by TensorFlowTrainer.fit)",
            "resuming a run: the epoch BackupAndRestore restored is cleared after fit(), and shared by "
            "multi-worker training",
            "not cleared: a later fit() of the same model object may start from the restored epoch",
            lambda: _source_has(lambda: _tf_trainer().TensorFlowTrainer.fit, "_initial_epoch")),
    Private("Layer._call_context_args",
            "a frozen backbone called with training=False stays in inference mode while the head trains",
            "Keras' own rule: the outer training=True reaches the backbone (its dropout is active)",
            lambda: _source_has(lambda: keras.layers.Layer.__call__, "_call_context_args")),
    Private("Trainer._compile_config, _compile_loss, _compile_metrics, _loss_tracker",
            "lr_find(): the model's compiled state put back as it was",
            "the model is compiled again from its optimizer, loss and metrics",
            lambda: _source_has(lambda: keras.Model.compile, "_compile_config", "_compile_loss", "_loss_tracker")),
    Private("keras.src.backend.common.global_state ('uninitialized_variables')",
            "load_model(): the variables a config would create, counted before anything is allocated",
            "that count is skipped (the zip and HDF5 checks still apply)",
            lambda: hasattr(_global_state(), "get_global_attribute")
            and _source_has(_variables, "uninitialized_variables")),
    Private("keras.src.backend.tensorflow.trainer.reduce_per_replica(values, strategy, reduction), "
            "_collective_all_reduce_multi_worker, _is_per_replica_instance; Trainer._maybe_symbolic_build, "
            "_symbolic_build; Model._distribute_strategy; keras.src.tree",
            "training with a multi-worker strategy (MultiWorkerMirroredStrategy)",
            "Keras' own multi-worker step, unpatched (Keras 3.15's fails there: metrics reduced over a "
            "missing axis)",
            lambda: _params(lambda: _tf_trainer().reduce_per_replica, "values", "strategy", "reduction")
            and hasattr(_tf_trainer(), "_collective_all_reduce_multi_worker")
            and hasattr(_tf_trainer(), "_is_per_replica_instance")
            and _params(lambda: keras.Model._symbolic_build, "data_batch")
            and hasattr(_tf_trainer().TensorFlowTrainer, "_maybe_symbolic_build")
            and hasattr(_tree(), "map_structure")),
    Private("tf.distribute StrategyExtended._in_multi_worker_mode()",
            "telling a multi-worker strategy from a one-process one (who is chief, who writes the run directory)",
            "counted from the strategy's public cluster_resolver",
            lambda: callable(getattr(_strategy_extended(), "_in_multi_worker_mode", None))),
)


@functools.lru_cache(maxsize=1)
def missing() -> list[str]:
    """The names of :data:`PRIVATE` that this Keras lacks (checked once; a warning for each)."""
    gone = []
    for p in PRIVATE:
        try:
            ok = bool(p.probe())
        except Exception:  # noqa: BLE001 - any failure of a probe means "not as cnnkit knows it"
            ok = False
        if not ok:
            gone.append(p.name)
            warnings.warn(f"cnnkit: Keras {keras.__version__} lacks {p.name}, which cnnkit uses for {p.used_by}. "
                          f"cnnkit falls back: {p.without}. (Tested with Keras {', '.join(TESTED['keras'])}; see "
                          "cnnkit.keras_compat.)", RuntimeWarning, stacklevel=2)
    return gone


def available(name_start: str) -> bool:
    """Whether the private name of :data:`PRIVATE` starting with ``name_start`` is there."""
    return not any(n.startswith(name_start) for n in missing())


# --- the touches ---------------------------------------------------------------------------------

def flatten_layers(model: Any) -> list[Any]:
    """Every layer under ``model`` (nested models and their layers, depth first), ``model`` left out."""
    if available("Layer._flatten_layers"):
        return list(model._flatten_layers(include_self=False, recursive=True))
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if getattr(layer, "layers", None):
            out.extend(flatten_layers(layer))
    return out


def initial_epoch(model: Any) -> int | None:
    """The epoch Keras' BackupAndRestore restored onto ``model`` (``None``: none)."""
    return getattr(model, "_initial_epoch", None) if available("Model._initial_epoch") else None


def set_initial_epoch(model: Any, epoch: int | None) -> None:
    """Set (``None``: clear) the epoch Keras' ``fit()`` starts from instead of its ``initial_epoch``."""
    if available("Model._initial_epoch"):
        model._initial_epoch = epoch


def call_context_args(layer: Any) -> set[str]:
    """The call arguments Keras passes from an outer call into ``layer`` (``{"training"}`` by default)."""
    return set(getattr(layer, "_call_context_args", {"training"})) if available("Layer._call_context_args") \
        else {"training"}


def take_training_from_own_call(layer: Any) -> None:
    """Make ``layer`` take ``training`` from its own call only, not from the model around it."""
    if available("Layer._call_context_args"):
        layer._call_context_args = set()


@contextlib.contextmanager
def replaced_call(layer: Any, call: Callable[..., Any]) -> Iterator[None]:
    """``layer.call`` is ``call`` inside the ``with`` block (an instance attribute Keras' ``__call__``
    finds first), and what it was afterwards, also when the block raises."""
    own = vars(layer).get("call")
    object.__setattr__(layer, "call", call)
    try:
        yield
    finally:
        if own is None:
            vars(layer).pop("call", None)
        else:
            object.__setattr__(layer, "call", own)


def has_replaced_call(layer: Any) -> bool:
    """Whether ``layer.call`` is replaced on the instance (by :func:`replaced_call`, or by its owner)."""
    return "call" in vars(layer)


def compiled_state(model: Any) -> Callable[[], None]:
    """A function that puts ``model``'s compiled state back as it is now (the same optimizer object),
    or leaves it uncompiled as Keras' Trainer does before ``compile()``."""
    compiled = bool(getattr(model, "compiled", False))
    private = available("Trainer._compile_config")
    config = dict(getattr(getattr(model, "_compile_config", None), "config", {}) or {}) if compiled and private \
        else {"optimizer": getattr(model, "optimizer", None), "loss": getattr(model, "loss", None),
              "metrics": ["accuracy"]} if compiled else None

    def restore() -> None:
        if config is not None:  # compiled
            model.compile(**config)
            return
        model.compiled = False
        model.optimizer = None
        model.loss = None
        if private:
            model._compile_loss = model._compile_metrics = model._loss_tracker = None
        model.train_function = model.test_function = model.predict_function = None
    return restore


def deferred_variables() -> Any:
    """Keras' global list of variables whose initialisation a ``StatelessScope`` deferred, as a pair of
    functions ``(get, set)``; ``None`` where this Keras keeps no such list."""
    if not available("keras.src.backend.common.global_state"):
        return None
    state = _global_state()
    return (lambda: list(state.get_global_attribute("uninitialized_variables", None) or []),
            lambda value: state.set_global_attribute("uninitialized_variables", value))


def in_multi_worker_mode(strategy: Any) -> bool:
    """Whether a ``tf.distribute`` strategy spans several worker processes."""
    extended = getattr(strategy, "extended", None)
    if available("StrategyExtended._in_multi_worker_mode"):
        return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())
    resolver = getattr(strategy, "cluster_resolver", None)  # public, where the private check is gone
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return sum(len(spec.get(t, [])) for t in ("chief", "worker")) > 1


def _local_symbolic_build(model: Any, iterator: Any = None, data_batch: Any = None) -> None:
    """Keras' ``_maybe_symbolic_build`` with a local batch: the original reduces the distributed batch
    across workers (one structure at once, which the collective strategy cannot) only to learn shapes."""
    import tensorflow as tf

    if model._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, it in iterator:
            batch = next(it)
            data_batch = _tree().map_structure(
                lambda x: model.distribute_strategy.experimental_local_results(x)[0]
                if isinstance(x, tf.distribute.DistributedValues) else x, batch)
            break
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=data_batch)


@contextlib.contextmanager
def multi_worker_fixes(model: Any) -> Iterator[None]:
    """For one ``fit()`` of ``model`` under a multi-worker strategy: Keras' symbolic build with a local
    batch, and its per-step metric reduction averaging scalars across workers (``axis=None``; Keras
    asks for ``axis=0``, which scalars do not have). Keras 3 (up to at least 3.15) cannot ``fit()``
    there otherwise (keras-team/keras#20585). Both restored afterwards; where the names are gone
    (:data:`PRIVATE`), Keras' own step runs unpatched."""
    if not available("keras.src.backend.tensorflow.trainer.reduce_per_replica"):
        yield
        return
    tree, trainer = _tree(), _tf_trainer()
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            def mean(x):
                local = strategy.experimental_local_results(x) if trainer._is_per_replica_instance(x) else (x,)
                return strategy.reduce("MEAN", x, axis=0 if local[0].shape.rank else None)
            return tree.map_structure(mean, values)
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica
    model._maybe_symbolic_build = types.MethodType(_local_symbolic_build, model)
    try:
        yield
    finally:
        trainer.reduce_per_replica = original
        model.__dict__.pop("_maybe_symbolic_build", None)
