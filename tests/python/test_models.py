"""Model factories against the shared spec (tests/spec/models.json)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cnnkit
from conftest import load_spec

SPEC = load_spec("models")


def _shape(s):
    return tuple(s)


@pytest.mark.parametrize("case", SPEC["models"], ids=lambda c: c["id"])
def test_model_factory_matches_spec(case):
    model = getattr(cnnkit, case["factory"])(**case["args"])
    assert model.output_shape == _shape(case["output_shape"])
    assert model.count_params() == case["total_params"]
    for name, shape in case.get("layer_output_shapes", {}).items():
        assert model.get_layer(name).output.shape == _shape(shape), name
    if "layer_params" in case:
        counts = [layer.count_params() for layer in model.layers if layer.count_params()]
        assert counts == case["layer_params"]


@pytest.mark.parametrize("case", SPEC["blocks"], ids=lambda c: c["id"])
def test_conv_block_shapes(case):
    x = keras.Input(tuple(case["input_shape"]))
    y = x
    for _ in range(case["times"]):
        y = cnnkit.conv_block(y, **case["args"])
    assert tuple(y.shape) == _shape(case["output_shape"])


@pytest.mark.parametrize("case", SPEC["heads"], ids=lambda c: c["id"])
def test_classifier_head(case):
    x = keras.Input(tuple(case["input_shape"]))
    model = keras.Model(x, cnnkit.classifier_head(x, **case["args"]))
    assert model.output_shape == _shape(case["output_shape"])
    assert model.count_params() == case["total_params"]


def test_mlp_predict_returns_probability_rows():
    model = cnnkit.mlp_classifier()
    p = model.predict(np.random.default_rng(0).random((3, 64, 64, 3), dtype="float32"), verbose=0)
    assert p.shape == (3, 2)
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_binary_head_is_sigmoid_and_multiclass_is_softmax():
    assert cnnkit.output_layer(1).activation.__name__ == "sigmoid"
    assert cnnkit.output_layer(3).activation.__name__ == "softmax"


def test_conv_block_accepts_r_style_values():
    """What reticulate sends from R: whole doubles and lists."""
    x = keras.Input((32, 32, 3))
    y = cnnkit.conv_block(x, filters=16.0, kernel_size=[3.0, 3.0], pool_size=2.0)
    assert tuple(y.shape) == (None, 16, 16, 16)


def test_conv_block_names_layers_by_block():
    model = cnnkit.simple_cnn()
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n.startswith("block2")] == ["block2_conv", "block2_act", "block2_pool"]


def test_summary_text_is_the_keras_table(models_spec):
    text = cnnkit.summary_text(cnnkit.simple_cnn())
    assert "Total params: 28,097" in text
    assert "(None, 4, 4, 32)" in text
    with pytest.raises(TypeError, match="`model`"):
        cnnkit.summary_text("not a model")
