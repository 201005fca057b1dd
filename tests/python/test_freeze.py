"""freeze / unfreeze / trainable_layers, and the slides' fine-tuning chunk in Python."""

from __future__ import annotations

import re
import types
import warnings

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.freeze import select_layers
from conftest import load_spec

SPEC = load_spec("transfer")
RANGES = SPEC["range_cases"]
SLIDE = SPEC["slide_fine_tuning"]


def vgg16_notop():
    return cnnkit.backbone("vgg16", (32, 32, 3), weights=None)


def trainable_total(model) -> int:
    return sum(r["trainable_params"] for r in cnnkit.trainable_layers(model))


def summary_counts(model) -> tuple[int, int]:
    text = cnnkit.summary_text(model, show_trainable=True)
    grab = lambda label: int(re.search(label + r" params: ([\d,]+)", text).group(1).replace(",", ""))  # noqa: E731
    return grab("Trainable"), grab("Non-trainable")


@pytest.fixture()
def vgg_weights_standin(tmp_path, monkeypatch):
    """keras.applications.VGG16() defaults to weights="imagenet", a download that cannot happen here or in
    CI. To run the slides' call as written, Keras' vgg16 module gets a stand-in `file_utils` whose
    get_file returns a weights file this test wrote (random weights of the same architecture)."""
    import keras.src.applications.vgg16 as vgg16_module

    path = tmp_path / "vgg16_notop.weights.h5"
    vgg16_notop().save_weights(str(path))
    monkeypatch.setattr(vgg16_module, "file_utils", types.SimpleNamespace(get_file=lambda *a, **k: str(path)))
    return path


def test_slide_chunk_in_python_selects_block5(vgg_weights_standin):
    inputs = keras.layers.Input((32, 32, 3))
    vgg16 = keras.applications.VGG16(include_top=False, input_tensor=inputs, pooling="avg")
    vgg16.trainable = False
    for layer in vgg16.layers[-5:-2]:
        layer.trainable = True
    output = keras.layers.Dense(1, activation="sigmoid")(vgg16(inputs))
    model = keras.Model(inputs, output)
    assert [layer.name for layer in vgg16.layers[-5:-2]] == SLIDE["python_slice_layers"]
    assert trainable_total(model) == SLIDE["fixed_trainable"] == summary_counts(model)[0]
    assert model.count_params() == SLIDE["total_params"]


def test_fixed_forms_give_7079937_trainable():
    for select in (dict(block="block5"), dict(start=-5, stop=-2),
                   dict(names=SLIDE["python_slice_layers"]), dict(regex=r"^block5_conv")):
        inputs = keras.Input((32, 32, 3))
        vgg16 = cnnkit.freeze(vgg16_notop())
        cnnkit.unfreeze(vgg16, **select)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(vgg16(inputs)))
        assert trainable_total(model) == SLIDE["fixed_trainable"], select
        assert summary_counts(model) == (SLIDE["fixed_trainable"], SLIDE["total_params"] - SLIDE["fixed_trainable"])


@pytest.mark.parametrize("case", RANGES["same_selection"], ids=lambda c: str(c["py"]))
def test_ranges_use_python_slice_semantics(case):
    vgg16 = vgg16_notop()
    assert [layer.name for layer in select_layers(vgg16, **case["py"])] == case["names"]
    if all(isinstance(x, int) for x in case["py"].values()):
        assert [layer.name for layer in vgg16.layers[slice(case["py"].get("start"), case["py"].get("stop"))]] == case["names"]


@pytest.mark.parametrize("case", RANGES["py_errors"] + SPEC["freeze_bad_input"], ids=lambda c: str(c["args"]))
def test_bad_selections_name_the_argument(case):
    fn = getattr(cnnkit, case.get("call", "unfreeze"))
    with pytest.raises((ValueError, TypeError)) as err:
        fn(vgg16_notop(), **case["args"])
    for part in case["error_names"]:
        assert part in str(err.value)


def test_bad_model_and_where():
    with pytest.raises(TypeError, match=r"freeze\(\): `model` must be a Keras model"):
        cnnkit.freeze("vgg16")
    with pytest.raises(TypeError, match="`where`"):
        cnnkit.unfreeze(vgg16_notop(), where=3)
    with pytest.raises(ValueError, match="`where`.*selects no layer"):
        cnnkit.unfreeze(vgg16_notop(), where=lambda layer: False)


def small_bn_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="block1_conv")(inputs)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.Conv2D(4, 3, name="block2_conv")(x)
    x = keras.layers.BatchNormalization(name="block2_bn")(x)
    inner = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x), name="inner")
    outer_in = keras.Input((8, 8, 3))
    out = keras.layers.Dense(1, activation="sigmoid", name="head")(inner(outer_in))
    return keras.Model(outer_in, out)


