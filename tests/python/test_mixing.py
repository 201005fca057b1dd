"""MixUp and CutMix (cnnkit.mixing, issue 28 item 5): blended images carry labels blended in the same
proportion (checked pixel by pixel), the model trains on one-hot labels with a categorical loss from every
entry point (arrays, validation_split, folders, binary models, fine_tune, the main job, the CLI), and a
model left compiled so keeps training on class ids afterwards."""

import json

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.mixing import check_mixing, soft_data


def constant_images(k=10, per_class=4, size=8):
    """Image of class c: every pixel (c + 1) / 20, so a blend's mean pixel is its labels' mixture."""
    y = np.repeat(np.arange(k), per_class)
    x = np.broadcast_to(((y + 1) / 20.0)[:, None, None, None], (len(y), size, size, 1)).astype("float32").copy()
    return x, y


def test_values_the_arguments_take():
    assert check_mixing(0, "mixup") == 0.0 and check_mixing(None, "cutmix") == 0.0 and check_mixing(False, "mixup") == 0
    assert check_mixing(True, "mixup") == 0.2 and check_mixing(True, "cutmix") == 1.0 and check_mixing(0.4, "mixup") == 0.4


@pytest.mark.parametrize("arg,bad", [("mixup", 1.5), ("mixup", -0.2), ("cutmix", float("nan")), ("cutmix", "yes")])
def test_bad_values_name_the_argument(arg, bad):
    x, y = constant_images()
    with pytest.raises((TypeError, ValueError), match=rf"fit_classifier\(\): `{arg}` must be a number in \(0, 1\]"):
        cnnkit.fit_classifier(cnnkit.simple_cnn((8, 8, 1), blocks=1, filters=2, units=4, num_classes=10), (x, y),
                              epochs=1, verbose=0, **{arg: bad})


def test_mixup_blends_images_and_labels_alike():
    x, y = constant_images()
    train, _ = soft_data((x, y), None, 10, 40, None, len(x), 3, 0.4, 0.0)
    bx, by = (np.asarray(t) for t in next(iter(train)))
    np.testing.assert_allclose(by.sum(1), 1.0, rtol=1e-5)
    assert (np.count_nonzero(by > 1e-6, axis=1) == 2).mean() > 0.5  # most rows: two classes
    values = (np.arange(10) + 1) / 20.0
    np.testing.assert_allclose(bx.mean((1, 2, 3)), by @ values, atol=1e-5)  # the image is its labels' blend


def test_cutmix_pastes_a_rectangle_weighted_by_its_area():
    x, y = constant_images(size=16)
    train, _ = soft_data((x, y), None, 10, 40, None, len(x), 4, 0.0, 1.0)
    bx, by = (np.asarray(t) for t in next(iter(train)))
    values = (np.arange(10) + 1) / 20.0
    for img, label in zip(bx, by):
        present = {round(float(p), 4) for p in np.unique(img)}
        assert present <= {round(float(v), 4) for v in values[label > 1e-6]}  # only the two images' pixels
        for c in np.flatnonzero(label > 1e-6):
            share = np.isclose(img, values[c]).mean()
            assert share == pytest.approx(label[c], abs=1e-5)  # the label weight is the pixel share


def test_fit_with_mixup_trains_on_one_hot_labels_and_validates_on_the_held_out_rows(tmp_path):
    d = cnnkit.load_fashion_mnist(n=200, n_test=10)
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)
    h = cnnkit.fit_classifier(m, (d["x_train"], d["y_train"]), epochs=2, verbose=0, mixup=0.2, cutmix=True,
                              label_smoothing=0.1, validation_split=0.25, run_dir=tmp_path / "r", seed=1)
    assert isinstance(m.loss, keras.losses.CategoricalCrossentropy) and m.loss.label_smoothing == 0.1
    assert len(h["val_accuracy"]) == 2 and 0 <= h["val_accuracy"][-1] <= 1
    settings = json.loads((tmp_path / "r" / "run.json").read_text())["fit"]["settings"]
    assert settings["mixup"] == 0.2 and settings["cutmix"] == 1.0
    # the same model, fitted again without mixing: still one-hot labels for its categorical loss
    h = cnnkit.fit_classifier(m, (d["x_train"], d["y_train"]), epochs=1, verbose=0)
    assert np.isfinite(h["loss"][0])
    assert cnnkit.evaluate_classifier(m, (d["x_test"], d["y_test"]))["n"] == 10


