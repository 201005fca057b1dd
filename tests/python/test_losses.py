"""Label smoothing (cnnkit.losses): the value, the way in (fit_classifier, compile_classifier, fine_tune,
train_classifier, the CLI), the way out (saved and loaded in another process: test_reload.py) and the
errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.losses import SparseCategoricalCrossentropy, classifier_loss


def _by_hand(y, p, e):
    k = p.shape[1]
    t = np.full_like(p, e / k)
    t[np.arange(len(y)), y] += 1 - e
    return float(np.mean(-(t * np.log(p)).sum(1)))


@pytest.mark.parametrize("e", [0.0, 0.1, 0.3])
def test_the_loss_is_cross_entropy_against_smoothed_targets(e):
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), 16).astype("float32")
    y = rng.integers(0, 5, 16)
    got = float(SparseCategoricalCrossentropy(label_smoothing=e)(y, p))
    assert got == pytest.approx(_by_hand(y, p, e), rel=1e-5)
    if e == 0:  # the same as Keras' own loss for class ids
        assert got == pytest.approx(float(keras.losses.SparseCategoricalCrossentropy()(y, p)), rel=1e-6)


def test_logits_and_column_labels_give_the_same_loss():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(8, 4)).astype("float32")
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = rng.integers(0, 4, 8)
    a = float(SparseCategoricalCrossentropy(0.2, from_logits=True)(y.reshape(-1, 1), z))
    assert a == pytest.approx(_by_hand(y, p, 0.2), rel=1e-5)


def test_binary_and_plain_losses_are_keras_own():
    binary = classifier_loss("binary", logits=False, label_smoothing=0.1)
    assert isinstance(binary, keras.losses.BinaryCrossentropy) and binary.label_smoothing == 0.1
    assert classifier_loss("multiclass", logits=False) == "sparse_categorical_crossentropy"
    assert classifier_loss("binary", logits=False) == "binary_crossentropy"


def test_fit_classifier_trains_with_it_and_a_second_call_keeps_it():
    d = cnnkit.load_fashion_mnist(n=64, n_test=16)
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)
    h = cnnkit.fit_classifier(m, (d["x_train"], d["y_train"]), epochs=1, verbose=0, label_smoothing=0.1)
    assert isinstance(m.loss, SparseCategoricalCrossentropy) and m.loss.label_smoothing == 0.1
    assert np.isfinite(h["loss"]).all()
    cnnkit.fit_classifier(m, (d["x_train"], d["y_train"]), epochs=1, verbose=0, label_smoothing=0.1)  # same: fine
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `label_smoothing`=0.2 .*already compiled.*"
                                         r"compile_classifier\(model, label_smoothing=0.2\)"):
        cnnkit.fit_classifier(m, (d["x_train"], d["y_train"]), epochs=1, verbose=0, label_smoothing=0.2)


def test_a_sigmoid_model_gets_keras_binary_loss_with_smoothing():
    x = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype("float32")
    y = np.arange(16) % 2
    m = cnnkit.simple_cnn((8, 8, 1), blocks=1, filters=2, units=4, num_classes=1)
    cnnkit.fit_classifier(m, (x, y), epochs=1, verbose=0, label_smoothing=0.2)
    assert isinstance(m.loss, keras.losses.BinaryCrossentropy) and m.loss.label_smoothing == pytest.approx(0.2)


def test_compile_classifier_takes_it_and_refuses_it_with_a_loss_of_ones_own():
    m = cnnkit.compile_classifier(cnnkit.simple_cnn((28, 28, 1), num_classes=3), label_smoothing=0.05)
    assert m.loss.label_smoothing == 0.05
    with pytest.raises(ValueError, match=r"compile_classifier\(\): give either `loss` or `label_smoothing`"):
        cnnkit.compile_classifier(m, loss="sparse_categorical_crossentropy", label_smoothing=0.1)


@pytest.mark.parametrize("bad", [-0.1, 1, 1.5, "0.1", True, None, float("nan")])
def test_bad_values_name_the_argument(bad):
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=3)
    x, y = np.zeros((4, 28, 28, 1), "float32"), np.arange(4) % 3
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `label_smoothing` must be a number in \[0, 1\)"):
        cnnkit.fit_classifier(m, (x, y), epochs=1, verbose=0, label_smoothing=bad)
    assert not m.compiled  # refused before any work


def test_a_run_directory_records_it_and_refuses_to_resume_with_another(tmp_path):
    d = cnnkit.load_fashion_mnist(n=32, n_test=8)
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=10)
    cnnkit.fit_classifier(m, (d["x_train"], d["y_train"]), epochs=1, verbose=0, run_dir=tmp_path / "run",
                          label_smoothing=0.1)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["fit"]["settings"]["label_smoothing"] == 0.1
    m2 = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=10)
    with pytest.raises(ValueError, match="label_smoothing"):
        cnnkit.fit_classifier(m2, (d["x_train"], d["y_train"]), epochs=1, verbose=0, run_dir=tmp_path / "run",
                              label_smoothing=0.2)


def test_fine_tune_smooths_both_phases():
    x = np.random.default_rng(0).uniform(size=(8, 32, 32, 1)).astype("float32")
    y = np.arange(8) % 2
    m = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=2)
    h = cnnkit.fine_tune(m, (x, y), head_epochs=1, epochs=1, batch_size=8, verbose=0, label_smoothing=0.1)
    assert h["phase"] == ["head", "fine_tune"]
    assert m.loss.label_smoothing == 0.1  # the second phase's compile
