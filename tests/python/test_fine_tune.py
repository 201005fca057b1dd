"""fine_tune() trains through the one engine (fit_classifier's): its data checks, precision, steps per
execution, progress display, class names and run directory apply to both phases; a run killed in
either phase resumes there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.rundir import RunFinishedWarning


def tiny_transfer(num_classes: int = 10) -> keras.Model:
    """A transfer model around a small backbone with named blocks (fast, and no registry entry)."""
    backbone = keras.Sequential([keras.Input((28, 28, 1)),
                                 keras.layers.Conv2D(8, 3, activation="relu", name="block1_conv"),
                                 keras.layers.Conv2D(8, 3, activation="relu", name="block2_conv"),
                                 keras.layers.GlobalAveragePooling2D(name="block2_pool")], name="tiny_backbone")
    return cnnkit.transfer_model(backbone, None, num_classes=num_classes)


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(n=256, n_test=64, seed=1)


class Spy(keras.callbacks.Callback):
    """Records, at the start of each phase, what the engine set up (no per-batch hooks)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_begin(self, logs=None):
        self.seen.append({"steps": int(self.model.steps_per_execution),
                          "policy": self.model.get_layer("tiny_backbone").layers[0].dtype_policy.name,
                          "lr": float(np.asarray(self.model.optimizer.learning_rate)),
                          "trainable": len(self.model.trainable_weights)})


