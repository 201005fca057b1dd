"""Freezing and unfreezing layers of any Keras model, nested backbones included.

Layers are chosen by ``names``, a ``regex``, a ``block`` prefix (``"block5"`` selects
``block5_conv1`` ... ``block5_pool``), a ``start``/``stop`` range or a ``where`` predicate; several
selectors together select every layer that any of them selects. Ranges use Python's slice semantics
over the layers :func:`trainable_layers` lists (0-based, ``stop`` excluded, negatives count from
the end), so ``unfreeze(vgg16, start=-5, stop=-2)`` is ``vgg16.layers[-5:-2]``; a layer *name* as
``stop`` is included. (R's ``unfreeze(from =, to =)`` is 1-based with both ends included.)

Nested models (a backbone inside a transfer model) are expanded: the table and the selectors see
their layers. ``BatchNormalization`` layers stay frozen when unfreezing unless ``batchnorm=True``:
fine-tuning with batch statistics from small batches destroys pretrained features.

keras3's semantics: :func:`freeze_weights` and :func:`unfreeze_weights` do what the R package keras3's
functions of those names do, for code ported from keras3: the whole model when no selector is given;
otherwise the selected top-level layers of ``model.layers`` are frozen (unfrozen) and **every other
layer is made trainable (frozen)**, where :func:`freeze`/:func:`unfreeze` leave the layers outside
their selection as they were.

Recompiling: Keras trains the weights that were trainable when the model was compiled; changing
``trainable`` afterwards silently has no effect until the model is compiled again. So when the model
is compiled, :func:`freeze` and :func:`unfreeze` recompile it with the same optimizer settings (a
fresh optimizer of the same class and configuration: its moment estimates start anew), loss and
metrics (``recompile=True``, the default); with ``recompile=False``, or when that fails, they warn.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Iterable, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, otherwise, public, warn
from ._lang import code, in_r
from ._model_info import flat_layers  # the one walk over a model's layers (transfer, rundir import it from here)

Selector = Any


def _check_model(model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be a Keras model, got {type(model).__name__}.")
    return model


def _containers(model: keras.Model) -> list[keras.Model]:
    """Nested models, innermost first, then ``model`` itself."""
    out: list[keras.Model] = []

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.Model) and layer is not m:
                walk(layer)
        if not any(m is c for c in out):
            out.append(m)

    walk(model)
    return out


def _unknown(value: str, arg: str, known: Sequence[str]) -> ValueError:
    close = difflib.get_close_matches(value, list(known), n=3, cutoff=0.6)
    hint = f" Close names: {', '.join(close)}." if close else ""
    return ValueError(f"{caller()}(): `{arg}` {value!r} is not a layer of this model.{hint} "
                      "See trainable_layers(model) for the names.")


def _strings(value: Any, arg: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if not items or not all(isinstance(s, str) and s for s in items):
        raise TypeError(f"{caller()}(): `{arg}` must be a string or a list of strings, got {value!r}.")
    return items


def _position(value: Any, arg: str, names: list[str], is_stop: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in names:
            raise _unknown(value, arg, names)
        return names.index(value) + (1 if is_stop else 0)
    if isinstance(value, bool) or not v._is_intlike(value):
        raise TypeError(f"{caller()}(): `{arg}` must be a whole number (a 0-based position; negative counts "
                        f"from the end) or a layer name, got {value!r}.")
    return int(value)


def layer_range(names: list[str], start: int | str | None, stop: int | str | None) -> list[int]:
    """The 0-based positions in ``names`` that ``start``/``stop`` select, checked; names are resolved.

    From Python: slice semantics (``names[start:stop]``; a name as ``stop`` is included); a range
    that selects nothing is an error. From R (:func:`cnnkit._lang.in_r`): the bounds are the
    translation ``R/coerce.R``'s ``as_py_range()`` makes of R's ``from``/``to`` (1-based, negative
    counts from the end, both ends included: ``start`` 0-based, ``stop`` exclusive, ``None`` through
    the last layer), and errors speak of ``from``/``to`` in R's positions: out of range, ``from``
    after ``to``, an unknown name (with close names).

    Example:
        >>> layer_range(["a", "b", "c", "d"], -3, -1)
        [1, 2]
        >>> layer_range(["a", "b", "c", "d"], "b", "c")
        [1, 2]
    """
    if in_r():
        return _r_range(names, start, stop)
    i0 = _position(start, "start", names, is_stop=False)
    i1 = _position(stop, "stop", names, is_stop=True)
    hits = list(range(len(names)))[slice(i0, i1)]
    if not hits:
        raise ValueError(f"{caller()}(): `start`={start!r}, `stop`={stop!r} select no layers (Python slice "
                         f"semantics over the {len(names)} layers of trainable_layers(model)).")
    return hits


def _r_range(names: list[str], start: Any, stop: Any) -> list[int]:
    """:func:`layer_range` for a call from R: R's ``from``/``to`` as ``as_py_range()`` translated them."""
    n = len(names)
    if n == 0:
        raise ValueError(f"{caller()}(): `from`/`to` select no layers: the model has no layers.")
    first = _r_position(start, "from", names)
    last = _r_position(stop, "to", names)
    if first > last:
        raise ValueError(f"{caller()}(): `from` (layer {first + 1}, {names[first]}) comes after `to` (layer "
                         f"{last + 1}, {names[last]}). Swap them.")
    return list(range(first, last + 1))


