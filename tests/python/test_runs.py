"""Runs (cnnkit.runs, issue 28 items 2 and 3): seed= gives the same weights bit for bit on a CPU, every
run directory has a run card, TensorBoard logs on request, and compare_runs()/plot_runs() put runs side
by side -- from Python, the CLI, fine_tune()'s two phases and the main job."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.runs import format_run_card, read_tensorboard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data():
    d = cnnkit.load_fashion_mnist(n=256, n_test=10)
    return d["x_train"], d["y_train"]


def small():
    return cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)


def weights_after(data, seed, precision="float32", dropout=False):
    keras.utils.set_random_seed(0)  # the same starting weights
    m = small()
    if dropout:  # a Dropout layer: its random masks come from the seed too
        m = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.3),
                              keras.layers.Dense(10, activation="softmax")])
    cnnkit.fit_classifier(m, data, epochs=2, batch_size=32, verbose=0, seed=seed, precision=precision)
    return [np.asarray(w) for w in m.get_weights()]


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_the_same_seed_gives_the_same_weights_bit_for_bit(data, precision):
    a, b, c = (weights_after(data, s, precision) for s in (1, 1, 2))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))  # another seed: another shuffle


def test_seed_covers_dropout_too(data):
    a, b = weights_after(data, 3, dropout=True), weights_after(data, 3, dropout=True)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_bad_seed_names_it(data):
    with pytest.raises((TypeError, ValueError), match=r"fit_classifier\(\): `seed`"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, seed=-1)
    with pytest.raises((TypeError, ValueError), match=r"lr_find\(\): `seed`"):
        cnnkit.lr_find(small(), data, steps=10, seed="x")


def test_lr_find_with_a_seed_repeats_its_losses(data):
    keras.utils.set_random_seed(0)
    m = small()
    a = cnnkit.lr_find(m, data, steps=12, batch_size=32, seed=4)["loss"]
    b = cnnkit.lr_find(m, data, steps=12, batch_size=32, seed=4)["loss"]  # weights restored after each
    assert a == b


def test_a_run_card_says_what_ran_where_and_how_well(data, tmp_path):
    run = tmp_path / "run"
    cnnkit.fit_classifier(small(), data, epochs=2, verbose=0, run_dir=run, seed=7, validation_split=0.25)
    card = cnnkit.run_card(run)
    assert card["kind"] == "fit" and card["status"] == "finished" and card["epochs"] == 2
    assert card["seed"] == 7 and card["precision"] in ("float32", "mixed_bfloat16")
    assert card["versions"]["keras"] == keras.__version__ and card["versions"]["cnnkit"] == cnnkit.__version__
    assert card["device"]["cores"] >= 1 and card["device"]["cpu"]
    assert card["data"]["shape"] == [256, 28, 28, 1]
    assert card["seconds"] > 0 and set(card["metrics"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert "learning_rate" not in card["metrics"]  # a setting, not a result
    text = str(card)
    assert text == format_run_card(card)
    for bit in ("(fit, finished)", "seed      7", "keras " + keras.__version__, "val_accuracy"):
        assert bit in text, (bit, text)


def test_a_killed_run_reads_as_running(data, tmp_path):
    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cnnkit.fit_classifier(small(), data, epochs=3, verbose=0, run_dir=tmp_path / "r", callbacks=[Kill()])
    card = cnnkit.run_card(tmp_path / "r")
    assert card["status"] == "running" and card["epochs"] == 1 and card["finished"] is None
    assert "(fit, running)" in str(card)


def test_run_card_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"run_card\(\): `run_dir` .* does not exist"):
        cnnkit.run_card(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"is not a run directory \(it has no run.json\)"):
        cnnkit.run_card(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"run_card\(\): the run record .* cannot be read"):
        cnnkit.run_card(tmp_path / "bad")


def test_tensorboard_logs_per_epoch_and_needs_a_run_dir(data, tmp_path):
    run = tmp_path / "tb"
    h = cnnkit.fit_classifier(small(), data, epochs=2, verbose=0, run_dir=run, tensorboard=True,
                              validation_split=0.25)
    logs = read_tensorboard(run / "tensorboard")
    assert [e for e, _ in logs["train"]["epoch_loss"]] == [1, 2]
    np.testing.assert_allclose([x for _, x in logs["train"]["epoch_loss"]], h["loss"], rtol=1e-6)
    np.testing.assert_allclose([x for _, x in logs["validation"]["epoch_accuracy"]], h["val_accuracy"], rtol=1e-6)
    assert "epoch_learning_rate" in logs["train"]
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `tensorboard`=True .* `run_dir` is None"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, tensorboard=True)


def test_tensorboard_keeps_the_steps_per_execution(data, tmp_path):
    """The logs are written per epoch, so training keeps cnnkit's steps per execution (Keras' own
    TensorBoard callback has per-batch hooks, which would force one step per call)."""
    from cnnkit.engine import _acts_per_batch
    from cnnkit.runs import TensorBoardLogs

    assert not _acts_per_batch([TensorBoardLogs(tmp_path)])


def test_fine_tune_logs_both_phases_and_the_card_is_the_runs(tmp_path):
    x = np.random.default_rng(0).uniform(size=(8, 32, 32, 1)).astype("float32")
    y = np.arange(8) % 2
    m = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=2)
    cnnkit.fine_tune(m, (x, y), head_epochs=1, epochs=1, batch_size=8, verbose=0, run_dir=tmp_path / "ft",
                     tensorboard=True, seed=2)
    logs = read_tensorboard(tmp_path / "ft")
    assert [e for e, _ in logs["train"]["epoch_loss"]] == [1, 2]  # head epoch 1, fine-tune epoch 2
    card = cnnkit.run_card(tmp_path / "ft")
    assert card["kind"] == "fine_tune" and card["status"] == "finished" and card["seed"] == 2
    assert card["versions"]["tensorflow"]


def test_compare_runs_shows_what_differs_and_plot_runs_draws_them(data, tmp_path):
    for lr in (1e-3, 3e-3):
        cnnkit.fit_classifier(small(), data, epochs=2, verbose=0, learning_rate=lr, run_dir=tmp_path / f"lr{lr:g}",
                              validation_split=0.25, seed=1)
    (tmp_path / "notes").mkdir()  # not a run: left out
    table = cnnkit.compare_runs(tmp_path)
    assert table["run"] == ["lr0.001", "lr0.003"] and table["learning_rate"] == [1e-3, 3e-3]
    assert "batch_size" not in table and "seed" not in table  # the same in both
    assert table["epochs"] == [2, 2] and len(table["val_accuracy"]) == 2
    assert cnnkit.compare_runs([tmp_path / "lr0.001"])["run"] == ["lr0.001"]
    out = cnnkit.plot_runs(tmp_path, file=tmp_path / "curves.png")
    assert Path(out).stat().st_size > 1000
    fig = cnnkit.plot_runs(tmp_path, metric="loss")
    assert len(fig.axes[0].lines) == 4  # validation and training of each run
    with pytest.raises(ValueError, match=r"plot_runs\(\): `metric` 'f1' is in none of the runs' histories"):
        cnnkit.plot_runs(tmp_path, metric="f1")
    with pytest.raises(ValueError, match=r"compare_runs\(\): `runs` .* holds no run directories"):
        cnnkit.compare_runs(tmp_path / "notes")


def test_the_main_job_has_a_card_with_its_test_accuracy_and_the_cli_shows_cards_and_tables(tmp_path):
    r = cnnkit.train_classifier(epochs=1, subset=200, run_dir=tmp_path / "runs" / "a", verbose=0, tensorboard=True)
    card = cnnkit.run_card(tmp_path / "runs" / "a")
    assert card["kind"] == "job" and card["metrics"]["test_accuracy"] == pytest.approx(r["accuracy"])
    assert card["data"]["kind"] == "arrays" and card["seed"] == 0 and card["seconds"] > 0
    assert read_tensorboard(tmp_path / "runs" / "a")["train"]["epoch_loss"]
    cli = [sys.executable, "-m", "cnnkit"]
    p = subprocess.run(cli + ["train", "--subset", "200", "--epochs", "1", "--quiet", "--run-dir",
                              str(tmp_path / "runs" / "b"), "--learning-rate", "0.001", "--tensorboard"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "runs" / "b" / "tensorboard").is_dir()
    p = subprocess.run(cli + ["runs", str(tmp_path / "runs")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    head, *rows = p.stdout.splitlines()
    assert head.split()[:3] == ["run", "status", "learning_rate"] and "test_accuracy" in head and len(rows) == 2
    p = subprocess.run(cli + ["runs", str(tmp_path / "runs" / "a")], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert p.returncode == 0 and "(job, finished)" in p.stdout and "test_accuracy" in p.stdout, p.stdout + p.stderr
    p = subprocess.run(cli + ["runs", str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 2 and "not a folder" in p.stderr, p.stderr
    record = json.loads((tmp_path / "runs" / "a" / "run.json").read_text())
    assert record["job"]["environment"]["versions"]["numpy"] == np.__version__
