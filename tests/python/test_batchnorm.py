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
from cnnkit.engine import needs_recalibration, recalibrate_batchnorm


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
    model.optimizer.iterations.assign(3752)  # 8 epochs of 469 steps (the main job before issue 31; it now runs 4,
    # 1,876 steps, and is recalibrated after its weight average is put in)
    assert not needs_recalibration(model, "auto")
    assert needs_recalibration(model, True) and not needs_recalibration(model, False)
    assert not needs_recalibration(cnnkit.lenet5(), True)  # no BatchNormalization at all


# --- BatchNormalization on TensorFlow's fused kernel (cnnkit._execution.fused_batchnorm) -------------

def _bn_pair(policy: str, trainable: bool = True, **kw):
    from cnnkit._execution import fused_batchnorm

    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (16, 5, 5, 7)).astype("float32")
    layers = [keras.layers.BatchNormalization(momentum=0.9, dtype=policy, **kw) for _ in range(2)]
    for layer in layers:
        layer.build(x.shape)
        layer.trainable = trainable
    layers[0].gamma.assign(rng.normal(1.0, 0.2, 7).astype("float32"))
    layers[0].beta.assign(rng.normal(0.0, 0.2, 7).astype("float32"))
    layers[1].set_weights(layers[0].get_weights())
    return x, layers, fused_batchnorm


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("trainable", [True, False])
def test_fused_batchnorm_computes_what_keras_computes(policy, training, trainable):
    """Outputs, gradients (input, gamma, beta) and the moving averages Keras keeps (biased variance:
    TensorFlow's kernel returns the unbiased one) agree with Keras' own layer to float rounding."""
    import tensorflow as tf

    x, (plain, fused), fused_batchnorm = _bn_pair(policy, trainable)
    x = tf.constant(x)
    weights = tf.constant(np.random.default_rng(1).normal(size=x.shape).astype("float32"))
    results = []
    for layer in (plain, fused):
        with fused_batchnorm(keras.Sequential([layer])) as n:
            assert n == 1
            if layer is plain:  # Keras' own code: the reference
                vars(layer).pop("call")
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=training)
                loss = tf.reduce_sum(tf.cast(y, "float32") * weights)
            grads = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append((y, grads, layer.moving_mean.numpy(), layer.moving_variance.numpy()))
    (y0, g0, m0, v0), (y1, g1, m1, v1) = results
    assert y1.dtype == y0.dtype == ("bfloat16" if policy == "mixed_bfloat16" else "float32")
    tol = 1e-2 if policy == "mixed_bfloat16" else 1e-5
    np.testing.assert_allclose(np.float32(y1), np.float32(y0), rtol=tol, atol=tol)
    assert len(g0) == len(g1) == (3 if trainable else 1)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(np.float32(b), np.float32(a), rtol=tol, atol=tol * float(np.max(np.abs(a))))
    np.testing.assert_allclose(m1, m0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v1, v0, rtol=1e-5)
    moved = training and trainable
    assert (not np.allclose(v0, 1.0)) == moved  # the batch's statistics entered the averages only then


def test_fused_batchnorm_leaves_what_it_cannot_fuse_to_keras():
    """Dense-style (2-D) inputs, masks, renorm and subclasses run Keras' own code; the layers get their
    own call back after the block, even when it fails."""
    import tensorflow as tf

    from cnnkit._execution import fused_batchnorm

    class MyBN(keras.layers.BatchNormalization):
        pass

    inputs = keras.Input((4, 4, 3))
    a = keras.layers.BatchNormalization(name="a")(inputs)
    b = keras.layers.BatchNormalization(renorm=True, name="b")(a)
    c = MyBN(name="c")(b)
    flat = keras.layers.Flatten()(c)
    d = keras.layers.BatchNormalization(name="d")(flat)
    model = keras.Model(inputs, d)
    with pytest.raises(RuntimeError, match="inside"):
        with fused_batchnorm(model) as n:
            assert n == 2  # a and d (d falls back at run time: 2-D input)
            assert "call" in vars(model.get_layer("a")) and "call" not in vars(model.get_layer("b"))
            assert "call" not in vars(model.get_layer("c"))
            out = model(tf.ones((2, 4, 4, 3)), training=True)
            assert out.shape == (2, 48)
            raise RuntimeError("inside")
    assert not any("call" in vars(layer) for layer in model.layers)


def test_fit_classifier_and_the_predictor_run_the_fused_kernel(monkeypatch):
    """The traced training step and the predictor contain FusedBatchNormV3 (and its gradient), and the
    model's BatchNormalization layers are plain Keras again after fit_classifier()."""
    import tensorflow as tf

    from cnnkit import _execution

    seen = []
    real = tf.compat.v1.nn.fused_batch_norm

    def spy(*args, **kwargs):
        seen.append(kwargs.get("is_training"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tf.compat.v1.nn, "fused_batch_norm", spy)
    keras.utils.set_random_seed(0)
    model = cnnkit.fashion_cnn()
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1), dtype="float32"), rng.integers(0, 10, 64)
    cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=32, verbose=0, recalibrate_bn=False)
    assert seen.count(True) >= 2  # both layers, in the traced training step
    assert not any("call" in vars(layer) for layer in model.layers)
    seen.clear()
    probs = _execution.predictor(model)(tf.constant(x[:8]))
    assert seen.count(False) >= 2 and probs.shape == (8, 10)
    np.testing.assert_allclose(np.asarray(probs), model.predict(x[:8], verbose=0), atol=2e-2)


def test_while_fitting_only_batch_statistics_run_fused(monkeypatch):
    """While fitting (inference=False) a BatchNormalization layer in inference mode -- frozen, or a
    backbone's called with training=False while the layers around it fine-tune -- keeps Keras' code:
    its gradient through TensorFlow's fused inference kernel was 2.3x-2.7x slower
    (bench/defaults/batchnorm_fused.py). For prediction (inference=True) every layer runs fused."""
    import tensorflow as tf

    from cnnkit._execution import fused_batchnorm

    seen = []
    real = tf.compat.v1.nn.fused_batch_norm
    monkeypatch.setattr(tf.compat.v1.nn, "fused_batch_norm",
                        lambda *a, **k: seen.append(k.get("is_training")) or real(*a, **k))
    inputs = keras.Input((6, 6, 3))
    frozen = keras.layers.BatchNormalization(name="frozen")
    x = keras.layers.Conv2D(4, 3, name="conv")(frozen(inputs))
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="trains")(x))
    frozen.trainable = False
    with fused_batchnorm(model, inference=False) as n:
        assert n == 2
        model(tf.ones((2, 6, 6, 3)), training=True)
        assert seen == [True]  # only the trainable layer used the fused kernel
        seen.clear()
        model(tf.ones((2, 6, 6, 3)), training=False)
        assert seen == []
    with fused_batchnorm(model) as n:
        model(tf.ones((2, 6, 6, 3)), training=True)
        assert seen == [False, True]  # the frozen layer (called first) too, in inference mode
        seen.clear()
        model(tf.ones((2, 6, 6, 3)), training=False)
        assert seen == [False, False]
