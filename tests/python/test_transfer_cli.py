"""Transfer learning as the main job: `cnnkit train --model <backbone>` and train_classifier() with a
backbone's name build transfer_model() and train it through fine_tune() (the head with the backbone
frozen, then its last block), save a run that `cnnkit predict` uses with class names, and resume."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import pytest

import cnnkit
from conftest import ROOT
from test_data import make_image_folder


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnkit", *args], capture_output=True, text=True, timeout=900,
                          cwd=cwd)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("transfer")
    info = make_image_folder(root / "photos", per_class=10)
    return {"root": root, "path": root / "photos", **info}


def test_cli_trains_efficientnet_lite0_on_a_folder_and_predicts_with_class_names(photos, capsys, monkeypatch):
    from cnnkit.cli import main

    root = photos["root"]
    p = cli("train", "--data", "photos", "--model", "EfficientNet-Lite0", "--head-epochs", "1", "--epochs", "1",
            "--image-size", "32", "--run-dir", "run", "--quiet", cwd=root)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "test accuracy:" in p.stdout and "Traceback" not in p.stderr
    run = root / "run"
    assert {"head", "fine_tune", "model.keras", "history.csv", "history.png", "metrics.json"} <= \
        {f.name for f in run.iterdir()}
    record = json.loads((run / "run.json").read_text())
    assert record["job"]["settings"]["model"] == "efficientnet_lite0"  # the registry's name
    assert record["job"]["settings"]["head_epochs"] == 1 and record["fine_tune"]["status"] == "finished"
    rows = (run / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,phase") and [r.split(",")[1] for r in rows[1:]] == ["head", "fine_tune"]
    files = [str(photos["path"] / n / "0.png") for n in photos["names"]]
    p = cli("predict", "run/model.keras", *files, cwd=root)  # a new process: the model must load there too
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stdout + p.stderr
    assert all(any(n in line for n in photos["names"]) for line in p.stdout.strip().splitlines()[-2:]), p.stdout
    model = cnnkit.load_model(run / "model.keras")
    assert model.input_shape == (None, 32, 32, 3) and cnnkit.saving.class_names_of(model) == sorted(photos["names"])
    # predict, and the same job again (the registry's spelling): in this process, no second TensorFlow start-up
    monkeypatch.chdir(root)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() sets its own
    files = [str(photos["path"] / n / "0.png") for n in photos["names"]]
    capsys.readouterr()
    assert main(["predict", "run/model.keras", *files]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(any(n in line for n in photos["names"]) and "%" in line for line in lines)
    assert main(["train", "--data", "photos", "--model", "efficientnet_lite0", "--head-epochs", "1", "--epochs", "1",
                 "--image-size", "32", "--run-dir", "run", "--quiet"]) == 0
    assert "holds a finished run" in capsys.readouterr().err


def _tiny_backbone(include_top=False, weights=None, input_shape=None, pooling=None, classes=1000):
    """A two-block stand-in with the keras.applications call convention ("imagenet" means nothing here)."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, padding="same", name="block1_conv")(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", name="block2_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x, name="tiny")


@pytest.fixture()
def tiny():
    cnnkit.register_backbone("tiny_test_backbone", _tiny_backbone, lambda x: x, last_block="block2", overwrite=True)
    yield "tiny_test_backbone"
    from cnnkit.backbones import REGISTRY

    REGISTRY.pop("tiny_test_backbone", None)


def test_train_classifier_with_any_registered_backbone_goes_through_fine_tune(photos, tmp_path, tiny, monkeypatch):
    from cnnkit import job

    calls = []
    real = job.fine_tune  # the name train_classifier() calls
    monkeypatch.setattr(job, "fine_tune", lambda *a, **k: calls.append(k) or real(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fixture folder's two unreadable files
        r = cnnkit.train_classifier(tiny, data=photos["path"], epochs=2, head_epochs=1, image_size=32,
                                    run_dir=tmp_path / "run", verbose=0)
    assert len(calls) == 1 and calls[0]["head_epochs"] == 1 and calls[0]["epochs"] == 2
    assert r["history"]["phase"] == ["head", "fine_tune", "fine_tune"] and r["history"]["epoch"] == [1, 2, 3]
    assert r["evaluation"]["class_names"] == sorted(photos["names"]) and 0 <= r["accuracy"] <= 1
    assert cnnkit.list_backbones()[-1]["params"] == (3 * 3 * 3 * 4 + 4) + (3 * 3 * 4 * 4 + 4)  # counted, built
    # started again: a finished run, read back (phases included) without training
    with pytest.warns(cnnkit.rundir.RunFinishedWarning):
        again = cnnkit.train_classifier(tiny, data=photos["path"], epochs=2, head_epochs=1, image_size=32,
                                        run_dir=tmp_path / "run", verbose=0)
    assert again["finished_earlier"] and again["history"]["phase"] == ["head", "fine_tune", "fine_tune"]
    assert len(calls) == 1
    # other settings for the same folder: the difference is named
    with pytest.raises(ValueError, match=r"head_epochs 1 \(now 2\)"):
        cnnkit.train_classifier(tiny, data=photos["path"], epochs=2, head_epochs=2, image_size=32,
                                run_dir=tmp_path / "run", verbose=0)


def test_transfer_job_arguments_are_checked(photos, tmp_path):
    with pytest.raises(ValueError, match=r"train_classifier\(\): `head_epochs` is for transfer learning"):
        cnnkit.train_classifier("simple_cnn", head_epochs=2, run_dir=tmp_path / "a")
    with pytest.raises(ValueError, match=r"train_classifier\(\): `image_size` is the size images from a `data`"):
        cnnkit.train_classifier("efficientnet_lite0", image_size=64, run_dir=tmp_path / "b")
    with pytest.raises(ValueError, match=r"train_classifier\(\): `model` 'resnet' is neither.*Did you mean.*resnet50"):
        cnnkit.train_classifier("resnet", run_dir=tmp_path / "c")
    with pytest.raises(ValueError, match=r"`head_epochs`"):
        cnnkit.train_classifier("efficientnet_lite0", data=photos["path"], head_epochs=-1, run_dir=tmp_path / "d")
    assert not any((tmp_path / d).exists() for d in "abcd")  # refused before any folder is made


def test_cli_names_a_backbone_whose_weights_are_missing(tmp_path):
    """Offline, a backbone whose ImageNet weights are not cached: exit 3 and the paragraph that says how
    to get them (here no download can succeed: the mirror is an empty folder)."""
    import os

    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "CNNKIT_WEIGHTS_URL": (tmp_path / "mirror").as_uri()}
    p = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--model", "mobilenet_v2", "--subset", "100",
                        "--epochs", "1", "--run-dir", str(tmp_path / "run")], capture_output=True, text=True,
                       timeout=600, cwd=ROOT, env=env)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "prefetch_weights" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "run").exists()
