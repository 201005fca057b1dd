"""Augmentation: the slides' six layers plus flips, RandAugment/AugMix, the three ways to apply them,
and the before/after plot (real Fashion-MNIST images)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

import cnnkit
from conftest import load_spec

SPEC = load_spec("training")["augmentation_layers"]


@pytest.fixture(scope="module")
def images():
    d = cnnkit.load_fashion_mnist(n=64, seed=0)
    return d["x_train"], d["y_train"]


def test_augmentation_composes_the_slides_layers(images):
    x, _ = images
    aug = cnnkit.augmentation(**SPEC["args"])
    assert [layer.__class__.__name__ for layer in aug.layers] == SPEC["layers"]
    out = np.asarray(aug(x[:4], training=True))
    assert out.shape == (4, 24, 24, 1)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("arg", ["translate", "shear", "rotate", "erase", "color_jitter"])
def test_each_layer_changes_images_in_training_only(images, arg):
    x, _ = images
    aug = cnnkit.augmentation(**{arg: 0.3 if arg != "erase" else 1.0}, seed=3)
    trained = np.asarray(aug(x[:8], training=True))
    assert trained.shape == x[:8].shape and not np.allclose(trained, x[:8])
    np.testing.assert_allclose(np.asarray(aug(x[:8], training=False)), x[:8], atol=1e-6)


def test_flip_and_color_jitter_dict(images):
    x, _ = images
    flipped = np.asarray(cnnkit.augmentation(flip="horizontal", seed=0)(x[:16], training=True))
    # every image is either unchanged or mirrored left-right, and at least one is mirrored
    mirrored = [np.allclose(f, o[:, ::-1]) for f, o in zip(flipped, x[:16])]
    assert all(m or np.allclose(f, o) for m, f, o in zip(mirrored, flipped, x[:16])) and any(mirrored)
    rgb = np.repeat(x[:2], 3, axis=-1)
    jitter = cnnkit.augmentation(color_jitter={"saturation_factor": 0.5, "hue_factor": 0.2}, seed=0)
    assert np.asarray(jitter(rgb, training=True)).shape == rgb.shape


@pytest.mark.parametrize("method,cls", [("randaugment", "RandAugment"), ("augmix", "AugMix")])
def test_rand_augment(images, method, cls):
    rgb = np.repeat(images[0][:4], 3, axis=-1)
    layer = cnnkit.rand_augment(method, seed=1)
    assert layer.__class__.__name__ == cls
    out = np.asarray(layer(rgb, training=True))
    assert out.shape == rgb.shape and np.isfinite(out).all()


def test_three_ways_to_apply(images):
    x, y = images
    aug = cnnkit.augmentation(translate=0.1, rotate=0.05, seed=2)
    # 1. once before training: originals + copies
    xa, ya = cnnkit.augment_dataset(x, y, aug, copies=2)
    assert xa.shape == (3 * len(x), 28, 28, 1) and (ya == np.tile(y, 3)).all()
    np.testing.assert_array_equal(xa[:len(x)], x)
    assert not np.allclose(xa[len(x):2 * len(x)], x)
    # 2. dynamically in the input pipeline
    ds = cnnkit.augmented_dataset(x, y, aug, batch_size=16, seed=0)
    bx, by = next(iter(ds))
    assert tuple(bx.shape) == (16, 28, 28, 1)
    model = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)
    assert cnnkit.fit_classifier(model, ds, epochs=1, verbose=0)["epoch"] == [1]
    # 3. dynamically inside the model: same weights, identity at prediction
    wrapped = cnnkit.with_augmentation(model, aug)
    assert wrapped.count_params() == model.count_params()
    np.testing.assert_allclose(wrapped.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0), atol=1e-6)
    h = cnnkit.fit_classifier(wrapped, (x, y), epochs=1, verbose=0)
    assert wrapped.loss == "sparse_categorical_crossentropy" and np.isfinite(h["loss"][0])


def test_plot_augmentation_writes_the_grid(images, tmp_path):
    x, _ = images
    aug = cnnkit.augmentation(translate=0.1, rotate=0.1, erase=0.5, seed=0)
    path = cnnkit.plot_augmentation(x[:3], aug, n=4, file=tmp_path / "aug.png", titles=["a", "b", "c"])
    img = Image.open(path)
    assert img.format == "PNG" and img.size[0] > img.size[1]  # 3 rows, 5 columns
    assert cnnkit.plot_augmentation(x[0], aug, n=2, file=str(tmp_path / "one.png")).endswith("one.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aug.png", "one.png"]  # no temporary files left


def test_plot_augmentation_one_row_per_layer_of_a_dict(images, tmp_path):
    x, _ = images
    augs = {"RandomRotation": cnnkit.augmentation(rotate=0.1, seed=0),
            "RandomErasing": cnnkit.augmentation(erase=1, seed=0),
            "RandomCrop": cnnkit.augmentation(crop=20, seed=0)}
    path = cnnkit.plot_augmentation(x[:5], augs, n=3, file=tmp_path / "augs.png")
    # one row per layer (not per image): 3 rows x 4 columns at 1.4 x 1.5 inches, 100 dpi
    assert Image.open(path).size == (560, 450)
    with pytest.raises(TypeError, match="`aug`\\['bad'\\] must be a Keras layer"):
        cnnkit.plot_augmentation(x[0], {"bad": "rotate"}, file=tmp_path / "bad.png")
    with pytest.raises(ValueError, match="`aug` as a dict needs 1 to 8"):
        cnnkit.plot_augmentation(x[0], {}, file=tmp_path / "bad.png")
    assert [p.name for p in tmp_path.iterdir()] == ["augs.png"]


@pytest.mark.parametrize("kwargs,arg", [({}, "at least one"), ({"rotate": -1}, "`rotate`"),
                                        ({"translate": (0.1, 0.2, 0.3)}, "`translate`"),
                                        ({"erase": 2}, "`erase`"), ({"flip": "diagonal"}, "`flip`"),
                                        ({"crop": 0}, "`crop`"), ({"rotate": 0.1, "fill_mode": "x"}, "`fill_mode`"),
                                        ({"rotate": 0.1, "value_range": (1, 0)}, "`value_range`"),
                                        ({"color_jitter": {"sparkle": 1}}, "`color_jitter`")])
def test_augmentation_bad_input(kwargs, arg):
    with pytest.raises((TypeError, ValueError), match=f"augmentation\\(\\): .*{arg}|{arg}"):
        cnnkit.augmentation(**kwargs)


def test_augment_helpers_bad_input(images, tmp_path):
    x, y = images
    aug = cnnkit.augmentation(rotate=0.1)
    with pytest.raises(TypeError, match="`aug`"):
        cnnkit.augment_dataset(x, y, "rotate")
    with pytest.raises(ValueError, match="`y`"):
        cnnkit.augment_dataset(x, y[:3], aug)
    with pytest.raises(ValueError, match="`x`"):
        cnnkit.augment_dataset(x[0], y[:1], aug)
    with pytest.raises(ValueError, match="image size"):
        cnnkit.augment_dataset(x, y, cnnkit.augmentation(crop=20))
    with pytest.raises(ValueError, match="`file`"):
        cnnkit.plot_augmentation(x[:1], aug, file=tmp_path / "aug.txt")
    with pytest.raises(ValueError, match="`method`"):
        cnnkit.rand_augment("autoaugment")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("names, message", [(["a"], "has 1 name(s) but `y` has class ids up to 2"),
                                            (["a", "", "c"], "distinct, non-empty"),
                                            (["a", "a", "c"], "distinct, non-empty")])
def test_augmented_dataset_wants_one_name_per_class(names, message):
    x = np.zeros((6, 8, 8, 1), "float32")
    y = np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=re.escape(message)):
        cnnkit.augmented_dataset(x, y, cnnkit.augmentation(flip="horizontal"), class_names=names)
    ds = cnnkit.augmented_dataset(x, y, cnnkit.augmentation(flip="horizontal"), class_names=["a", "b", "c"])
    assert ds.class_names == ["a", "b", "c"]
