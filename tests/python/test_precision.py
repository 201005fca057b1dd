"""Mixed precision and steps per execution while fitting: chosen per model and machine, used only
during training, and the model (and its saved best copy) restored afterwards."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit import _execution as X
from cnnkit import precision as P


@pytest.fixture
def bf16_machine(monkeypatch):
    """Pretend this machine has fast bfloat16 (so 'auto' can be tested on any CI machine)."""
    monkeypatch.setattr(P, "fast_bfloat16", lambda: "cpu")


def _data(model, n=64, seed=0):
    rng = np.random.default_rng(seed)
    shape = model.input_shape[1:]
    k = max(2, model.output_shape[-1])
    return rng.random((n, *shape), dtype="float32"), rng.integers(0, k if k > 2 else 2, n)


def test_conv_flops_counts_output_positions_times_kernel():
    # the slides' CNN on 32x32x3: three 3x3 convolutions with 32 filters, 'same' padding, pooled by 2
    expected = 32 * 32 * (3 * 3 * 3 * 32) + 16 * 16 * (3 * 3 * 32 * 32) + 8 * 8 * (3 * 3 * 32 * 32)
    assert P.conv_flops(cnnkit.simple_cnn()) == expected
    # LeNet-5: c1 28x28 (5x5x1x6), c3 10x10 (5x5x6x16), c5 1x1 (5x5x16x120)
    assert P.conv_flops(cnnkit.lenet5()) == 28 * 28 * 150 + 10 * 10 * 2400 + 48000
    assert P.conv_flops(cnnkit.mlp_classifier((8, 8, 3), units=4, num_classes=2)) == 0


def test_auto_precision_follows_machine_and_model(bf16_machine, monkeypatch):
    assert P.resolve_precision(cnnkit.simple_cnn()) == "mixed_bfloat16"
    assert P.resolve_precision(cnnkit.lenet5()) == "float32"  # too little convolution work to gain
    assert P.resolve_precision(cnnkit.simple_cnn(), "float32") == "float32"
    monkeypatch.setattr(P, "fast_bfloat16", lambda: None)
    assert P.resolve_precision(cnnkit.simple_cnn()) == "float32"
    assert P.resolve_precision(cnnkit.lenet5(), "mixed_bfloat16") == "mixed_bfloat16"


def test_auto_keeps_float32_for_depthwise_convolutions_on_a_cpu_only(bf16_machine, monkeypatch):
    import keras

    def net(layer):
        inputs = keras.Input((32, 32, 3))
        x = keras.layers.Conv2D(64, 3, padding="same")(inputs)  # 1.8 M multiply-adds per image
        x = layer(x)
        return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))

    plain = net(keras.layers.Conv2D(64, 1, padding="same"))
    depthwise = net(keras.layers.DepthwiseConv2D(3, padding="same"))
    separable = net(keras.layers.SeparableConv2D(64, 3, padding="same"))
    assert P.conv_flops(depthwise) >= P.AUTO_MIXED_MIN_FLOPS
    assert P.resolve_precision(plain) == "mixed_bfloat16"
    assert P.resolve_precision(depthwise) == "float32"
    assert P.resolve_precision(separable) == "float32"
    nested = keras.Sequential([keras.Input((32, 32, 3)), depthwise])
    assert P.resolve_precision(nested) == "float32"
    assert P.resolve_precision(depthwise, "mixed_bfloat16") == "mixed_bfloat16"  # asked for: given
    monkeypatch.setattr(P, "fast_bfloat16", lambda: "gpu")  # cuDNN's depthwise kernels are fine
    assert P.resolve_precision(depthwise) == "mixed_bfloat16"


def test_a_model_with_its_own_policy_is_left_alone(bf16_machine):
    model = cnnkit.simple_cnn()
    model.dtype_policy = "mixed_float16"
    assert P.resolve_precision(model) == "float32"  # i.e. nothing is changed


def test_precision_block_switches_all_but_the_output_layer_and_restores_them():
    model = cnnkit.simple_cnn()
    before = {layer.name: layer.dtype_policy.name for layer in model.layers}
    with P.computing_in(model, "mixed_bfloat16") as used:
        assert used == "mixed_bfloat16"
        inside = {layer.name: layer.compute_dtype for layer in model.layers
                  if not isinstance(layer, keras.layers.InputLayer)}
        assert inside.pop(model.layers[-1].name) == "float32"
        assert set(inside.values()) == {"bfloat16"}
        assert model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).dtype == np.float32
    assert {layer.name: layer.dtype_policy.name for layer in model.layers} == before


def test_precision_is_restored_when_the_block_fails():
    model = cnnkit.simple_cnn()
    with pytest.raises(KeyboardInterrupt):
        with P.computing_in(model, "mixed_bfloat16"):
            raise KeyboardInterrupt
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}


def test_precision_reaches_layers_inside_a_nested_backbone():
    backbone = cnnkit.simple_cnn((16, 16, 3))
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(1, activation="sigmoid")(backbone(inputs))
    model = keras.Model(inputs, outputs)
    with P.computing_in(model, "mixed_bfloat16"):
        assert backbone.layers[1].compute_dtype == "bfloat16"
    assert backbone.layers[1].compute_dtype == "float32"


class _Seen(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.dtypes = {layer.compute_dtype for layer in self.model.layers[1:-1]}
        self.steps = self.model.steps_per_execution


def test_fit_classifier_trains_in_mixed_precision_and_restores_the_model(tmp_path):
    model = cnnkit.simple_cnn((16, 16, 3), num_classes=3)
    x, y = _data(model)
    seen = _Seen()
    history = cnnkit.fit_classifier(model, (x, y), epochs=2, batch_size=8, validation_split=0.25,
                                    run_dir=tmp_path / "run", precision="mixed_bfloat16",
                                    steps_per_execution=4, callbacks=[seen], verbose=0)
    assert seen.dtypes == {"bfloat16"} and seen.steps == 4
    assert np.isfinite(history["loss"]).all()
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert model.steps_per_execution == 1
    best = keras.saving.load_model(tmp_path / "run" / "best.keras")
    assert {layer.dtype_policy.name for layer in best.layers} == {"float32"}


def test_fit_classifier_auto_uses_steps_per_execution_for_small_models_only(monkeypatch):
    small = cnnkit.simple_cnn((16, 16, 3), num_classes=3)
    x, y = _data(small)
    seen = _Seen()
    cnnkit.fit_classifier(small, (x, y), epochs=1, batch_size=8, callbacks=[seen], verbose=0, precision="float32")
    assert seen.steps == X.AUTO_STEPS_PER_EXECUTION and small.steps_per_execution == 1
    monkeypatch.setattr(X, "AUTO_SPE_MAX_PARAMS", 1000)
    big = cnnkit.simple_cnn((16, 16, 3), num_classes=3)
    cnnkit.fit_classifier(big, (x, y), epochs=1, batch_size=8, callbacks=[seen], verbose=0, precision="float32")
    assert seen.steps == 1


def test_a_model_compiled_with_its_own_steps_per_execution_keeps_them():
    model = cnnkit.compile_classifier(cnnkit.simple_cnn((16, 16, 3), num_classes=3), steps_per_execution=3)
    x, y = _data(model)
    seen = _Seen()
    cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=8, callbacks=[seen], verbose=0)
    assert seen.steps == 3 and model.steps_per_execution == 3


def test_mixed_precision_learns_as_well_as_float32():
    """A separable task: both precisions reach the same (high) training accuracy."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 256)
    x = rng.normal(0, 0.3, (256, 16, 16, 3)).astype("float32")
    x[y == 1, 4:12, 4:12, :] += 1.5  # class 1: a bright square
    acc = {}
    for prec in ("float32", "mixed_bfloat16"):
        keras.utils.set_random_seed(0)
        model = cnnkit.simple_cnn((16, 16, 3), num_classes=2)
        h = cnnkit.fit_classifier(model, (x, y), epochs=6, batch_size=32, learning_rate=3e-3,
                                  precision=prec, verbose=0)
        acc[prec] = h["accuracy"][-1]
    assert acc["float32"] > 0.9 and acc["mixed_bfloat16"] > 0.9, acc


