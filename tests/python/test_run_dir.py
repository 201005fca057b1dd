"""Run directories that cannot clobber each other: settings recorded and checked on resume, finished
runs not trained again, one process at a time, and a full or read-only disk as one line that names
the folder -- in the API and in the CLI (which never prints a traceback for these)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit import cli
from cnnkit.rundir import RunDirError, RunFinishedWarning


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(n=300, n_test=100, seed=2)


def small():
    keras.utils.set_random_seed(0)
    return cnnkit.mlp_classifier((28, 28, 1), units=16, num_classes=10)


def fit(fm, run, **kw):
    args = dict(epochs=2, batch_size=50, run_dir=run, verbose=0)
    args.update(kw)
    return cnnkit.fit_classifier(kw.pop("model", None) or small(), (fm["x_train"], fm["y_train"]),
                                 **{k: v for k, v in args.items() if k != "model"})


class Stop(keras.callbacks.Callback):
    """Interrupts training at the end of an epoch, as a kill would (after that epoch's files)."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.at:
            raise KeyboardInterrupt


def test_settings_are_recorded_and_a_different_resume_is_an_error(fm, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(fm, run, epochs=3, callbacks=[Stop(1)])
    record = json.loads((run / "run.json").read_text())
    assert record["fit"]["status"] == "running" and record["fit"]["settings"]["epochs"] == 3
    with pytest.raises(ValueError) as e:
        fit(fm, run, epochs=4, batch_size=25, learning_rate=1e-2)
    msg = str(e.value)
    assert "fit_classifier(): `run_dir`" in msg and str(run) in msg
    assert "epochs 3 (now 4)" in msg and "batch_size 50 (now 25)" in msg and "learning_rate 0.001 (now 0.01)" in msg
    assert "overwrite=True" in msg and "\n" not in msg
    other = cnnkit.load_fashion_mnist(n=300, seed=3)  # other images: the data differ
    with pytest.raises(ValueError, match="data differs"):
        cnnkit.fit_classifier(small(), (other["x_train"], other["y_train"]), epochs=3, batch_size=50, run_dir=run,
                              verbose=0)
    with pytest.raises(ValueError, match="model"):
        fit(fm, run, epochs=3, model=cnnkit.mlp_classifier((28, 28, 1), units=8, num_classes=10))
    h = fit(fm, run, epochs=3)  # the same settings: resumes
    assert h["epoch"] == [1, 2, 3]


def test_a_finished_run_is_loaded_not_retrained(fm, tmp_path):
    run = tmp_path / "run"
    model = small()
    h = fit(fm, run, model=model)
    final = [w.copy() for w in model.get_weights()]
    stamp = (run / "history.csv").stat().st_mtime_ns
    fresh = small()
    with pytest.warns(RunFinishedWarning, match=r"holds a finished run \(2 epochs\).*overwrite=True"):
        h2 = fit(fm, run, model=fresh)
    assert h2 == h
    for a, b in zip(final, fresh.get_weights()):
        np.testing.assert_array_equal(a, b)  # the final weights, not the fresh ones
    assert (run / "history.csv").stat().st_mtime_ns == stamp  # nothing rewritten
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunFinishedWarning)
        h3 = fit(fm, run, overwrite=True, epochs=1)
    assert h3["epoch"] == [1] and json.loads((run / "run.json").read_text())["fit"]["settings"]["epochs"] == 1


def test_overwrite_keeps_files_that_are_not_cnnkits(fm, tmp_path):
    run = tmp_path / "run"
    fit(fm, run)
    (run / "notes.txt").write_text("mine")
    fit(fm, run, overwrite=True, epochs=1)
    assert (run / "notes.txt").read_text() == "mine"


def test_resume_argument_is_deprecated(fm, tmp_path):
    fit(fm, tmp_path / "run")
    with pytest.warns(FutureWarning, match="`resume` is deprecated"):
        h = fit(fm, tmp_path / "run", resume=False, epochs=1)  # resume=False: start afresh
    assert h["epoch"] == [1]


HOLDER = r"""
import sys, time
from cnnkit.rundir import run_directory
with run_directory(sys.argv[1]):
    print("HOLDING", flush=True)
    time.sleep(60)
"""


def test_a_second_process_gets_a_clear_error(fm, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "HOLDING"
        with pytest.raises(RunDirError) as e:
            fit(fm, run)
        msg = str(e.value)
        assert f"`run_dir` {str(run)!r} is in use by another training run (process {holder.pid}" in msg
        assert "use another run_dir" in msg and "\n" not in msg
        p = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--subset", "100", "--epochs", "1",
                            "--run-dir", str(run)], capture_output=True, text=True, timeout=120)
        assert p.returncode == cli.EXIT_ENVIRONMENT, p.stderr
        assert "is in use by another training run" in p.stderr and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    fit(fm, run)  # a killed holder leaves no stale lock
    assert not (run / ".lock").exists()