def test_batchnorm_stays_frozen_unless_asked():
    model = cnnkit.freeze(small_bn_model())
    cnnkit.unfreeze(model)
    flags = {r["name"]: r["trainable"] for r in cnnkit.trainable_layers(model)}
    assert flags["block1_conv"] and flags["head"] and not flags["block1_bn"] and not flags["block2_bn"]
    cnnkit.unfreeze(model, block="block2", batchnorm=True)
    flags = {r["name"]: r["trainable"] for r in cnnkit.trainable_layers(model)}
    assert flags["block2_bn"] and not flags["block1_bn"]
    with pytest.raises(ValueError, match="only BatchNormalization"):
        cnnkit.unfreeze(cnnkit.freeze(small_bn_model()), names="block1_bn")


def test_nested_models_are_expanded_and_selectable_by_their_name():
    model = cnnkit.freeze(small_bn_model())
    rows = cnnkit.trainable_layers(model)
    assert [r["parent"] for r in rows if r["name"] == "block1_conv"] == ["inner"]
    assert [r["index"] for r in rows] == list(range(len(rows)))
    cnnkit.unfreeze(model, names="inner", batchnorm=True)
    inner = model.get_layer("inner")
    assert inner.trainable and len(inner.trainable_weights) == 8  # the nested model itself trains again
    assert not model.get_layer("head").trainable


def test_refreezing_works_even_when_keras_skips_same_value_assignments():
    """TF-backend Keras skips `model.trainable = False` on a frozen model; freeze() still re-freezes."""
    vgg16 = vgg16_notop()
    vgg16.trainable = False
    vgg16.layers[1].trainable = True
    vgg16.trainable = False  # Keras: a no-op, block1_conv1 stays trainable
    assert vgg16.layers[1].trainable
    cnnkit.freeze(vgg16)
    assert not any(layer.trainable for layer in vgg16.layers)


def test_freeze_selection_keeps_the_rest():
    model = cnnkit.freeze(vgg16_notop(), block=["block1", "block2"])
    flags = {r["name"]: r["trainable"] for r in cnnkit.trainable_layers(model)}
    assert not flags["block1_conv1"] and not flags["block2_conv2"] and flags["block3_conv1"]


def test_trainable_layers_totals_match_the_summary():
    for model in (cnnkit.simple_cnn(), cnnkit.transfer_model("vgg16", weights=None, mode="fine_tune"),
                  cnnkit.unfreeze(cnnkit.freeze(small_bn_model()), block="block2")):
        rows = cnnkit.trainable_layers(model)
        trainable, non_trainable = summary_counts(model)
        assert sum(r["trainable_params"] for r in rows) == trainable
        assert sum(r["params"] for r in rows) - trainable == non_trainable
        assert sum(r["params"] for r in rows) == model.count_params()


def _fit_once(model, seed=0):
    rng = np.random.default_rng(seed)
    model.fit(rng.random((8, 8, 8, 3), dtype="float32"), np.arange(8) % 2, epochs=1, verbose=0)


def test_compiled_model_is_recompiled_so_the_change_takes_effect():
    model = small_bn_model()
    cnnkit.freeze(model, names="block1_conv")
    cnnkit.compile_classifier(model, learning_rate=0.05, optimizer="sgd")
    _fit_once(model)
    before = model.get_layer("inner").get_layer("block1_conv").kernel.numpy().copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # recompiling is silent
        cnnkit.unfreeze(model, names="block1_conv")
    assert type(model.optimizer).__name__ == "SGD"
    assert abs(float(model.optimizer.learning_rate.numpy()) - 0.05) < 1e-7
    assert model.loss == "binary_crossentropy"
    _fit_once(model)
    assert not np.allclose(before, model.get_layer("inner").get_layer("block1_conv").kernel.numpy())


def test_recompile_false_warns_and_keras_keeps_the_old_trainable_set():
    model = small_bn_model()
    cnnkit.freeze(model, names="block1_conv")
    cnnkit.compile_classifier(model, learning_rate=0.05, optimizer="sgd")
    _fit_once(model)
    before = model.get_layer("inner").get_layer("block1_conv").kernel.numpy().copy()
    with pytest.warns(UserWarning, match=r"unfreeze\(\): the model was compiled .* not recompiled"):
        cnnkit.unfreeze(model, names="block1_conv", recompile=False)
    _fit_once(model)
    np.testing.assert_array_equal(before, model.get_layer("inner").get_layer("block1_conv").kernel.numpy())


# --- keras3's freeze_weights() / unfreeze_weights() (issue 25, item 2) ----------------------------
# The expectations of keras3's own tests/testthat/test-freeze.R (rstudio/keras3, read 2026-12; its
# models and counts, in Python's 0-based positions: keras3's from = 2, to = 3 is start=1, stop=3).
# R runs the same expectations in tests/testthat/test-freeze-weights.R.