def _r_position(value: Any, arg: str, names: list[str]) -> int:
    """The 0-based index of the layer R's ``from`` (``arg="from"``, a slice start) or ``to`` (a slice
    stop) names. R's position is read back from the bound: ``from = f`` arrived as ``f - 1`` (``f``
    when negative), ``to = t`` as ``t`` (``t + 1`` when negative; ``to = -1`` and ``to = NULL`` as
    ``None``); out of range is an error in R's terms."""
    n, is_stop = len(names), arg == "to"
    if value is None:
        return n - 1 if is_stop else 0
    if isinstance(value, str):
        if value not in names:
            raise _unknown(value, arg, names)
        return names.index(value)
    if isinstance(value, bool) or not v._is_intlike(value):
        raise TypeError(f"{caller()}(): `{arg}` must be a whole number (a 1-based layer position; negative counts "
                        f"from the end) or a layer name, got {value!r}.")
    value = int(value)
    position = (value if value > 0 else value - 1 if value < 0 else 0) if is_stop else \
        (value + 1 if value >= 0 else value)
    if position == 0 or abs(position) > n:
        layers = f"{n} layer{'s' if n != 1 else ''}"
        raise ValueError(f"{caller()}(): `{arg}` = {position} is out of range: the model has {layers}: positions "
                         f"1..{n} or -{n}..-1 (see trainable_layers(model)).")
    return position - 1 if position > 0 else n + position


def in_block(name: str, prefix: str) -> bool:
    """``block5_conv1`` is in block ``block5``; ``block_16_project`` is in ``block_16`` but not ``block_1``."""
    return name == prefix or (name.startswith(prefix) and not name[len(prefix)].isdigit())