def test_a_model_compiled_for_class_ids_is_refused_and_one_compiled_categorically_trains():
    d = cnnkit.load_fashion_mnist(n=64, n_test=10)
    data = (d["x_train"], d["y_train"])
    m = cnnkit.compile_classifier(cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=10))
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `mixup`/`cutmix` train on blended labels.*"
                                         r"loss='categorical_crossentropy'"):
        cnnkit.fit_classifier(m, data, epochs=1, verbose=0, mixup=0.2)
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=10)
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    h = cnnkit.fit_classifier(m, data, epochs=1, verbose=0, validation_data=(d["x_test"], d["y_test"]))
    assert np.isfinite(h["loss"][0]) and "val_accuracy" in h


def test_a_binary_model_blends_its_0_1_labels():
    x = np.random.default_rng(0).random((32, 16, 16, 1)).astype("float32")
    y = (x.mean((1, 2, 3)) > 0.5).astype("int64")
    inputs = keras.Input((16, 16, 1))
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs))
    m = keras.Model(inputs, out)
    h = cnnkit.fit_classifier(m, (x, y), epochs=2, batch_size=8, verbose=0, mixup=0.3)
    assert isinstance(m.loss, keras.losses.BinaryCrossentropy) and np.isfinite(h["loss"]).all()


def test_a_folder_dataset_with_cutmix(tmp_path):
    folder = cnnkit.example_image_folder(tmp_path / "photos", n=6)
    f = cnnkit.image_folder(folder, image_size=(28, 28), color_mode="grayscale", validation_split=0.25, batch_size=8)
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=len(f["class_names"]))
    h = cnnkit.fit_classifier(m, f["train"], validation_data=f["validation"], epochs=1, verbose=0, cutmix=1.0)
    assert "val_accuracy" in h and cnnkit.saving.class_names_of(m) == f["class_names"]


@pytest.mark.parametrize("arg", ["mixup", "cutmix"])
def test_mixing_needs_images(arg):
    x = np.random.default_rng(0).random((16, 5)).astype("float32")
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match=rf"`{arg}` blends images .* \(n, height, width, channels\); got shape"):
        cnnkit.fit_classifier(m, (x, np.arange(16) % 3), epochs=1, verbose=0, **{arg: 0.5})


def test_fine_tune_mixes_in_both_phases_without_the_feature_cache():
    x = np.random.default_rng(0).uniform(size=(8, 32, 32, 1)).astype("float32")
    y = np.arange(8) % 2
    m = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=2)
    h = cnnkit.fine_tune(m, (x, y), head_epochs=1, epochs=1, batch_size=8, verbose=0, mixup=0.2)
    assert h["phase"] == ["head", "fine_tune"]
    assert isinstance(m.loss, keras.losses.CategoricalCrossentropy)


def test_the_main_job_and_the_cli_take_mixup_and_cutmix(tmp_path):
    cnnkit.train_classifier(epochs=1, subset=200, run_dir=tmp_path / "job", verbose=0, cutmix=1.0)
    settings = json.loads((tmp_path / "job" / "run.json").read_text())["job"]["settings"]
    assert settings["cutmix"] == 1.0 and "mixup" not in settings
    from cnnkit.cli import build_parser

    args = build_parser().parse_args(["train", "--mixup", "0.2", "--cutmix", "1"])
    assert (args.mixup, args.cutmix) == (0.2, 1.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--mixup", "2"])
