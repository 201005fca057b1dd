"""Test-time augmentation (cnnkit.tta): the views, the average, every way in (arrays, datasets, files,
train_classifier, the CLI) giving the same numbers, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

import cnnkit
from cnnkit.tta import MAX_VIEWS, check_tta, views
from test_cli import cli


@pytest.fixture(scope="module")
def model():
    return cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=3)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(12, 28, 28, 1)).astype("float32")


def test_the_views_are_the_image_its_mirror_then_shifts():
    x = tf.constant(np.arange(2 * 28 * 28, dtype="float32").reshape(2, 28, 28, 1))
    v = views(x, MAX_VIEWS)
    assert len(v) == MAX_VIEWS and all(tuple(a.shape) == (2, 28, 28, 1) for a in v)
    np.testing.assert_array_equal(v[0], x)
    np.testing.assert_array_equal(v[1], x.numpy()[:, :, ::-1])
    d = 2  # 28 / 14
    np.testing.assert_array_equal(v[2].numpy()[:, : 28 - d, : 28 - d], x.numpy()[:, d:, d:])  # towards a corner
    np.testing.assert_array_equal(v[6], v[2].numpy()[:, :, ::-1])  # and mirrored
    assert len({a.numpy().tobytes() for a in v}) == MAX_VIEWS  # all different
    assert len(views(x, 1)) == 1 and len(views(x, 3)) == 3


def test_predictions_are_the_average_over_the_views(model, images):
    plain = cnnkit.predict_classes(model, images)["probabilities"]
    flip = cnnkit.predict_classes(model, images[:, :, ::-1].copy())["probabilities"]
    both = cnnkit.predict_classes(model, images, tta=True)["probabilities"]
    np.testing.assert_allclose(both, (plain + flip) / 2, atol=1e-6)
    assert not np.allclose(both, plain)
    np.testing.assert_allclose(cnnkit.predict_classes(model, images, tta=1)["probabilities"], plain)
    many = cnnkit.predict_classes(model, images, tta=MAX_VIEWS)["probabilities"]
    np.testing.assert_allclose(many.sum(1), 1, atol=1e-5)


def test_arrays_datasets_and_files_give_the_same_evaluation(model, images, tmp_path):
    y = np.arange(len(images)) % 3
    a = cnnkit.evaluate_classifier(model, (images, y), tta=2)
    ds = tf.data.Dataset.from_tensor_slices((images, y)).batch(5)
    b = cnnkit.evaluate_classifier(model, ds, tta=2)
    assert a["accuracy"] == b["accuracy"] and np.array_equal(a["confusion_matrix"], b["confusion_matrix"])
    folder = cnnkit.example_image_folder(str(tmp_path / "photos"), classes=["Sneaker", "Bag", "Coat"], n=2)
    files = cnnkit.predict_classes(model, folder, tta=3)
    arrays = cnnkit.predict_classes(model, cnnkit.load_images(files["file"], 28, "grayscale"), tta=3)
    np.testing.assert_allclose(files["probabilities"], arrays["probabilities"], atol=1e-6)


@pytest.mark.parametrize("value, views_", [(False, 1), (True, 2), (1, 1), (3, 3), (2.0, 2), (np.int64(4), 4)])
def test_good_values(value, views_):
    assert check_tta(value) == views_


@pytest.mark.parametrize("bad", [0, MAX_VIEWS + 1, 2.5, "yes", None, -1, float("nan")])
def test_bad_values_name_the_argument(model, images, bad):
    with pytest.raises(ValueError, match=r"predict_classes\(\): `tta` must be True \(the image"):
        cnnkit.predict_classes(model, images, tta=bad)
    with pytest.raises(ValueError, match=r"evaluate_classifier\(\): `tta`"):
        cnnkit.evaluate_classifier(model, (images, np.zeros(len(images), "int64")), tta=bad)


def test_the_main_job_and_the_cli_take_tta_and_label_smoothing(tmp_path):
    p = cli("train", "--model", "simple_cnn", "--epochs", "1", "--subset", "200", "--tta", "2",
            "--label-smoothing", "0.1", "--run-dir", str(tmp_path / "run"), "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    settings = json.loads((tmp_path / "run" / "run.json").read_text())["job"]["settings"]
    assert metrics["tta"] == 2 and settings["tta"] == 2 and settings["label_smoothing"] == 0.1
    p = cli("evaluate", str(tmp_path / "run" / "model.keras"), "--subset", "50", "--tta", "3")
    assert p.returncode == 0 and "accuracy" in p.stdout, p.stdout + p.stderr
    for args, word in ((["--tta", "11"], "at most 10"), (["--tta", "0"], ">= 1"),
                       (["--label-smoothing", "1"], "[0, 1)")):
        p = cli("train", *args)
        assert p.returncode == 2 and word in p.stderr and "Traceback" not in p.stderr, p.stderr