@otherwise("select_layers")
def select_layers(
    model: keras.Model,
    names: str | Sequence[str] | None = None,
    regex: str | None = None,
    block: str | Sequence[str] | None = None,
    start: int | str | None = None,
    stop: int | str | None = None,
    where: Callable[[keras.layers.Layer], bool] | None = None,
) -> list[keras.layers.Layer]:
    """The layers the selectors choose, in model order (all layers when no selector is given).

    A selector that selects nothing is an error (a silent no-op hides typos).
    """
    flat = flat_layers(model)
    leaves = [layer for layer, _ in flat]
    all_names = [layer.name for layer in leaves]
    picks: list[Iterable[int]] = []
    if names is not None:
        wanted = _strings(names, "names")
        groups = {p for _, parent in flat for p in parent.split("/") if p}
        for name in wanted:
            if name not in all_names and name not in groups:
                raise _unknown(name, "names", all_names + sorted(groups))
        picks.append(i for i, (layer, parent) in enumerate(flat)
                     if layer.name in wanted or set(parent.split("/")) & set(wanted))
    if regex is not None:
        picks.append(_by_regex(all_names, regex))
    if block is not None:
        picks.append(_by_block(all_names, block))
    if start is not None or stop is not None:
        picks.append(layer_range(all_names, start, stop))
    if where is not None:
        if not callable(where):
            raise TypeError(f"{caller()}(): `where` must be a function of a layer returning True/False.")
        picks.append(_nonempty([i for i, layer in enumerate(leaves) if _where(where, layer)], "where", where))
    if not picks:
        return leaves
    chosen = set().union(*map(set, picks))
    return [layer for i, layer in enumerate(leaves) if i in chosen]


def _where(where: Callable[[keras.layers.Layer], bool], layer: keras.layers.Layer,
           arg: str = "where") -> bool:
    """``where(layer)``, which must be ``True`` or ``False`` (not merely truthy: ``"no"`` is not ``False``)."""
    try:
        answer = where(layer)
    except Exception as err:  # noqa: BLE001 - the user's function failed: say where
        raise ValueError(f"{caller()}(): `{arg}` failed on layer {layer.name!r}: {type(err).__name__}: "
                         f"{str(err).splitlines()[0][:200] if str(err) else ''}") from None
    if not isinstance(answer, (bool, np.bool_)):
        raise TypeError(f"{caller()}(): `{arg}` must return {code('True or False', 'TRUE or FALSE')} for each layer, got "
                        f"{answer!r} for layer {layer.name!r}.")
    return bool(answer)


def _by_regex(all_names: list[str], regex: Any) -> list[int]:
    if not isinstance(regex, str):
        raise TypeError(f"{caller()}(): `regex` must be a string (a regular expression), got {regex!r}.")
    try:
        pattern = re.compile(regex)
    except re.error as err:
        raise ValueError(f"{caller()}(): `regex` {regex!r} is not a valid regular expression: {err}.") from None
    return _nonempty([i for i, n in enumerate(all_names) if pattern.search(n)], "regex", regex)


def _by_block(all_names: list[str], block: Any) -> list[int]:
    prefixes = _strings(block, "block")
    hits = [i for i, n in enumerate(all_names) if any(in_block(n, p) for p in prefixes)]
    if not hits:
        blocks = sorted({n.split("_")[0] for n in all_names})
        raise ValueError(f"{caller()}(): `block` {block!r} matches no layer name. Layer names start with: "
                         f"{', '.join(blocks[:12])}{' ...' if len(blocks) > 12 else ''}.")
    return hits


def _nonempty(hits: list[int], arg: str, value: Any) -> list[int]:
    if not hits:
        raise ValueError(f"{caller()}(): `{arg}` {value!r} selects no layer; see trainable_layers(model).")
    return hits


def set_trainable(layer: keras.layers.Layer, value: bool) -> None:
    """``layer.trainable = value``, always cascading to its sublayers and variables.

    With the TensorFlow backend, Keras 3 skips an assignment of the value an attribute already holds
    (``KerasAutoTrackable.__setattr__`` short-circuits ``self.x = self.x``), so ``model.trainable =
    False`` on a frozen model does not re-freeze children made trainable since. Calling the property's
    setter directly always cascades.
    """
    type(layer).trainable.fset(layer, bool(value))


def _apply(model: keras.Model, state: dict[int, bool]) -> None:
    """Give every leaf layer its flag; a nested model with no trainable layer left is frozen as a whole."""
    flat = flat_layers(model)
    set_trainable(model, True)  # cascades to every sublayer; the leaves are then set one by one
    for layer, _ in flat:
        set_trainable(layer, state[id(layer)])
    for container in _containers(model):
        inside = {id(layer) for layer, _ in flat_layers(container)}
        if not any(state[i] for i in inside):
            set_trainable(container, False)


