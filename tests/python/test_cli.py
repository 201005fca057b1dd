"""The command line: `cnnkit train|evaluate|predict|summary` (python -m cnnkit and the installed
script), --help on each, the CI-sized main job (a small subset, 1 epoch), and bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import cnnkit
from conftest import ROOT, load_spec

JOB = load_spec("training")["main_job"]
SCRIPT = Path(sys.executable).parent / "cnnkit"


def cli(*args: str, cwd: Path | None = None, script: bool = False) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "cnnkit"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, cwd=cwd or ROOT)


def test_help_on_each_command_through_the_installed_script():
    assert SCRIPT.exists(), "pip install -e python/ installs the `cnnkit` script ([project.scripts])"
    top = cli("--help", script=True)
    assert top.returncode == 0 and all(c in top.stdout for c in ("train", "evaluate", "predict", "summary"))
    for command, words in {"train": ["--epochs", "--subset", "--run-dir", "--strategy"],
                           "evaluate": ["MODEL.keras", "--data", "--plot"],
                           "predict": ["MODEL.keras", "IMAGE"], "summary": ["--show-trainable"]}.items():
        p = cli(command, "--help", script=True)
        assert p.returncode == 0, p.stderr
        assert all(w in p.stdout for w in words), p.stdout


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """The CI-sized main job: `cnnkit train --epochs 1 --subset 2000` in an empty working folder."""
    cwd = tmp_path_factory.mktemp("job")
    p = cli("train", "--epochs", str(JOB["ci_epochs"]), "--subset", str(JOB["ci_subset"]), cwd=cwd)
    assert p.returncode == 0, p.stdout + p.stderr
    return cwd, p


def test_train_ci_sized_main_job(trained_run):
    cwd, p = trained_run
    runs = list((cwd / "runs").iterdir())
    assert len(runs) == 1  # runs/<timestamp>/ by default
    run = runs[0]
    assert sorted(f.name for f in run.iterdir()) == ["confusion_matrix.png", "history.csv", "history.png",
                                                     "metrics.json", "model.keras", "model.weights.h5", "run.json"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"test accuracy: {metrics['accuracy']:.4f} ({JOB['ci_subset']} images)" in p.stdout
    assert metrics["accuracy"] > JOB["ci_min_accuracy"] and metrics["model"] == "fashion_cnn"
    # progress (piped: one line per epoch, no carriage returns) and the per-class table
    assert "16/16 - " in p.stdout and "\r" not in p.stdout and "Ankle boot" in p.stdout
    assert str(run.relative_to(cwd)) in p.stdout
    assert Image.open(run / "history.png").format == "PNG"
    model = cnnkit.load_model(run / "model.keras")
    assert cnnkit.saving.class_names_of(model)[9] == "Ankle boot"


def test_evaluate_and_predict_a_saved_model(trained_run, tmp_path):
    cwd, _ = trained_run
    model_file = next((cwd / "runs").iterdir()) / "model.keras"
    p = cli("evaluate", str(model_file), "--subset", "300", "--plot", str(tmp_path / "cm.png"))
    assert p.returncode == 0, p.stderr
    assert "accuracy:" in p.stdout and "(300 images)" in p.stdout and "confusion matrix" in p.stdout
    assert Image.open(tmp_path / "cm.png").format == "PNG"
    d = cnnkit.load_fashion_mnist(n_test=2, normalize=False, n=10)
    files = []
    for i in range(2):
        files.append(str(tmp_path / f"item{i}.png"))
        Image.fromarray(d["x_test"][i, ..., 0]).save(files[-1])
    p = cli("predict", str(model_file), *files)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 2 and all(any(n in l for n in d["class_names"]) and "%" in l for l in lines)


def test_train_on_an_image_folder(tmp_path):
    from test_data import make_image_folder

    make_image_folder(tmp_path / "photos")
    p = cli("train", "--data", str(tmp_path / "photos"), "--model", "simple_cnn", "--epochs", "2",
            "--run-dir", str(tmp_path / "run"), "--quiet", "--precision", "mixed_bfloat16")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "test accuracy:" in p.stdout and "(2 images)" in p.stdout  # 20% of 12 images held out
    assert "warning: image_folder(): skipped 2 file(s)" in p.stderr and "Traceback" not in p.stderr
    assert (tmp_path / "run" / "model.keras").exists()


@pytest.mark.parametrize("args,message", [
    (["train", "--epochs", "0"], "must be >= 1"),
    (["train", "--model", "resnet"], "invalid choice"),
    (["train", "--precision", "half"], "invalid choice"),
    (["train", "--run-dir", "README.md/run", "--subset", "100"], "`run_dir`"),
    (["train", "--data", "/no/such/folder"], "does not exist"),
    (["evaluate", "/no/such/model.keras"], "does not exist"),
    (["predict", "README.md", "x.png"], "not a .keras model file"),
    (["summary", "vgg99"], "unknown model"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    p = cli(*args)
    assert p.returncode == 2, p.stdout + p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_makefile_and_readme_run_the_main_job():
    makefile = (ROOT / "Makefile").read_text()
    assert "train: setup" in makefile and ".venv/bin/cnnkit train\n" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "make train" in readme and "make test" in readme
    assert os.access(ROOT / "bench" / "main_job.py", os.R_OK)