def _full_disk(monkeypatch, target: str):
    """Every write of the run's history fails as on a full disk (ENOSPC)."""
    import cnnkit.engine as engine

    def full(rows, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(engine, target, full)


def test_a_full_disk_is_one_line_naming_the_folder_and_leaves_no_run_dir(fm, tmp_path, monkeypatch):
    _full_disk(monkeypatch, "write_history_csv")
    run = tmp_path / "new-run"
    with pytest.raises(RunDirError) as e:
        fit(fm, run)
    msg = str(e.value)
    assert msg.startswith("fit_classifier(): could not write to `run_dir`") and str(run) in msg
    assert "No space left on device" in msg and "Free some space" in msg and "\n" not in msg
    assert not run.exists()  # made for this run, no epoch completed: removed


def test_cli_full_disk_exit_status_and_one_line(tmp_path, monkeypatch, capsys):
    _full_disk(monkeypatch, "write_history_csv")
    status = cli.main(["train", "--subset", "100", "--epochs", "1", "--run-dir", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert status == cli.EXIT_ENVIRONMENT
    assert "could not write to `run_dir`" in err and "No space left" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_read_only_run_dir_is_one_line(tmp_path):
    for run_dir in ("/proc/cnnkit-run", "/sys/cnnkit-run"):
        p = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--subset", "100", "--epochs", "1",
                            "--run-dir", run_dir], capture_output=True, text=True, timeout=120)
        assert p.returncode == cli.EXIT_INPUT, p.stderr
        assert f"`run_dir` '{run_dir}' is not a writable directory" in p.stderr and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 256 KB file system (tmpfs), where the machine lets us mount one."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (the ENOSPC path is tested above by injection)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


FULL = r"""
import sys, cnnkit
from cnnkit.rundir import RunDirError
d = cnnkit.load_fashion_mnist(n=300, seed=2)
try:
    cnnkit.fit_classifier(cnnkit.fashion_cnn(), (d["x_train"], d["y_train"]), epochs=2, run_dir=sys.argv[1], verbose=0)
except RunDirError as e:
    print("ERROR", e, flush=True)
"""


def test_a_really_full_disk(tiny_disk):
    # in a process of its own: h5py leaves a half-written file object that only fails when it is freed
    run = tiny_disk / "run"
    p = subprocess.run([sys.executable, "-c", FULL, str(run)], capture_output=True, text=True, timeout=300)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("ERROR ")]
    assert line, p.stdout + p.stderr
    assert "could not write to `run_dir`" in line[0] and ": No space left on device. Free" in line[0]
    # kept only if an epoch's row was written (it was: the history is small, the backup is not), and
    # then without cnnkit's temporary files
    left = [q.name for q in run.rglob("*")] if run.exists() else []
    assert not left or "history.csv" in left, left
    assert not [n for n in left if n.startswith(".") and n != ".lock"], left


def test_cli_errors_never_print_a_traceback(tmp_path):
    cases = [
        (["train", "--epochs", "0"], 2, "must be >= 1"),
        (["train", "--data", str(tmp_path / "missing")], 2, "does not exist"),
        (["evaluate", str(tmp_path / "nothing.keras")], 2, "does not exist"),
        (["predict", str(tmp_path / "nothing.keras"), "x.png"], 2, "does not exist"),
    ]
    for args, status, text in cases:
        p = subprocess.run([sys.executable, "-m", "cnnkit", *args], capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
        assert p.returncode == status, (args, p.stderr)
        assert text in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) <= 2, (args, p.stderr)


def test_debug_shows_the_traceback(tmp_path):
    for args, env in ((["--debug"], {}), ([], {"CNNKIT_DEBUG": "1"})):
        p = subprocess.run([sys.executable, "-m", "cnnkit", *args, "evaluate", str(tmp_path / "x.keras")],
                           capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert p.returncode == 2 and "Traceback (most recent call last)" in p.stderr


def test_internal_errors_are_named_as_such(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["summary"].set_defaults(func=broken)
    assert cli.main(["summary"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: division by zero" in err and "--debug" in err
    assert "Traceback" not in err


def test_lock_is_reentrant_within_a_process_and_released(fm, tmp_path):
    from cnnkit.rundir import run_directory

    run = tmp_path / "run"
    with run_directory(run):
        assert (run / ".lock").exists()
        fit(fm, run)  # the same process may train inside its own open run directory
    assert not (run / ".lock").exists()


# --- a kill while the backup is written (issue 25, item 7) -----------------------------------------

def _cut(path: Path) -> None:
    """What a kill in the middle of writing leaves: the first part of the file."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("damage", ["weights cut", "no metadata", "metadata cut"])
def test_a_run_killed_during_its_first_backup_starts_again_from_epoch_1(fm, tmp_path, damage):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(fm, run, callbacks=[Stop(1)])  # epoch 1 of 2 and its backup written, then stopped
    backup = run / "backup"
    assert not list(backup.glob("*.bkp"))  # the first backup: no earlier one to fall back on
    if damage == "weights cut":
        _cut(backup / "latest.weights.h5")
    elif damage == "no metadata":
        (backup / "training_metadata.json").unlink()  # killed between the weights and the epoch
    else:
        (backup / "training_metadata.json").write_text('{"epo')
    with pytest.warns(UserWarning, match=r"no complete backup .*first one.*starts again from epoch 1.*overwrite=True"):
        h = fit(fm, run)
    assert h["epoch"] == [1, 2]
    assert json.loads((run / "run.json").read_text())["fit"]["status"] == "finished"


def test_a_run_killed_during_a_later_backup_resumes_from_the_one_before(fm, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(fm, run, epochs=3, callbacks=[Stop(2)])  # backups of epochs 1 and 2 (epoch 1's as *.bkp)
    (run / "backup" / "training_metadata.json").write_text("")  # killed while writing epoch 2's
    with pytest.warns(UserWarning, match=r"backup of epoch 2; it resumes from the complete backup before it"):
        h = fit(fm, run, epochs=3)
    assert h["epoch"] == [1, 2, 3]