def _after_change(model: keras.Model, recompile: bool) -> None:
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if config is None:
        return
    if recompile:
        try:
            model.compile_from_config(config)
            return
        except Exception as err:  # noqa: BLE001 - custom losses/metrics may not deserialize
            why = f"automatic recompiling failed: {err}"
    else:
        why = "recompile=False"
    warn(
        f"{caller()}(): the model was compiled before its trainable layers changed and was not recompiled "
        f"({why}). Keras keeps training the previous set of weights until you compile it again "
        "(model.compile(...) or compile_classifier(model)).", UserWarning)


def _current(model: keras.Model) -> dict[int, bool]:
    return {id(layer): bool(layer.trainable and model.trainable) for layer, _ in flat_layers(model)}


@public
def freeze(
    model: keras.Model,
    names: str | Sequence[str] | None = None,
    *,
    regex: str | None = None,
    block: str | Sequence[str] | None = None,
    start: int | str | None = None,
    stop: int | str | None = None,
    where: Callable[[keras.layers.Layer], bool] | None = None,
    recompile: bool = True,
) -> keras.Model:
    """Make layers non-trainable: all of them, or those the selectors choose.

    Args:
        model: any Keras model (nested models are expanded).
        names: layer name(s), or the name of a nested model (all its layers).
        regex: a regular expression searched in layer names.
        block: layer-name prefix(es), e.g. ``"block5"``.
        start, stop: a range with Python slice semantics (0-based, ``stop`` excluded) over the rows of
            :func:`trainable_layers`; layer names also work (a name as ``stop`` is included).
        where: a function ``layer -> bool``.
        recompile: recompile a compiled model (see the module notes); ``False`` warns instead.

    Returns:
        The same model (modified in place).

    Example:
        >>> m = freeze(backbone("vgg16", (32, 32, 3), weights=None))
        >>> len(m.trainable_weights)
        0
    """
    _check_model(model)
    recompile = v.flag(recompile, "recompile")
    chosen = select_layers(model, names, regex, block, start, stop, where)
    state = _current(model)
    state.update({id(layer): False for layer in chosen})
    _apply(model, state)
    _after_change(model, recompile)
    return model


@public
def unfreeze(
    model: keras.Model,
    names: str | Sequence[str] | None = None,
    *,
    regex: str | None = None,
    block: str | Sequence[str] | None = None,
    start: int | str | None = None,
    stop: int | str | None = None,
    where: Callable[[keras.layers.Layer], bool] | None = None,
    batchnorm: bool = False,
    recompile: bool = True,
) -> keras.Model:
    """Make layers trainable: all of them, or those the selectors choose (others keep their state).

    Args:
        model: any Keras model (nested models are expanded).
        names: layer name(s), or the name of a nested model (all its layers).
        regex: a regular expression searched in layer names.
        block: layer-name prefix(es): ``block="block5"`` unfreezes VGG16's last convolutional block.
        start, stop: a range with Python slice semantics over the rows of :func:`trainable_layers`:
            ``start=-5, stop=-2`` is ``model.layers[-5:-2]`` for a flat model.
        where: a function ``layer -> bool``.
        batchnorm: also unfreeze ``BatchNormalization`` layers (default: they stay frozen).
        recompile: recompile a compiled model (see the module notes); ``False`` warns instead.

    Returns:
        The same model (modified in place).

    Example:
        >>> vgg = freeze(backbone("vgg16", (32, 32, 3), weights=None))
        >>> sum(r["trainable_params"] for r in trainable_layers(unfreeze(vgg, block="block5")))
        7079424
    """
    _check_model(model)
    batchnorm, recompile = v.flag(batchnorm, "batchnorm"), v.flag(recompile, "recompile")
    chosen = select_layers(model, names, regex, block, start, stop, where)
    if not batchnorm:
        kept = [layer for layer in chosen if isinstance(layer, keras.layers.BatchNormalization)]
        chosen = [layer for layer in chosen if not isinstance(layer, keras.layers.BatchNormalization)]
        if kept and not chosen:
            raise ValueError(f"{caller()}(): the selection holds only BatchNormalization layers, which stay "
                             "frozen when fine-tuning; pass batchnorm=True to unfreeze them anyway.")
    state = _current(model)
    state.update({id(layer): True for layer in chosen})
    _apply(model, state)
    _after_change(model, recompile)
    return model


