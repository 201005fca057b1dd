"""The backbone's own input scaling inside transfer models (a saveable, weightless layer read off the
registry's preprocess function), the documented Keras way of EfficientNet-Lite0, the adapter's momentum."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.backbones import REGISTRY
from cnnkit.preprocessing import BackbonePreprocessing, preprocessing_layer
from conftest import load_spec

SPEC = load_spec("what_the_model_sees")["preprocessing"]
PHOTO_DIR = Path(__import__("skimage.data", fromlist=["data"]).__file__).parent


def images(shape=(2, 8, 8, 3), seed=0):
    return np.random.default_rng(seed).random(shape, dtype="float32")


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("value_range", [(0, 1), (0, 255), (-1, 1)])
def test_the_layer_computes_the_registry_preprocessing(name, value_range):
    spec = REGISTRY[name]
    low, high = value_range
    x = images() * (high - low) + low
    layer = preprocessing_layer(spec, value_range)
    expected = spec.preprocess(np.array((x - low) * 255 / (high - low), dtype="float32"))
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-4)
    assert not layer.weights and not layer.trainable


def test_a_transfer_model_takes_zero_one_images_and_predicts_as_by_hand(tmp_path):
    case = SPEC["model"]
    name, shape = case["backbone"], tuple(case["input_shape"])
    keras.utils.set_random_seed(0)
    model = cnnkit.transfer_model(name, shape, num_classes=case["num_classes"], weights=None)
    assert [type(layer).__name__ for layer in model.layers] == SPEC["layer_types"]
    raw = cnnkit.transfer_model(model.get_layer(name), None, num_classes=case["num_classes"],
                                value_range=None)  # the same backbone, fed by hand
    raw.get_layer("predictions").set_weights(model.get_layer("predictions").get_weights())
    assert [layer.name for layer in raw.layers] == ["input", name, "predictions"]
    x = images((4, *shape))
    by_hand = raw.predict(cnnkit.preprocess_input(x * 255, name), verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), by_hand, rtol=1e-4, atol=1e-6)
    assert not np.allclose(raw.predict(x, verbose=0), by_hand, rtol=1e-2)  # unscaled input: other outputs
    path = cnnkit.save_model(model, tmp_path / "model.keras")
    for loaded in (cnnkit.load_model(path), keras.saving.load_model(path, safe_mode=True)):
        assert isinstance(loaded.get_layer("preprocessing"), BackbonePreprocessing)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), by_hand, rtol=1e-4, atol=1e-6)


def test_value_range_and_backbones_of_unknown_scaling():
    model = cnnkit.transfer_model("vgg16", (32, 32, 3), weights=None, value_range=(0, 255))
    layer = model.get_layer("preprocessing")
    assert layer.channel_order == [2, 1, 0] and layer.scale == [1.0, 1.0, 1.0]  # caffe: BGR, mean subtracted
    tiny = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D()])
    assert "preprocessing" not in [layer.name for layer in cnnkit.transfer_model(tiny, None).layers]
    for bad in [(1, 0), (0,), "0-1", (0, float("nan"))]:
        with pytest.raises(ValueError, match=r"transfer_model\(\): `value_range`"):
            cnnkit.transfer_model("vgg16", (32, 32, 3), weights=None, value_range=bad)


def test_a_backbone_whose_preprocessing_is_not_a_scaling():
    spec = cnnkit.register_backbone("squares_test", keras.applications.VGG16, lambda x: x ** 2, overwrite=True)
    try:
        with pytest.raises(ValueError, match=r"transfer_model\(\).*squares_test.*value_range=None"):
            cnnkit.transfer_model(spec.name, (32, 32, 3), weights=None)
        assert "preprocessing" not in [layer.name for layer in
                                       cnnkit.transfer_model(spec.name, (32, 32, 3), weights=None, value_range=None).layers]
    finally:
        del REGISTRY[spec.name]


def test_domain_adapted_model_momentum_and_preprocessing():
    model = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=10, weights=None)
    bns = [model.get_layer(n) for n in ("adapter_bn1", "adapter_bn2")]
    assert all(bn.momentum == SPEC["bn_momentum_default"] for bn in bns)
    assert model.get_layer("preprocessing").backbone == "efficientnet_lite0"
    other = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), weights=None, bn_momentum=0.5,
                                        preprocessing=False)
    assert other.get_layer("adapter_bn1").momentum == 0.5
    assert "preprocessing" not in [layer.name for layer in other.layers]
    for bad in (1, -0.1, "0.9", True, float("nan")):
        with pytest.raises(ValueError, match=r"domain_adapted_model\(\): `bn_momentum`"):
            cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), weights=None, bn_momentum=bad)


def _labels(result) -> list[str]:
    """Class names from classify_image()'s result, whatever form its rows take."""
    rows = result[0] if result and isinstance(result[0], list) else result
    return [r["class_name"] if isinstance(r, dict) else r[1] for r in rows]


def _documented_keras_way() -> list[str]:
    """The lines of efficientnet_lite0()'s docstring example that classify a `photo`."""
    doc = cnnkit.efficientnet_lite0.__doc__
    lines = [line.strip()[4:] for line in doc.splitlines() if line.strip().startswith(">>> ")]
    start = next(i for i, line in enumerate(lines) if "weights=\"imagenet\")" in line and "model =" in line)
    return lines[start:]


@pytest.mark.parametrize("photo", SPEC["photos"])
def test_the_documented_keras_way_gives_classify_images_top5(photo):
    code = _documented_keras_way()
    assert any("CenterCrop" in line for line in code) and "top5" in code[-2]
    scope = {"keras": keras, "np": np, "photo": str(PHOTO_DIR / photo), **{n: getattr(cnnkit, n) for n in cnnkit.__all__}}
    for line in code[:-1]:
        exec(line, scope)  # noqa: S102 - the package's own documentation
    documented = eval(code[-1], scope)  # noqa: S307
    assert documented == _labels(cnnkit.classify_image(str(PHOTO_DIR / photo), top=5))
    if photo == "chelsea.png":  # the docstring shows this photo's answer
        shown = cnnkit.efficientnet_lite0.__doc__.split(code[-1])[1].strip().splitlines()[0]
        assert eval(shown) == documented  # noqa: S307
    assert re.search(r"same top 5", cnnkit.efficientnet_lite0.__doc__)
