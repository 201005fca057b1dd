"""The input contract travels with the model: the value range (with channels and image size) a model
was trained on is recorded by fit_classifier()/fine_tune() (a transfer model's preprocessing declares
its own), saved by save_model(), attached again by load_model() in another process, used to scale image
files, and checked against arrays and datasets (a warning at prediction, an error at training)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import cnnkit
from cnnkit import contract
from conftest import ROOT


def _tiny(shape=(16, 16, 3), k=2):
    return cnnkit.simple_cnn(shape, blocks=1, filters=4, units=8, num_classes=k)


def _photos(tmp_path, n=6):
    from PIL import Image

    rng = np.random.default_rng(0)
    files, pixels = [], []
    for i in range(n):
        img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        f = tmp_path / f"p{i}.png"
        Image.fromarray(img).save(f)
        files.append(str(f))
        pixels.append(img)
    return files, np.stack(pixels).astype("float32")


@pytest.mark.parametrize("high", [1.0, 255.0])
def test_fit_records_the_range_trained_on_and_save_model_stores_it(tmp_path, high):
    x = np.random.default_rng(0).uniform(0, high, (16, 16, 16, 3)).astype("float32")
    m = _tiny()
    cnnkit.fit_classifier(m, (x, np.arange(16) % 2), epochs=1, verbose=0)
    assert contract.input_contract(m) == {"value_range": [0.0, high], "channels": 3, "image_size": [16, 16]}
    file = cnnkit.save_model(m, tmp_path / "m.keras")
    with zipfile.ZipFile(file) as z:
        assert json.loads(z.read("cnnkit.json"))["input"]["value_range"] == [0.0, high]
    assert contract.input_contract(cnnkit.load_model(file))["value_range"] == [0.0, high]


def test_data_in_no_standard_range_records_nothing():
    x = np.random.default_rng(0).normal(0, 1, (8, 16, 16, 3)).astype("float32")  # standardised images
    m = _tiny()
    cnnkit.fit_classifier(m, (x, np.arange(8) % 2), epochs=1, verbose=0)
    assert contract.input_contract(m) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cnnkit.evaluate_classifier(m, (x * 100, np.arange(8) % 2))  # nothing recorded: nothing checked


def test_files_are_scaled_to_a_0_255_model_in_a_new_process(tmp_path):
    """The issue's case: a model trained on 0-255 images scored 1.00 there and 0.50 on the same images
    as files (read in [0, 1]). Saved in this process, predicted from files in another: the same
    probabilities as the 0-255 arrays give."""
    files, pixels = _photos(tmp_path)
    m = _tiny()
    cnnkit.fit_classifier(m, (pixels, np.arange(len(files)) % 2), epochs=2, verbose=0)
    file = cnnkit.save_model(m, tmp_path / "m.keras")
    want = cnnkit.predict_classes(m, pixels)["probabilities"]
    code = ("import sys, json, cnnkit\nm = cnnkit.load_model(sys.argv[1])\n"
            "print(json.dumps(cnnkit.predict_classes(m, sys.argv[2:])['probabilities'].tolist()))\n")
    p = subprocess.run([sys.executable, "-c", code, file, *files], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    got = np.asarray(json.loads(p.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, want, atol=1e-5)
    # and the check can fail: read as [0, 1] without the contract, the probabilities differ
    contract.attach(m, None)
    assert not np.allclose(cnnkit.predict_classes(m, files)["probabilities"], want, atol=1e-3)


@pytest.mark.parametrize("trained, given, words", [(1.0, 255.0, "divide them by 255"),
                                                    (255.0, 1.0, "multiply them by 255")])
def test_arrays_in_another_range_get_a_warning_that_names_the_fix(trained, given, words):
    rng = np.random.default_rng(0)
    m = _tiny()
    cnnkit.fit_classifier(m, (rng.uniform(0, trained, (8, 16, 16, 3)), np.arange(8) % 2), epochs=1, verbose=0)
    y = np.arange(8) % 2
    with pytest.warns(UserWarning, match=words):
        cnnkit.evaluate_classifier(m, (rng.uniform(0, given, (8, 16, 16, 3)), y))
    with pytest.warns(UserWarning, match=words):
        cnnkit.predict_classes(m, rng.uniform(0, given, (8, 16, 16, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cnnkit.evaluate_classifier(m, (rng.uniform(0, trained, (8, 16, 16, 3)), y))  # the right range: silent


def test_a_transfer_model_declares_its_range_and_refuses_0_255_training_data():
    m = cnnkit.transfer_model("efficientnet_lite0", (32, 32, 3), num_classes=2)
    assert contract.input_contract(m)["value_range"] == [0.0, 1.0]
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `data` has values up to .* divide them by 255.*"
                                         r"value_range=\(0, 255\)"):
        cnnkit.fit_classifier(m, (x, np.arange(8) % 2), epochs=1, verbose=0)
    m255 = cnnkit.transfer_model("efficientnet_lite0", (32, 32, 3), num_classes=2, value_range=(0, 255))
    assert contract.input_contract(m255)["value_range"] == [0.0, 255.0]
    cnnkit.fit_classifier(m255, (x, np.arange(8) % 2), epochs=1, verbose=0)  # what it was built for


def test_the_range_survives_keras_own_save_through_the_preprocessing_layer(tmp_path):
    m = cnnkit.transfer_model("efficientnet_lite0", (32, 32, 3), num_classes=2, value_range=(0, 255))
    m.save(tmp_path / "plain.keras")  # Keras' own save: no cnnkit.json
    import keras

    loaded = keras.saving.load_model(tmp_path / "plain.keras")
    assert contract.input_contract(loaded)["value_range"] == [0.0, 255.0]


def test_image_dataset_from_directory_model_predicts_files_as_it_was_trained(tmp_path):
    """Keras' own folder loader gives 0-255 images; trained through fit_classifier(), files predicted
    later get the same scaling."""
    import keras

    cnnkit.example_image_folder(tmp_path / "photos", classes=["Sneaker", "Bag"], n=6)
    ds = keras.utils.image_dataset_from_directory(tmp_path / "photos", image_size=(32, 32), batch_size=4, shuffle=False)
    m = _tiny((32, 32, 3), 2)
    cnnkit.fit_classifier(m, ds, epochs=1, verbose=0)
    assert contract.input_contract(m)["value_range"] == [0.0, 255.0]
    x = np.concatenate([b[0].numpy() for b in ds])
    files = sorted(str(f) for f in (tmp_path / "photos").rglob("*.png"))
    want = cnnkit.predict_classes(m, x)["probabilities"]
    got = cnnkit.predict_classes(m, files)["probabilities"]
    assert np.abs(got - want).max() < 0.05  # the readers' resizing differs a little from Keras'


def test_cli_evaluate_scales_a_folder_to_the_range_the_model_was_trained_on(tmp_path):
    """`cnnkit evaluate --data DIR` (a new process) on a model trained on 0-255 images: the folder's
    images are scaled as the model expects -- the same accuracy as the 0-255 arrays, and no warning."""
    photos = cnnkit.example_image_folder(tmp_path / "photos", classes=["Sneaker", "Bag"], n=8)
    d = cnnkit.image_folder(photos, image_size=28, color_mode="grayscale", batch_size=64)
    x = np.concatenate([b[0].numpy() for b in d["train"]]) * 255
    y = np.concatenate([b[1].numpy() for b in d["train"]])
    m = _tiny((28, 28, 1), 2)
    cnnkit.fit_classifier(m, (x, y), epochs=3, verbose=0)
    want = cnnkit.evaluate_classifier(m, (x, y))["accuracy"]
    file = cnnkit.save_model(m, tmp_path / "m.keras", class_names=d["class_names"])
    p = subprocess.run([sys.executable, "-m", "cnnkit", "evaluate", file, "--data", photos], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0 and "warning" not in p.stderr, p.stdout + p.stderr
    assert f"accuracy: {want:.4f}" in p.stdout, (want, p.stdout)


def test_cli_evaluate_of_a_photo_model_without_data_asks_for_data_in_cli_words(tmp_path):
    file = cnnkit.save_model(_tiny((64, 64, 3), 2), tmp_path / "photo.keras")
    p = subprocess.run([sys.executable, "-m", "cnnkit", "evaluate", file], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert p.returncode == 2 and "argument --data: the model takes 64x64x3 images" in p.stderr, p.stderr
    assert "resize" not in p.stderr and "internal error" not in p.stderr


def test_train_classifier_saves_the_range_with_the_model(tmp_path):
    r = cnnkit.train_classifier(model="simple_cnn", epochs=1, subset=100, run_dir=tmp_path / "run", verbose=0)
    assert contract.input_contract(cnnkit.load_model(r["files"]["model"]))["value_range"] == [0.0, 1.0]
