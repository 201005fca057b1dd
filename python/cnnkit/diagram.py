"""Model diagrams as Mermaid text, like the slides' LeNet-5 figure.

Quarto renders a ```` ```{mermaid} ```` block natively, so a vignette can show any model's structure
with its output shapes::

    print(model_mermaid(lenet5()))
"""

from __future__ import annotations

import re

import keras

from ._context import public

CLASSES = {
    "convLayer": "fill:#e1f5fe,stroke:#01579b,stroke-width:2px",
    "poolLayer": "fill:#f3e5f5,stroke:#4a148c,stroke-width:2px",
    "fcLayer": "fill:#e8f5e8,stroke:#1b5e20,stroke-width:2px",
    "inputOutput": "fill:#fff3e0,stroke:#e65100,stroke-width:2px",
    "otherLayer": "fill:#f5f5f5,stroke:#616161,stroke-width:1px",
}


def _size(shape) -> str:
    dims = [d for d in tuple(shape)[1:]]
    return "×".join("?" if d is None else str(d) for d in dims)


def _pair(value) -> str:
    value = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    return "×".join(str(v) for v in value)


def _describe(layer: keras.layers.Layer) -> tuple[str, str]:
    """(label lines, mermaid class) for one layer."""
    kind = type(layer).__name__
    cfg = layer.get_config()
    act = cfg.get("activation")
    act = act if isinstance(act, str) and act != "linear" else None
    if isinstance(layer, keras.layers.InputLayer):
        return "Input", "inputOutput"
    if "Conv" in kind:
        what = f"{cfg['filters']} filters" if "filters" in cfg else "depthwise"
        parts = [kind, what, _pair(cfg["kernel_size"])]
        if tuple(cfg.get("strides", (1, 1))) != (1, 1):
            parts.append(f"stride {_pair(cfg['strides'])}")
        return "<br/>".join(parts + ([act] if act else [])), "convLayer"
    if "Pool" in kind:
        if "Global" in kind:
            return kind, "poolLayer"
        return f"{kind}<br/>{_pair(cfg['pool_size'])}", "poolLayer"
    if isinstance(layer, keras.layers.Dense):
        return "<br/>".join([kind, f"{cfg['units']} units"] + ([act] if act else [])), "fcLayer"
    if isinstance(layer, keras.Model):
        return f"{layer.name}<br/>({kind}, {layer.count_params():,} params)", "otherLayer"
    return kind, "otherLayer"


def _node_id(name: str) -> str:
    return "n_" + re.sub(r"\W", "_", name)


@public
def model_mermaid(model: keras.Model, direction: str = "LR", shapes: bool = True) -> str:
    """Return Mermaid ``graph`` text for a model: one node per layer, edges as data flows.

    Args:
        model: a built Keras model (functional or sequential).
        direction: ``"LR"`` (left to right, as in the slides) or ``"TD"`` (top down).
        shapes: add each layer's output size (e.g. ``28×28×6``) to its node.

    Returns:
        Mermaid text starting with ``graph LR``; paste it in a ```` ```{mermaid} ```` block.

    Example:
        >>> print(model_mermaid(lenet5()))  # doctest: +ELLIPSIS
        graph LR
        n_input_layer...["Input<br/>Output: 32×32×1"]
        n_c1["Conv2D<br/>6 filters<br/>5×5<br/>tanh<br/>Output: 28×28×6"]
        n_input_layer... --> n_c1
        ...
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model_mermaid(): `model` must be a Keras model, got {type(model).__name__}.")
    from . import _arg_checks as v

    v.choice(direction, "direction", choices=("LR", "TD", "TB", "RL", "BT"))
    shapes = v.flag(shapes, "shapes")
    lines = [f"graph {direction}"]
    members: dict[str, list[str]] = {c: [] for c in CLASSES}
    names = {layer.name for layer in model.layers}
    for layer in model.layers:
        label, cls = _describe(layer)
        if shapes:
            label += f"<br/>Output: {_size(layer.output.shape)}"
        node = _node_id(layer.name)
        members[cls].append(node)
        lines.append(f'{node}["{label}"]')
        for parent in _parents(layer, names):
            lines.append(f"{_node_id(parent)} --> {node}")
    last = _node_id(model.layers[-1].name)
    for cls, nodes in members.items():
        if last in nodes and cls != "inputOutput":
            nodes.remove(last)
            members["inputOutput"].append(last)
    lines += [f"classDef {c} {style}" for c, style in CLASSES.items()]
    lines += [f"class {','.join(n)} {c}" for c, n in members.items() if n]
    return "\n".join(lines) + "\n"


def _parents(layer: keras.layers.Layer, names: set[str]) -> list[str]:
    """Names of the layers (inside this model) whose outputs feed ``layer``."""
    out: list[str] = []
    for node in getattr(layer, "_inbound_nodes", []):
        for parent in node.parent_nodes:
            name = parent.operation.name
            if name in names and name not in out:
                out.append(name)
    return out