# --- keras3's freeze_weights() / unfreeze_weights() ----------------------------------------------

def _which(which: Any, layers: list[keras.layers.Layer]) -> set[int]:
    """The positions in ``layers`` (a model's top-level ``layers``) that keras3's ``which`` selects: a
    function of a layer returning True/False; booleans, one per layer; or layer names, positions
    (0-based, negative from the end; from R: 1-based, translated at the seam) and layers, alone or
    in a list."""
    if callable(which) and not isinstance(which, keras.layers.Layer):
        return {i for i, layer in enumerate(layers) if _where(which, layer, "which")}
    items = list(which) if isinstance(which, (list, tuple, np.ndarray)) else [which]
    if not items:
        raise ValueError(f"{caller()}(): `which` is empty; name the layers, or leave it out for the whole model.")
    if all(isinstance(i, (bool, np.bool_)) for i in items):
        if len(items) != len(layers):
            raise ValueError(f"{caller()}(): `which` has {len(items)} {code('True/False', 'TRUE/FALSE')} values but the "
                             f"model has {len(layers)} layers (model{code('.layers', '$layers')}); give one per layer.")
        return {i for i, hit in enumerate(items) if hit}
    names = [layer.name for layer in layers]
    return {_which_item(item, layers, names) for item in items}


def _which_item(item: Any, layers: list[keras.layers.Layer], names: list[str]) -> int:
    n = len(layers)
    if isinstance(item, str):
        if item not in names:
            raise _unknown(item, "which", names)
        return names.index(item)
    if isinstance(item, keras.layers.Layer):
        for i, layer in enumerate(layers):
            if layer is item:
                return i
        raise ValueError(f"{caller()}(): `which` holds layer {item.name!r}, which is not one of the model's "
                         f"{n} layers (model{code('.layers', '$layers')}; a layer of a nested model: call "
                         f"{caller()}() on that model).")
    if not isinstance(item, (bool, np.bool_)) and v._is_intlike(item):
        i = int(item)
        if -n <= i < n:
            return i % n
        shown = i + 1 if in_r() and i >= 0 else i
        span = f"1..{n} or -{n}..-1" if in_r() else f"0..{n - 1} or -{n}..-1"
        raise ValueError(f"{caller()}(): `which` position {shown} is out of range: the model has {n} layers "
                         f"(model{code('.layers', '$layers')}): positions {span}.")
    raise TypeError(f"{caller()}(): `which` must be layer names, positions, layers, {code('True/False', 'TRUE/FALSE')} "
                    f"values (one per layer) or a function of a layer, got {item!r}.")


def _keras3_trainable(model: Any, start: Any, stop: Any, which: Any, value: bool) -> Any:
    """Give the layers ``start``/``stop`` or ``which`` select ``trainable = value`` and every other
    top-level layer the opposite (no selector: the whole model ``value``), as keras3 does."""
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"{caller()}(): `model` must be a Keras model or layer, got {type(model).__name__}.")
    if which is not None and (start is not None or stop is not None):
        raise ValueError(f"{caller()}(): give either `which` or a range ({code('start/stop', 'from/to')}), not both.")
    if which is None and start is None and stop is None:
        set_trainable(model, value)
    else:
        if not isinstance(model, keras.Model):
            raise TypeError(f"{caller()}(): selecting layers needs a Keras model, got the layer {model.name!r}.")
        layers = list(model.layers)
        if not layers:
            raise ValueError(f"{caller()}(): the model has no layers to select.")
        chosen = _which(which, layers) if which is not None else \
            set(layer_range([layer.name for layer in layers], start, stop))
        set_trainable(model, True)
        for i, layer in enumerate(layers):
            set_trainable(layer, value if i in chosen else not value)
    if isinstance(model, keras.Model):
        _after_change(model, True)
    return model


