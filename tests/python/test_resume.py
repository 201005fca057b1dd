"""A run killed mid-epoch resumes where it stopped: a real subprocess trains a tiny model with a run
directory, is killed with SIGKILL during epoch 2 (after epoch 1's backup exists), and is started
again. It finishes the remaining epochs, starting from epoch 2, with the weights it had learned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHILD = r"""
import json, sys, time
import cnnkit, keras, numpy as np

run_dir, epochs = sys.argv[1], int(sys.argv[2])
keras.utils.set_random_seed(0)
d = cnnkit.load_fashion_mnist(n=640, seed=0)
x, y = d["x_train"], d["y_train"]
probe_x, probe_y = x[:256], y[:256]
model = cnnkit.mlp_classifier((28, 28, 1), units=64, num_classes=10)


def probe_loss(m):
    p = m(probe_x, training=False)
    return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(probe_y, p)))


class Report(keras.callbacks.Callback):
    # runs after BackupAndRestore's on_train_begin: sees the restored weights
    def on_train_begin(self, logs=None):
        print("START_LOSS", probe_loss(self.model), flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        print("EPOCH_BEGIN", epoch + 1, flush=True)

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)  # epochs long enough to be killed in the middle of one

    def on_epoch_end(self, epoch, logs=None):
        print("EPOCH_END", epoch + 1, probe_loss(self.model), flush=True)


h = cnnkit.fit_classifier(model, (x, y), epochs=epochs, batch_size=32, learning_rate=3e-3, run_dir=run_dir,
                          callbacks=[Report()], verbose=0)
print("HISTORY", json.dumps(h), flush=True)
"""


def _start(script: Path, run_dir: Path, epochs: int) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir), str(epochs)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    return proc, lines


def _values(lines: list[str], key: str) -> list[list[str]]:
    return [ln.split()[1:] for ln in lines if ln.startswith(key + " ")]


def test_killed_run_resumes_from_last_epoch_without_losing_weights(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    run_dir, epochs = tmp_path / "run", 4
    meta = run_dir / "backup" / "training_metadata.json"

    proc, lines = _start(script, run_dir, epochs)
    deadline = time.time() + 90
    # wait until epoch 1 is backed up and epoch 2 is under way, then a few batches more
    while time.time() < deadline and not (meta.exists() and _values(lines, "EPOCH_BEGIN")[-1:] == [["2"]]):
        assert proc.poll() is None, "".join(lines)
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it could be killed:\n" + "".join(lines)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    first = list(lines)
    assert json.loads(meta.read_text())["epoch"] == 1, "".join(first)
    assert not _values(first, "EPOCH_END")[1:], "epoch 2 must not have completed"
    initial_loss = float(_values(first, "START_LOSS")[0][0])
    loss_after_1 = float(_values(first, "EPOCH_END")[0][1])
    assert loss_after_1 < initial_loss - 0.1, "".join(first)

    proc, lines = _start(script, run_dir, epochs)
    assert proc.wait(timeout=90) == 0, "".join(lines)
    time.sleep(0.2)  # let the reader thread drain the pipe
    out = "".join(lines)
    # it starts again at epoch 2 and runs 2, 3, 4 only
    assert [int(v[0]) for v in _values(lines, "EPOCH_BEGIN")] == [2, 3, 4], out
    # with the weights of epoch 1, not fresh ones
    resumed_loss = float(_values(lines, "START_LOSS")[0][0])
    assert resumed_loss == pytest.approx(loss_after_1, abs=1e-4), out
    assert resumed_loss < initial_loss - 0.1
    history = json.loads(out.split("HISTORY ", 1)[1].splitlines()[0])
    assert history["epoch"] == [1, 2, 3, 4]  # epoch 1's row kept from before the kill
    assert history["loss"][-1] < history["loss"][0]
    assert not (run_dir / "backup").exists()  # removed once the run completed
    assert sorted(p.name for p in run_dir.iterdir()) == ["best.keras", "history.csv", "model.weights.h5", "run.json"]