def keras3_freeze_model() -> keras.Model:
    return keras.Sequential([keras.Input((784,)),
                             keras.layers.Dense(32, kernel_initializer="ones", name="input"),
                             keras.layers.Activation("relu", name="relu_activation"),
                             keras.layers.Dense(10, name="dense"),
                             keras.layers.Activation("softmax", name="softmax_activation")])


def keras3_which_model() -> keras.Model:
    return keras.Sequential([keras.Input((32,)), keras.layers.Dense(32, name="input"),
                             keras.layers.Activation("relu", name="relu_activation")] +
                            [keras.layers.Dense(10, name=f"dense{i}") for i in range(1, 6)] +
                            [keras.layers.Activation("softmax", name="softmax_activation")])


def test_freeze_weights_keras3_expectations():
    model = keras3_freeze_model()
    cnnkit.freeze_weights(model)  # "freeze_weights can freeze an entire model"
    assert len(model.trainable_weights) == 0
    cnnkit.unfreeze_weights(model)  # "model can be unfrozen after freezing"
    assert len(model.trainable_weights) == 4
    model = keras3_freeze_model()
    cnnkit.freeze_weights(model, start=1, stop=3)  # "can work on indexes": keras3's from = 2, to = 3
    assert len(model.trainable_weights) == 2
    model = keras3_freeze_model()
    cnnkit.freeze_weights(model, start="dense")  # "can work on names"
    assert len(model.trainable_weights) == 2


def test_freeze_weights_which_keras3_expectations():
    model = keras3_which_model()  # keras3's "freeze_weights which", step by step on one model
    steps = [
        (cnnkit.freeze_weights, dict(start=-2), "non_trainable", 2),  # the last dense layer
        (cnnkit.freeze_weights, dict(start=-3), "non_trainable", 4),
        (cnnkit.freeze_weights, dict(start=-4, stop=-2), "non_trainable", 4),  # keras3: from = -4, to = -3
        (cnnkit.freeze_weights, dict(which=lambda layer: layer.name.startswith("dense")), "trainable", 2),
        (cnnkit.unfreeze_weights, dict(which=lambda layer: layer.name.startswith("dense")), "non_trainable", 2),
        (cnnkit.unfreeze_weights, dict(which=[5, 6]), "trainable", 4),  # keras3: which = c(6, 7)
        (cnnkit.unfreeze_weights, dict(which=["dense1", "dense2"]), "trainable", 4),
        (cnnkit.freeze_weights, dict(which=[5, 6]), "non_trainable", 4),
        (cnnkit.freeze_weights, dict(which=["dense1", "dense2"]), "non_trainable", 4),
        (cnnkit.freeze_weights, dict(which=[2, "dense3"]), "non_trainable", 4),  # keras3: list(3, "dense3")
    ]
    for f, kw, kind, count in steps:
        f(model, **kw)
        assert len(getattr(model, f"{kind}_weights")) == count, (f.__name__, kw)


def test_freeze_weights_resets_the_layers_outside_the_range_where_freeze_keeps_them():
    model = keras3_freeze_model()
    cnnkit.freeze(model)
    cnnkit.freeze(model, start="dense")  # cnnkit: the others stay frozen
    assert len(model.trainable_weights) == 0
    cnnkit.freeze_weights(model, start="dense")  # keras3: the others become trainable again
    assert [layer.name for layer in model.layers if layer.trainable] == ["input", "relu_activation"]
    assert len(model.trainable_weights) == 2
    cnnkit.unfreeze_weights(model, which=[True, False, False, False])
    assert [layer.trainable for layer in model.layers] == [True, False, False, False]
    bn = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    cnnkit.freeze(bn)
    cnnkit.unfreeze_weights(bn)  # as keras3: BatchNormalization too
    assert all(layer.trainable for layer in bn.layers)


@pytest.mark.parametrize("kw, message", [
    (dict(which=[9]), r"freeze_weights\(\): `which` position 9 is out of range: the model has 4 layers"),
    (dict(which=["dens"]), r"`which` 'dens' is not a layer of this model. Close names: dense"),
    (dict(which=[True, False]), r"`which` has 2 True/False values but the model has 4 layers"),
    (dict(which=lambda layer: "yes"), r"`which` must return True or False for each layer, got 'yes'"),
    (dict(which=["dense"], start=0), r"give either `which` or a range \(start/stop\), not both"),
    (dict(start=3, stop=1), r"`start`=3, `stop`=1 select no layers"),
])
def test_freeze_weights_errors_name_the_argument(kw, message):
    with pytest.raises((TypeError, ValueError), match=message):
        cnnkit.freeze_weights(keras3_freeze_model(), **kw)