def test_predictions_in_float32_match_model_predict_exactly():
    model = cnnkit.simple_cnn((16, 16, 3), num_classes=4)
    x, _ = _data(model, n=37)  # not a multiple of the batch size
    want = model.predict(x, verbose=0)
    got = cnnkit.predict_classes(model, x, batch_size=8, precision="float32")["probabilities"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_predictions_in_mixed_precision_are_close_and_leave_the_model_alone():
    model = cnnkit.simple_cnn((16, 16, 3), num_classes=4)
    x, y = _data(model, n=40)
    want = model.predict(x, verbose=0)
    got = cnnkit.predict_classes(model, x, precision="mixed_bfloat16")["probabilities"]
    assert np.abs(got - want).max() < 2e-2 and not np.array_equal(got, want)  # bfloat16 did run
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    ev = cnnkit.evaluate_classifier(model, (x, y), precision="mixed_bfloat16")
    assert ev["n"] == 40


def test_small_images_are_predicted_in_bigger_chunks_with_the_same_results():
    model = cnnkit.lenet5()
    assert X.predict_chunk(model, 128) == X.PREDICT_CHUNK_VALUES // (32 * 32) > 128
    big = cnnkit.simple_cnn((224, 224, 3))
    assert X.predict_chunk(big, 16) == 16  # big images: batch_size as given ...
    assert X.predict_chunk(big, 256) == X.MAX_CHUNK_VALUES // (224 * 224 * 3) == 27  # ... up to a cap
    x, _ = _data(model, n=X.predict_chunk(model, 128) + 37)  # two chunks, the second not full
    f = X.predictor(model, "float32")
    want = np.concatenate([np.asarray(f(x[i:i + 128])) for i in range(0, len(x), 128)])
    got = cnnkit.predict_classes(model, x, batch_size=128, precision="float32")["probabilities"]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    calls = []
    real = X.predictor
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importlib.import_module("cnnkit.evaluate"), "predictor",
                   lambda *a: (lambda b: calls.append(len(b)) or real(*a)(b)))
        cnnkit.predict_classes(model, x, batch_size=128, precision="float32")
    assert calls == [X.predict_chunk(model, 128), 37]


