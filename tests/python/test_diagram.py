"""model_mermaid(): one node per layer, edges along the data flow, the spec's output sizes."""

from __future__ import annotations

import re

import keras
import pytest

import cnnkit
from conftest import load_spec

LENET = next(m for m in load_spec("models")["models"] if m["id"] == "lenet5_slides")


def _size(shape):
    return "×".join(str(d) for d in shape[1:])


def test_lenet5_diagram_has_every_layer_with_spec_shapes():
    text = cnnkit.model_mermaid(cnnkit.lenet5())
    assert text.startswith("graph LR\n")
    for name, shape in LENET["layer_output_shapes"].items():
        assert re.search(rf'n_{name}\["[^"]*Output: {_size(shape)}"\]', text), name
    assert "n_c1 --> n_s2" in text and "n_f6 --> n_predictions" in text
    assert "6 filters<br/>5×5<br/>tanh" in text


def test_edges_only_reference_defined_nodes_and_branches_are_kept():
    i = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, name="a")(i)
    b = keras.layers.Conv2D(4, 3, name="b")(i)
    text = cnnkit.model_mermaid(keras.Model(i, keras.layers.Add(name="add")([a, b])), direction="TD")
    nodes = set(re.findall(r"^(n_\w+)\[", text, re.M))
    edges = re.findall(r"^(n_\w+) --> (n_\w+)$", text, re.M)
    assert {"n_a", "n_b", "n_add"} <= nodes
    assert ("n_a", "n_add") in edges and ("n_b", "n_add") in edges
    assert all(s in nodes and t in nodes for s, t in edges)


def test_model_mermaid_bad_input():
    with pytest.raises(TypeError, match="`model`"):
        cnnkit.model_mermaid("lenet5")
    with pytest.raises(ValueError, match="`direction`"):
        cnnkit.model_mermaid(cnnkit.lenet5(), direction="sideways")