@public
def freeze_weights(model: Any, start: int | str | None = None, stop: int | str | None = None,
                   which: Any = None) -> Any:
    """keras3's ``freeze_weights()``: freeze the whole model, or the selected layers **and unfreeze all
    the others** (:func:`freeze` leaves the others as they were).

    For code ported from the R package keras3 (``freeze_weights(model, from = , to = , which = )``; in
    Python the range is ``start``/``stop``). Layers are the model's top-level ``model.layers``, as
    keras3 counts them (a nested model is one layer, frozen or unfrozen as a whole: to reach inside,
    call this on the nested model); ``BatchNormalization`` layers are treated as any other. A compiled
    model is recompiled, as :func:`freeze` does (keras3 asks you to compile again; doing so is harmless).

    Args:
        model: a Keras model (or, without selectors, any layer).
        start, stop: a range of ``model.layers`` with Python slice semantics (0-based, ``stop``
            excluded, negatives from the end; a name as ``stop`` is included). R: ``from``/``to``,
            1-based and both included, as in keras3.
        which: instead of a range: a function ``layer -> bool``, one bool per layer, or layer names,
            positions (0-based, negative from the end) or layers (one, or a list).

    Returns:
        The same model (modified in place).

    Example:
        >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"),
        ...                       keras.layers.Dense(2, name="b")])
        >>> _ = freeze(m, "a")                     # cnnkit: only "a" changes
        >>> [layer.name for layer in freeze_weights(m, start=1).layers if layer.trainable]  # keras3: "a" again
        ['a']
    """
    return _keras3_trainable(model, start, stop, which, False)


@public
def unfreeze_weights(model: Any, start: int | str | None = None, stop: int | str | None = None,
                     which: Any = None) -> Any:
    """keras3's ``unfreeze_weights()``: unfreeze the whole model, or the selected layers **and freeze
    all the others** (:func:`unfreeze` leaves the others as they were, and keeps BatchNormalization
    frozen; this function, like keras3's, does not). Arguments as in :func:`freeze_weights`.

    Example:
        >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"),
        ...                       keras.layers.Dense(2, name="b")])
        >>> [layer.name for layer in unfreeze_weights(m, which=["b"]).layers if layer.trainable]
        ['b']
    """
    return _keras3_trainable(model, start, stop, which, True)


def _count(weights: Iterable[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


@public
def trainable_layers(model: keras.Model) -> list[dict[str, Any]]:
    """One row per layer (nested models expanded): what trains and how many parameters.

    The sums of ``params`` and ``trainable_params`` equal the totals of
    ``model.summary(show_trainable=True)`` (total and trainable parameters).

    Args:
        model: any Keras model.

    Returns:
        Rows (dicts) with ``index`` (0-based position, what ``start``/``stop`` count), ``name``,
        ``type``, ``parent`` (enclosing nested model, ``""`` at the top), ``trainable``, ``params``
        and ``trainable_params``.

    Example:
        >>> rows = trainable_layers(simple_cnn())
        >>> sum(r["trainable_params"] for r in rows)
        28097
    """
    _check_model(model)
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, (layer, parent) in enumerate(flat_layers(model)):
        weights = [w for w in layer.weights if id(w) not in seen]
        seen.update(id(w) for w in weights)
        rows.append({
            "index": i, "name": layer.name, "type": type(layer).__name__, "parent": parent,
            "trainable": bool(layer.trainable and model.trainable),
            "params": _count(weights),
            "trainable_params": _count(w for w in weights if w.trainable) if model.trainable else 0,
        })
    return rows
