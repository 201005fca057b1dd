"""Grad-CAM (tests/spec/what_the_model_sees.json): maps that depend on the trained weights, that put a
known model's evidence where it is, the last convolution found inside a nested backbone, and errors."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from scipy import ndimage, stats

import cnnkit
from cnnkit.grad_cam import default_layer
from conftest import load_spec

SPEC = load_spec("what_the_model_sees")
LENET, GC = SPEC["lenet"], SPEC["grad_cam"]


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(pad=True, n=LENET["n"], n_test=LENET["n_test"], seed=LENET["seed"])


@pytest.fixture(scope="module")
def lenet(fm):
    keras.utils.set_random_seed(LENET["seed"])
    model = cnnkit.lenet5()
    cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=LENET["epochs"],
                          batch_size=LENET["batch_size"], verbose=0)
    return model


def brightness_cnn() -> keras.Model:
    """Class 0's score is the image's blurred brightness, class 1's its negative: the evidence for
    class 0 is the garment, and nothing speaks for class 1."""
    inputs = keras.Input((32, 32, 1))
    conv = keras.layers.Conv2D(1, 3, padding="same", activation="relu", name="blur")
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    outputs = dense(keras.layers.GlobalAveragePooling2D()(conv(inputs)))
    model = keras.Model(inputs, outputs)
    conv.set_weights([np.full((3, 3, 1, 1), 1 / 9, "float32"), np.zeros(1, "float32")])
    dense.set_weights([np.array([[1.0, -1.0]], "float32"), np.zeros(2, "float32")])
    return model


def test_maps_one_per_image_in_zero_one_at_the_last_convolution(lenet, fm):
    x = fm["x_test"][:8]
    maps = cnnkit.grad_cam(lenet, x)
    assert maps.shape == (8, 32, 32) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1
    assert np.allclose(maps.reshape(8, -1).max(1), 1)  # each map scaled to its maximum
    assert default_layer(lenet).name == LENET["default_layer"]
    np.testing.assert_allclose(maps, cnnkit.grad_cam(lenet, x, layer=LENET["default_layer"]))
    np.testing.assert_allclose(cnnkit.grad_cam(lenet, x[0])[0], maps[0], atol=1e-6)  # one image, no batch axis
    assert not np.allclose(cnnkit.grad_cam(lenet, x, layer="c1"), maps)


def test_sanity_check_maps_change_with_re_randomised_weights(lenet, fm):
    """Adebayo et al. (2018): a map that stays the same when the weights are re-randomised explains the
    image, not the model. Both maps explain the trained model's predicted class."""
    x = fm["x_test"]
    trained = cnnkit.grad_cam(lenet, x)
    keras.utils.set_random_seed(LENET["seed"] + 1)
    randomised = keras.models.clone_model(lenet)  # same architecture, freshly initialised weights
    ids = cnnkit.predict_classes(lenet, x)["class_id"]
    other = cnnkit.grad_cam(randomised, x, class_id=ids)
    with warnings.catch_warnings():  # an all-zero map has no rank correlation (nan, left out)
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        rho = [stats.spearmanr(a.ravel(), b.ravel())[0] for a, b in zip(trained, other)]
    assert np.nanmean(rho) < GC["max_rank_correlation"], np.nanmean(rho)
    np.testing.assert_allclose(cnnkit.grad_cam(lenet, x), trained)  # and the trained model's maps are stable


def test_known_evidence_lies_on_the_garment_and_nothing_speaks_for_the_other_class(fm):
    model = brightness_cnn()
    x = fm["x_test"][:16]
    maps = cnnkit.grad_cam(model, x, class_id=0)
    garment = np.stack([ndimage.binary_dilation(img[..., 0] > GC["garment_threshold"]) for img in x])
    mass = (maps * garment).sum((1, 2)) / maps.sum((1, 2))
    assert mass.min() >= GC["min_mass_on_garment"], mass
    assert mass.min() > garment.mean((1, 2)).max()  # far more than an even spread would give
    assert np.all(cnnkit.grad_cam(model, x, class_id=1) == 0)
    np.testing.assert_allclose(cnnkit.grad_cam(model, x, class_id=[0] * 16), maps)


def test_the_last_convolution_inside_a_nested_pretrained_backbone():
    nested = GC["nested"]
    model = cnnkit.transfer_model(nested["backbone"], nested["input_shape"], num_classes=3, weights=None)
    assert default_layer(model).name == nested["default_layer"]
    x = np.random.default_rng(0).random((2, *nested["input_shape"]), dtype="float32")
    maps = cnnkit.grad_cam(model, x, class_id=[0, 2])
    assert maps.shape == (2, *nested["input_shape"][:2]) and 0 <= maps.min() and maps.max() <= 1
    binary = cnnkit.transfer_model(nested["backbone"], nested["input_shape"], num_classes=1, weights=None)
    assert cnnkit.grad_cam(binary, x, class_id=1).shape == (2, *nested["input_shape"][:2])


def test_class_names_as_class_id(lenet, fm):
    cnnkit.saving._attach(lenet, fm["class_names"])
    try:
        x = fm["x_test"][:3]
        np.testing.assert_allclose(cnnkit.grad_cam(lenet, x, class_id="Bag"), cnnkit.grad_cam(lenet, x, class_id=8))
    finally:
        cnnkit.saving._attach(lenet, None)


@pytest.mark.parametrize("kwargs, names", [
    ({"model": "mlp"}, ["grad_cam()", "`model`", "convolutional"]),
    ({"layer": "f6"}, ["grad_cam()", "`layer`", "4-D"]),
    ({"layer": "no_such_layer"}, ["grad_cam()", "`layer`", "c3"]),
    ({"layer": 3}, ["grad_cam()", "`layer`", "name"]),
    ({"class_id": 10}, ["grad_cam()", "`class_id`", "0 to 9"]),
    ({"class_id": [0, 1]}, ["grad_cam()", "`class_id`", "one per image"]),
    ({"images": "shape"}, ["grad_cam()", "`images`"]),
])
def test_errors_name_the_function_and_the_argument(lenet, fm, kwargs, names):
    args = {"model": lenet, "images": fm["x_test"][:3]}
    args.update(kwargs)
    if args["model"] == "mlp":
        args["model"] = cnnkit.mlp_classifier((32, 32, 1), units=4, num_classes=10)
    if isinstance(args["images"], str):
        args["images"] = np.zeros((3, 28, 28, 1), "float32")
    with pytest.raises((ValueError, TypeError)) as err:
        cnnkit.grad_cam(**args)
    assert all(n in str(err.value) for n in names), str(err.value)


def test_plot_grad_cam_to_a_file_or_a_figure(lenet, fm, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    path = cnnkit.plot_grad_cam(lenet, fm["x_test"][:6], file=tmp_path / "cam.png", class_names=fm["class_names"])
    assert path == str(tmp_path / "cam.png") and (tmp_path / "cam.png").stat().st_size > 1000
    assert isinstance(cnnkit.plot_grad_cam(lenet, fm["x_test"][:2]), Figure)
    monkeypatch.setenv("CNNKIT_MAX_PLOT_IMAGES", "4")
    with pytest.raises(ValueError, match=r"plot_grad_cam\(\): `images`.*CNNKIT_MAX_PLOT_IMAGES"):
        cnnkit.plot_grad_cam(lenet, fm["x_test"][:6])
    with pytest.raises(ValueError, match=r"plot_grad_cam\(\): `alpha`"):
        cnnkit.plot_grad_cam(lenet, fm["x_test"][:2], alpha=2)