def test_the_predictor_is_made_once_and_reads_the_weights_live():
    model = cnnkit.simple_cnn((16, 16, 3), num_classes=3)
    x, _ = _data(model, n=8)
    f = X.predictor(model, "float32")
    assert X.predictor(model, "float32") is f
    before = cnnkit.predict_classes(model, x, precision="float32")["probabilities"]
    model.set_weights([w * 0.5 for w in model.get_weights()])
    after = cnnkit.predict_classes(model, x, precision="float32")["probabilities"]
    np.testing.assert_allclose(after, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, after)


def test_the_predictor_cache_does_not_keep_a_model_alive():
    import gc
    import weakref

    model = cnnkit.simple_cnn((16, 16, 3), num_classes=3)
    X.predictor(model, "float32")
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


class _PerBatch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.steps = self.model.steps_per_execution


def test_auto_keeps_one_step_per_call_for_callbacks_that_act_per_batch():
    model = cnnkit.simple_cnn((16, 16, 3), num_classes=3)
    x, y = _data(model)
    cb = _PerBatch()
    cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=8, callbacks=[cb], verbose=0, precision="float32")
    assert cb.steps == 1
    cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=8, callbacks=[cb], verbose=0, precision="float32",
                          steps_per_execution=4)  # asked for: given
    assert cb.steps == 4


def test_train_classifier_checks_precision_before_making_a_run_dir(tmp_path):
    with pytest.raises(ValueError, match="`precision`"):
        cnnkit.train_classifier(precision="half", run_dir=tmp_path / "run", subset=100, epochs=1)
    assert not (tmp_path / "run").exists()
