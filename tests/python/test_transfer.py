"""transfer_model, domain_adapted_model (the exercise) and two-phase fine_tune."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import cnnkit
from conftest import load_spec

SPEC = load_spec("transfer")
SLIDE = SPEC["slide_fine_tuning"]
DOMAIN = SPEC["domain_adapter"]
FT = SPEC["fine_tune"]


def trainable_total(model) -> int:
    return sum(r["trainable_params"] for r in cnnkit.trainable_layers(model))


@pytest.fixture(scope="module")
def domain_model():
    """ConvNeXtTiny has ~28M parameters: build the exercise model once for this file."""
    return cnnkit.domain_adapted_model(**DOMAIN["args"])


def tiny_data(n=FT["n"], shape=tuple(FT["input_shape"]), classes=2, seed=0):
    """Images in [0, 1], the range transfer_model() builds its preprocessing for (0-255 images are refused)."""
    rng = np.random.default_rng(seed)
    return rng.random((n,) + shape, dtype="float32"), (np.arange(n) % classes).astype("float32")


def test_transfer_model_reproduces_the_slides():
    fe = cnnkit.transfer_model("vgg16", SLIDE["input_shape"], 1, mode="feature_extraction", weights=None)
    ft = cnnkit.transfer_model("vgg16", SLIDE["input_shape"], 1, mode="fine_tune", weights=None)
    for model in (fe, ft):
        assert model.count_params() == SLIDE["total_params"]
        assert [type(layer).__name__ for layer in model.layers] == SLIDE["layer_types"]
        assert model.output_shape == (None, 1) and model.layers[-1].activation.__name__ == "sigmoid"
    assert trainable_total(fe) == SLIDE["feature_extraction_trainable"]
    assert trainable_total(ft) == SLIDE["fixed_trainable"]
    rows = {r["name"]: r["trainable"] for r in cnnkit.trainable_layers(ft)}
    assert all(rows[n] for n in SLIDE["python_slice_layers"]) and not rows["block4_conv3"]


def test_backbone_runs_in_inference_mode():
    """The backbone is called with training=False: its BatchNormalization uses the moving statistics."""
    model = cnnkit.transfer_model("mobilenet_v2", (32, 32, 3), mode="fine_tune", weights=None)
    x, _ = tiny_data(4)
    np.testing.assert_allclose(model(x, training=True).numpy(), model(x, training=False).numpy(), atol=1e-6)
    bns = [r for r in cnnkit.trainable_layers(model) if r["type"] == "BatchNormalization"]
    assert bns and not any(r["trainable"] for r in bns)  # and they stay frozen when fine-tuning


def test_transfer_model_accepts_a_backbone_model_and_softmax_heads():
    base = cnnkit.backbone("vgg16", (32, 32, 3), weights=None)
    model = cnnkit.transfer_model(base, None, num_classes=10, mode="fine_tune")
    assert model.output_shape == (None, 10) and model.get_layer("vgg16") is base
    assert trainable_total(model) == SPEC["vgg16_slides"]["block5_params"] + 512 * 10 + 10
    with pytest.raises(ValueError, match="`input_shape`.*differs"):
        cnnkit.transfer_model(base, (64, 64, 3))
    with pytest.raises(ValueError, match="global pooling"):
        cnnkit.transfer_model(cnnkit.backbone("vgg16", (32, 32, 3), weights=None, pooling=None))


def test_domain_adapted_model_structure(domain_model):
    layers = [{"name": layer.name, "type": type(layer).__name__, "output_shape": list(layer.output.shape),
               "params": layer.count_params()} for layer in domain_model.layers]
    assert layers == DOMAIN["layers"]
    assert domain_model.count_params() == DOMAIN["total_params"]
    assert trainable_total(domain_model) == DOMAIN["trainable_params"]
    assert not domain_model.get_layer("convnext_tiny").trainable
    assert "Trainable params: 18,253" in cnnkit.summary_text(domain_model)


def test_domain_adapted_model_trains_the_adapter_only(domain_model):
    x = np.random.default_rng(1).random((4, 32, 32, 1), dtype="float32")
    cnnkit.compile_classifier(domain_model, learning_rate=1e-2)
    before = {w.path: w.numpy().copy() for w in domain_model.weights}
    domain_model.fit(x, np.arange(4) % 10, epochs=1, batch_size=4, verbose=0)
    changed = {w.path for w in domain_model.weights if not np.array_equal(before[w.path], w.numpy())}
    assert any(p.startswith("adapter_conv1") for p in changed) and any(p.startswith("predictions") for p in changed)
    assert not any(p.startswith("convnext_tiny") for p in changed)


def test_fine_tune_two_phases_one_history():
    model = cnnkit.transfer_model("vgg16", tuple(FT["input_shape"]), weights=None)
    x, y = tiny_data()
    block1 = model.get_layer("vgg16").get_layer("block1_conv1").kernel.numpy().copy()
    block5 = model.get_layer("vgg16").get_layer("block5_conv3").kernel.numpy().copy()
    hist = cnnkit.fine_tune(model, (x, y), head_epochs=FT["head_epochs"], epochs=FT["epochs"],
                            learning_rate=FT["lr"], validation_data=(x[:4], y[:4]), batch_size=8)
    assert hist["phase"] == FT["phases"] and hist["epoch"] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist)
    assert all(len(v) == 2 and all(np.isfinite(v)) for k, v in hist.items() if k not in ("phase", "epoch"))
    np.testing.assert_array_equal(block1, model.get_layer("vgg16").get_layer("block1_conv1").kernel.numpy())
    assert not np.allclose(block5, model.get_layer("vgg16").get_layer("block5_conv3").kernel.numpy())
    assert trainable_total(model) == SLIDE["fixed_trainable"]  # left in the fine-tuned state
    assert abs(float(model.optimizer.learning_rate.numpy()) - FT["lr"] / 10) < 1e-9  # lr_fine = lr / 10


def test_fine_tune_accepts_a_dataset_and_skips_a_phase():
    model = cnnkit.transfer_model("vgg16", (32, 32, 3), num_classes=2, weights=None)
    x, y = tiny_data()
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32"))).batch(8)
    hist = cnnkit.fine_tune(model, ds, head_epochs=0, epochs=1, learning_rate=1e-3, fine_tune_learning_rate=1e-5)
    assert hist["phase"] == ["fine_tune"] and hist["epoch"] == [1]
    assert abs(float(model.optimizer.learning_rate.numpy()) - 1e-5) < 1e-9


@pytest.mark.parametrize("kwargs,match", [
    ({"data": "images"}, "`data`"),
    ({"data": None, "head_epochs": 0, "epochs": 0}, "`head_epochs` and `epochs`"),
    ({"learning_rate": 0}, "`learning_rate`"),
    ({"fine_tune_learning_rate": -1.0}, "`fine_tune_learning_rate`"),
    ({"batchnorm": "yes"}, "`batchnorm`"),
    ({"epochs": 20000}, "`epochs`"),
    ({"head_epochs": 1.5}, "`head_epochs`"),
])
def test_fine_tune_bad_input(kwargs, match):
    model = cnnkit.transfer_model("vgg16", (32, 32, 3), weights=None)
    kwargs = {"data": tiny_data(4), **kwargs}
    with pytest.raises((TypeError, ValueError), match=match):
        cnnkit.fine_tune(model, **kwargs)


def test_fine_tune_needs_a_backbone():
    with pytest.raises(ValueError, match="no nested backbone"):
        cnnkit.fine_tune(cnnkit.simple_cnn(), tiny_data(4))


def test_the_backbone_runs_in_inference_mode_while_the_head_trains():
    # Keras 3.15 passes fit()'s training=True into a nested model despite training=False: the
    # backbone's dropout would be active while the head trains (see transfer.inference_mode)
    inputs = keras.Input((8, 8, 1))
    drop = keras.layers.Dropout(0.9, name="block1_drop")(keras.layers.Conv2D(4, 3, name="block1_conv")(inputs))
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(drop), name="noisy")
    x = np.ones((4, 8, 8, 1), "float32")
    for model in (cnnkit.transfer_model(base, None, num_classes=3),
                  cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=3, weights=None)):
        xin = x if model.input_shape[1] == 8 else np.ones((4, 32, 32, 1), "float32")
        a, b = (np.asarray(model(xin, training=True)) for _ in range(2))
        np.testing.assert_allclose(a, b, rtol=1e-6)  # deterministic: no dropout inside the backbone
        np.testing.assert_allclose(a, np.asarray(model(xin, training=False)), rtol=1e-5, atol=1e-6)