def test_both_phases_get_the_engines_levers(fm):
    model, spy = tiny_transfer(), Spy()
    h = cnnkit.fine_tune(model, (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=2, unfreeze="block2",
                         learning_rate=2e-3, precision="mixed_bfloat16", steps_per_execution=4, callbacks=[spy],
                         cache_features=False, verbose=0)  # the whole model in both phases (see test_features.py)
    assert h["epoch"] == [1, 2, 3] and h["phase"] == ["head", "fine_tune", "fine_tune"]
    assert [s["steps"] for s in spy.seen] == [4, 4]
    assert [s["policy"] for s in spy.seen] == ["mixed_bfloat16"] * 2
    assert [s["lr"] for s in spy.seen] == pytest.approx([2e-3, 2e-4])  # fine_tune_learning_rate = lr / 10
    assert spy.seen[1]["trainable"] > spy.seen[0]["trainable"]  # block2 unfrozen for phase 2
    assert model.get_layer("tiny_backbone").layers[0].dtype_policy.name == "float32"  # restored afterwards
    assert h["learning_rate"] == pytest.approx([2e-3, 2e-4, 2e-4])


def test_data_checks_apply(fm):
    with pytest.raises(ValueError, match=r"fine_tune\(\): `y` has class ids from 1 to 10.*1-based"):
        cnnkit.fine_tune(tiny_transfer(), (fm["x_train"], fm["y_train"] + 1), unfreeze="block2", verbose=0)
    with pytest.raises(ValueError, match=r"fine_tune\(\): `x` holds images of shape \(32, 32, 1\)"):
        cnnkit.fine_tune(tiny_transfer(), (np.zeros((4, 32, 32, 1)), [0, 1, 2, 3]), unfreeze="block2", verbose=0)


def test_class_names_of_the_data_are_remembered(fm, tmp_path):
    model = tiny_transfer()
    data = {"x": fm["x_train"], "y": fm["y_train"], "class_names": fm["class_names"]}
    cnnkit.fine_tune(model, data, head_epochs=1, epochs=0, verbose=0)
    labels = cnnkit.predict_classes(model, fm["x_test"][:5])["label"]
    assert set(labels) <= set(fm["class_names"])
    cnnkit.save_model(model, tmp_path / "m.keras")  # no class_names given: the remembered ones are stored
    assert cnnkit.saving.class_names_of(cnnkit.load_model(tmp_path / "m.keras")) == fm["class_names"]
    with pytest.raises(ValueError, match=r"`data` has 3 classes .* the model predicts 10 classes"):
        cnnkit.fine_tune(tiny_transfer(), {**data, "class_names": ["a", "b", "c"]}, unfreeze="block2", verbose=0)


def test_old_argument_names_still_work_with_a_warning(fm):
    spy = Spy()
    with pytest.warns(FutureWarning, match="`lr` is deprecated; use `learning_rate`"):
        cnnkit.fine_tune(tiny_transfer(), (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=1, lr=5e-3,
                         lr_fine=1e-4, unfreeze="block2", callbacks=[spy], verbose=0)
    assert [s["lr"] for s in spy.seen] == pytest.approx([5e-3, 1e-4])


def test_verbose_auto_prints_one_line_per_epoch_off_a_terminal(fm, capsys):
    cnnkit.fine_tune(tiny_transfer(), (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=1, unfreeze="block2")
    out = capsys.readouterr().out
    assert out.count("2/2 - ") == 2 and "Epoch 2/2" in out and "\r" not in out  # a line per epoch, no bar


def test_finished_run_is_loaded_not_retrained(fm, tmp_path):
    model = tiny_transfer()
    h = cnnkit.fine_tune(model, (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=1, unfreeze="block2",
                         run_dir=tmp_path / "run", verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    assert {"head", "fine_tune", "history.csv", "run.json"} <= {p.name for p in (tmp_path / "run").iterdir()}
    again = tiny_transfer()
    with pytest.warns(RunFinishedWarning, match="holds a finished run"):
        h2 = cnnkit.fine_tune(again, (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=1, unfreeze="block2",
                              run_dir=tmp_path / "run", verbose=0)
    assert h2["epoch"] == h["epoch"] and h2["phase"] == h["phase"]
    np.testing.assert_allclose(h2["loss"], h["loss"], rtol=1e-6)
    for a, b in zip(weights, again.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"other settings: .*epochs 1 \(now 2\)"):
        cnnkit.fine_tune(tiny_transfer(), (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=2,
                         unfreeze="block2", run_dir=tmp_path / "run", verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunFinishedWarning)  # overwrite: trained again, no warning
        cnnkit.fine_tune(tiny_transfer(), (fm["x_train"], fm["y_train"]), head_epochs=1, epochs=2,
                         unfreeze="block2", run_dir=tmp_path / "run", overwrite=True, verbose=0)


CHILD = r"""
import json, sys, time
import cnnkit, keras
sys.path.insert(0, sys.argv[2])
from test_fine_tune import tiny_transfer

keras.utils.set_random_seed(0)
d = cnnkit.load_fashion_mnist(n=640, seed=0)


class Slow(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        print("EPOCH_BEGIN", epoch + 1, flush=True)

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.03)


h = cnnkit.fine_tune(tiny_transfer(), (d["x_train"], d["y_train"]), head_epochs=2, epochs=2, unfreeze="block2",
                     batch_size=32, run_dir=sys.argv[1], callbacks=[Slow()], verbose=0)
print("HISTORY", json.dumps(h), flush=True)
"""


def _run(script: Path, run_dir: Path) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir), str(Path(__file__).parent)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    return proc, lines


@pytest.mark.parametrize("phase,kill_in_epoch", [("head", 2), ("fine_tune", 4)])
def test_killed_in_either_phase_resumes_there(tmp_path, phase, kill_in_epoch):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    run = tmp_path / "run"
    meta = run / phase / "backup" / "training_metadata.json"
    proc, lines = _run(script, run)
    deadline = time.time() + 120
    begun = lambda: [int(ln.split()[1]) for ln in lines if ln.startswith("EPOCH_BEGIN")]  # noqa: E731
    while time.time() < deadline and not (meta.exists() and begun()[-1:] == [kill_in_epoch]):
        assert proc.poll() is None, "".join(lines)
        time.sleep(0.02)
    time.sleep(0.2)
    assert proc.poll() is None, "".join(lines)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert json.loads(meta.read_text())["epoch"] == kill_in_epoch - 1

    proc, lines = _run(script, run)
    assert proc.wait(timeout=120) == 0, "".join(lines)
    time.sleep(0.2)
    out = "".join(lines)
    assert begun() == list(range(kill_in_epoch, 5)), out  # the finished epochs (and phase) are not re-run
    h = json.loads(out.split("HISTORY ", 1)[1].splitlines()[0])
    assert h["epoch"] == [1, 2, 3, 4] and h["phase"] == ["head", "head", "fine_tune", "fine_tune"]
    assert all(np.isfinite(h["loss"]))
    rows = (run / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,phase") and len(rows) == 5
