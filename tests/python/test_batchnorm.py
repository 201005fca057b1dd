"""Inference after short training is right: BatchNormalization statistics re-estimated at the end of
runs too short for Keras' moving averages (momentum 0.99) to settle."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.train import needs_recalibration, recalibrate_batchnorm


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(n=9600, n_test=2000, seed=0)


def _train(fm, steps: int, recalibrate) -> tuple[float, float]:
    """One epoch of ``steps`` batches of 32 (so the training accuracy is not inflated by memorising)."""
    keras.utils.set_random_seed(0)
    model = cnnkit.fashion_cnn()
    x, y = fm["x_train"][: steps * 32], fm["y_train"][: steps * 32]
    cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=32, learning_rate=3e-3, schedule="cosine",
                          recalibrate_bn=recalibrate, verbose=0)
    assert int(model.optimizer.iterations) == steps
    train = cnnkit.evaluate_classifier(model, (x, y))["accuracy"]
    test = cnnkit.evaluate_classifier(model, (fm["x_test"], fm["y_test"]))["accuracy"]
    return train, test


@pytest.mark.parametrize("steps,stale_gap", [(100, 0.15), (300, 0.05)])
def test_short_runs_give_test_accuracy_close_to_training_accuracy(fm, steps, stale_gap):
    train, test = _train(fm, steps, "auto")
    assert test > 0.75 and abs(train - test) < 0.05, (train, test)
    stale_train, stale_test = _train(fm, steps, False)  # what Keras' moving averages alone give
    assert stale_test < test - stale_gap, (stale_test, test)


def test_the_main_job_of_the_issue_is_no_longer_at_chance(tmp_path):
    p = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--epochs", "6", "--subset", "3000", "--run-dir",
                        str(tmp_path / "r2"), "--quiet"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    metrics = json.loads((tmp_path / "r2" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.8, metrics["accuracy"]  # was 0.1537 (chance: 0.1)


def test_only_layers_that_train_are_recalibrated(fm):
    model = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=10, weights=None,
                                        adapter_layers=1)
    frozen = [v.numpy().copy() for v in model.get_layer("efficientnet_lite0").non_trainable_weights]
    before = model.get_layer("adapter_bn1").moving_mean.numpy().copy()
    x = np.pad(fm["x_train"][:256], ((0, 0), (2, 2), (2, 2), (0, 0)))
    momentum = model.get_layer("adapter_bn1").momentum
    used = recalibrate_batchnorm(model, (x, fm["y_train"][:256]), batch_size=64)
    assert used == 256
    assert not np.allclose(before, model.get_layer("adapter_bn1").moving_mean.numpy())
    for a, b in zip(frozen, model.get_layer("efficientnet_lite0").non_trainable_weights):
        np.testing.assert_array_equal(a, b.numpy())  # the frozen backbone keeps its statistics
    assert model.get_layer("adapter_bn1").momentum == momentum  # restored


def test_the_estimate_is_the_mean_over_the_images():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    x = np.random.default_rng(0).normal(3.0, 2.0, (1000, 4)).astype("float32")
    recalibrate_batchnorm(model, (x, np.zeros(1000)), batch_size=300)  # batches of 300, 300, 300, 100
    np.testing.assert_allclose(model.get_layer("bn").moving_mean.numpy(), x.mean(0), rtol=1e-5)


def test_auto_means_short_runs_only():
    model = cnnkit.fashion_cnn()
    cnnkit.compile_classifier(model)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(150)
    assert needs_recalibration(model, "auto")
    model.optimizer.iterations.assign(3752)  # the main job: 8 epochs of 469 steps
    assert not needs_recalibration(model, "auto")
    assert needs_recalibration(model, True) and not needs_recalibration(model, False)
    assert not needs_recalibration(cnnkit.lenet5(), True)  # no BatchNormalization at all
