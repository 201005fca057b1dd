"""Feature extraction, computed once: a frozen backbone gives the same features every epoch.

In the slides' feature extraction (``transfer_model(mode="feature_extraction")``, or ``fine_tune()``'s
head phase) the backbone is frozen and runs in inference mode, so every epoch recomputes exactly the
same features -- nearly the whole cost of transfer learning on a CPU. :func:`fit_classifier`
(``cache_features="auto"``) therefore splits such a model where its frozen part ends, computes the
frozen part's output once for the training (and validation) images, and trains the rest (the head,
sharing its layers and weights with the model) on those features. It does so only when that gives
the same training:

- everything before the split has no trainable weights, and no random layer (dropout, noise,
  in-model augmentation) or BatchNormalization that would run in training mode (inside a backbone
  called with ``training=False``, as cnnkit's transfer models call it, they run in inference mode);
- the head depends on the split alone (no connection around it);
- the images are the same every epoch: arrays, or an :func:`image_folder` dataset (whose order still
  changes every epoch); not :func:`augmented_dataset` or other datasets;
- no distribution strategy, and the features fit in ``feature_cache`` (see ``cnnkit.limits()``).

Your callbacks still see the whole model. A line says when the features are cached; pass
``cache_features=False`` to train the whole model every epoch instead.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from typing import Any, Sequence

import keras
import numpy as np

from ._context import caller
from ._data_checks import is_dataset
from ._execution import predictor
from ._model_info import leaf_layers
from .keras_compat import call_context_args, flatten_layers
from .limits import limit
from .precision import resolve_precision


def _random(layer: keras.layers.Layer) -> bool:
    """A layer that draws random numbers (dropout, noise, random augmentation): it owns a seed generator."""
    return any(isinstance(x, keras.random.SeedGenerator) for x in vars(layer).values())


def _frozen(layer: keras.layers.Layer, node: Any = None) -> bool:
    """Same output every call: no trainable weights and nothing random or updating inside -- or,
    for a backbone in inference mode (:func:`transfer.inference_mode`, called with
    ``training=False``), no trainable weights: its dropout and BatchNormalization never train."""

    if layer.trainable_weights:
        return False
    if "training" not in call_context_args(layer) and node is not None \
            and getattr(node, "arguments", None) is not None and node.arguments.kwargs.get("training") is False:
        return True
    leaves = leaf_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return not any(_random(x) or (isinstance(x, keras.layers.BatchNormalization) and x.trainable)
                   for x in leaves)


_SPLITS: "weakref.WeakKeyDictionary[keras.Model, tuple]" = weakref.WeakKeyDictionary()


def split_frozen(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """``(frozen part, head)`` of a functional model whose layers, in order, start with a frozen part
    that holds weights and end with a head depending on its output alone; ``None`` if there is no such
    split. The head shares its layers (and weights) with ``model``. Made once per model and state of
    its layers (the frozen part's traced predictor is reused across calls)."""
    key = tuple(bool(layer.trainable) for layer in flatten_layers(model))
    if model in _SPLITS and _SPLITS[model][0] == key:
        return _SPLITS[model][1]
    parts = _split(model)
    _SPLITS[model] = (key, parts)
    return parts


def _split(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    nodes = [n for ns in getattr(model, "_nodes_by_depth", {}).values() for n in ns]
    layers = list(model.layers)
    if not nodes or len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    own = {id(layer): [n for n in nodes if n.operation is layer] for layer in layers}
    end = 0
    while end < len(layers) and len(own[id(layers[end])]) == 1 and _frozen(layers[end], own[id(layers[end])][0]):
        end += 1
    for i in range(end - 1, 0, -1):  # the latest split first: the most work done once
        prefix = layers[: i + 1]
        if not any(layer.weights for layer in prefix):
            return None
        node = own[id(layers[i])][0]
        if len(node.output_tensors) != 1:
            continue
        split = node.output_tensors[0]
        try:
            head = keras.Model(split, model.output, name=f"{model.name}_head")
        except (ValueError, TypeError):  # the head needs more than the split (a skip connection)
            continue
        if not head.trainable_weights:
            continue
        return keras.Model(model.input, split, name=f"{model.name}_frozen"), head
    return None


@dataclasses.dataclass
class Cached:
    """The head to train and its inputs: the frozen part's features."""

    head: keras.Model
    data: Any
    validation_data: Any
    seconds: float
    images: int


def _features(frozen: keras.Model, data: Any, batch_size: int, policy: str) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    f = predictor(frozen, policy)
    if is_dataset(data):
        xs, ys = [], []
        for x, y, *_ in data:
            xs.append(np.asarray(tf.cast(f(tf.cast(x, tf.float32)), tf.float32)))
            ys.append(np.asarray(y))
        return np.concatenate(xs), np.concatenate(ys)
    x, y = data
    out = [np.asarray(tf.cast(f(tf.constant(x[i:i + batch_size])), tf.float32)) for i in range(0, len(x), batch_size)]
    return np.concatenate(out), y


def _size(data: Any) -> int | None:
    if is_dataset(data):
        spec = data.element_spec[0]
        batches = int(data.cardinality())
        return None if batches < 0 else batches * int(spec.shape[0] or 32)
    return len(data[0])


def cache(model: keras.Model, data: Any, validation_data: Any, batch_size: int, precision: str, strategy: Any,
          setting: Any, announce: bool) -> Cached | None:
    """The head and the frozen part's features when caching is on (``setting``: ``"auto"`` or
    ``True``) and gives the same training (see the module notes); else ``None``."""

    if setting is False or strategy is not None:
        return None
    datasets = [d for d in (data, validation_data) if d is not None and is_dataset(d)]
    if any(not getattr(d, "fixed_images", False) for d in datasets):
        return None  # a dataset may augment or otherwise change its images from one epoch to the next
    parts = split_frozen(model)
    if parts is None:
        return None
    frozen, head = parts
    n = sum(_size(d) or 0 for d in (data, validation_data) if d is not None)
    need = n * int(np.prod(frozen.output.shape[1:])) * 4
    if need > limit("feature_cache"):
        if announce:
            print(f"{caller()}(): the frozen part's features would take {need / 2**30:.1f} GiB, more than the "
                  "feature_cache limit: training the whole model every epoch.")
        return None
    start = time.perf_counter()
    policy = resolve_precision(model, precision)  # the backbone's convolutions decide, not the small head
    train = _features(frozen, data, batch_size, policy)
    val = _features(frozen, validation_data, batch_size, policy) if validation_data is not None else None
    seconds = time.perf_counter() - start
    if announce:
        print(f"{caller()}(): the model's frozen part ({frozen.count_params():,} parameters) gives the same features "
              f"every epoch: computed once for {len(train[0]):,} training"
              f"{f' and {len(val[0]):,} validation' if val is not None else ''} images in {seconds:.1f} s; the "
              "head trains on them "
              "(cache_features=False: the whole model every epoch).", flush=True)
    return Cached(head, train, val, seconds, len(train[0]))


class WholeModel(keras.callbacks.Callback):
    """A user's callback, shown the whole model while its head trains on cached features: every hook
    is passed on, and a request to stop reaches the loop that trains the head."""

    def __init__(self, callback: keras.callbacks.Callback, model: keras.Model):
        super().__init__()
        self.callback, self.whole = callback, model
        callback.set_model(model)

    def set_model(self, model: keras.Model) -> None:
        self.trained = model  # the head; the callback keeps the whole model

    def set_params(self, params: dict) -> None:
        self.callback.set_params(params)

    def _forward(self, hook: str, *args: Any, **kwargs: Any) -> None:
        getattr(self.callback, hook)(*args, **kwargs)
        if getattr(self.whole, "stop_training", False):
            self.trained.stop_training = True


def _hook(name: str):
    return lambda self, *args, **kwargs: self._forward(name, *args, **kwargs)


for _name in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
              "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end"):
    setattr(WholeModel, _name, _hook(_name))


def for_whole_model(callbacks: Sequence[Any], model: keras.Model) -> list[Any]:
    return [WholeModel(cb, model) for cb in callbacks]
