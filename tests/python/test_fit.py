"""fit_classifier, plot_history, evaluate_classifier, predict_classes, save_model/load_model, and the
bad-input cases of tests/spec/training.json (shared with testthat)."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import cnnkit
from conftest import load_spec

SPEC = load_spec("training")


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(n=600, n_test=300, seed=0)


def small_model(num_classes=10, input_shape=(28, 28, 1)):
    return cnnkit.simple_cnn(input_shape, blocks=2, filters=8, units=16, num_classes=num_classes)


def test_fit_compiles_if_needed_and_returns_history(fm, tmp_path):
    model = small_model()
    assert not model.compiled
    h = cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=3, validation_split=0.2,
                              batch_size=64, learning_rate=3e-3, verbose=0)
    assert model.compiled and model.loss == "sparse_categorical_crossentropy"
    assert h["epoch"] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(h)
    assert all(len(v) == 3 for v in h.values())
    assert h["loss"][-1] < h["loss"][0]
    # a compiled model keeps its optimizer: training continues
    opt = model.optimizer
    cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=1, verbose=0)
    assert model.optimizer is opt


def test_cosine_schedule_is_one_cycle(fm):
    model = small_model()
    h = cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=5, batch_size=100,
                              learning_rate=1e-2, schedule="cosine", verbose=0)
    lr = h["learning_rate"]
    assert max(lr) <= 1e-2 + 1e-9 and lr[-1] < 1e-3 and lr.index(max(lr)) not in (len(lr) - 1,)


def test_binary_model_with_2_class_subset():
    d = cnnkit.load_fashion_mnist(classes=(0, 9), channels=3, pad=True, n=200, n_test=100)
    model = cnnkit.simple_cnn()  # the slides' model: 32x32x3, 1 sigmoid unit
    h = cnnkit.fit_classifier(model, (d["x_train"], d["y_train"]), epochs=2, verbose=0)
    assert model.loss == "binary_crossentropy" and h["accuracy"][-1] > 0.5
    ev = cnnkit.evaluate_classifier(model, (d["x_test"], d["y_test"]), d["class_names"])
    assert ev["confusion_matrix"].shape == (2, 2) and ev["n"] == 100
    p = cnnkit.predict_classes(model, d["x_test"][:5], d["class_names"])
    assert p["probabilities"].shape == (5, 2)
    np.testing.assert_allclose(p["probabilities"].sum(1), 1, rtol=1e-6)


def test_run_dir_early_stopping_and_checkpoint(fm, tmp_path):
    model = small_model()
    run = tmp_path / "run"
    stop = []

    class Worse(keras.callbacks.Callback):  # validation loss that only gets worse after epoch 1
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = 1.0 + epoch
            stop.append(epoch)

    h = cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=10, batch_size=100,
                              validation_data=(fm["x_test"], fm["y_test"]), early_stopping=2,
                              run_dir=run, callbacks=[Worse()], verbose=0)
    assert h["epoch"] == [1, 2, 3]  # best at 1, patience 2
    # backup and lock removed when done; the final weights and the settings kept
    assert sorted(p.name for p in run.iterdir()) == ["best.keras", "history.csv", "model.weights.h5", "run.json"]
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    best = cnnkit.load_model(run / "best.keras")
    assert best.count_params() == model.count_params()


def test_plot_history_from_dict_and_keras_history(fm, tmp_path):
    h = {"epoch": [1, 2, 3], "loss": [1.0, 0.7, 0.5], "accuracy": [0.5, 0.7, 0.8],
         "val_loss": [1.1, 0.8, 0.7], "val_accuracy": [0.4, 0.6, 0.7]}
    path = cnnkit.plot_history(h, tmp_path / "h.png")
    assert Image.open(path).format == "PNG"
    model = cnnkit.compile_classifier(small_model())
    kh = model.fit(fm["x_train"][:64], fm["y_train"][:64], epochs=2, verbose=0)
    assert Path(cnnkit.plot_history(kh, tmp_path / "k.svg")).read_text().startswith("<?xml")
    with pytest.raises(TypeError, match="`history`"):
        cnnkit.plot_history([1, 2], tmp_path / "x.png")
    with pytest.raises(ValueError, match="`history`"):
        cnnkit.plot_history({"loss": [1, 2], "accuracy": [1]}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="`file`"):
        cnnkit.plot_history(h, tmp_path / "x.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.png", "k.svg"]


def test_evaluate_classifier_table_and_plot(fm, tmp_path):
    model = small_model()
    cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=2, verbose=0)
    ev = cnnkit.evaluate_classifier(model, (fm["x_test"], fm["y_test"]), fm["class_names"], file=tmp_path / "cm.png")
    cm = ev["confusion_matrix"]
    assert cm.shape == (10, 10) and cm.sum() == 300 == ev["n"]
    assert cm.sum(1).tolist() == np.bincount(fm["y_test"], minlength=10).tolist()
    pred = model.predict(fm["x_test"], verbose=0).argmax(1)
    assert ev["accuracy"] == pytest.approx((pred == fm["y_test"]).mean())
    pc = ev["per_class"]
    assert pc["class"] == fm["class_names"] and pc["support"] == cm.sum(1).tolist()
    for i in range(10):
        assert pc["recall"][i] == pytest.approx(cm[i, i] / cm[i].sum())
        if cm[:, i].sum():
            assert pc["precision"][i] == pytest.approx(cm[i, i] / cm[:, i].sum())
    assert Image.open(ev["file"]).format == "PNG"
    from cnnkit.evaluate import format_evaluation
    text = format_evaluation(ev)
    assert "accuracy:" in text and "Ankle boot" in text and "confusion matrix" in text


def test_predict_classes_on_arrays_and_image_files(fm, tmp_path):
    model = small_model()
    cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=1, verbose=0)
    p = cnnkit.predict_classes(model, fm["x_test"][:4], class_names=fm["class_names"])
    assert p["class_id"].shape == (4,) and p["probabilities"].shape == (4, 10)
    assert p["label"] == [fm["class_names"][i] for i in p["class_id"]]
    np.testing.assert_allclose(p["probability"], p["probabilities"].max(1))
    files = []
    for i, ext in enumerate(["png", "jpg"]):
        f = tmp_path / f"img{i}.{ext}"
        Image.fromarray((fm["x_test"][i, ..., 0] * 255).round().astype("uint8")).save(f, quality=100)
        files.append(str(f))
    pf = cnnkit.predict_classes(model, files)
    assert pf["label"] == [str(i) for i in pf["class_id"]]  # no names known
    np.testing.assert_allclose(pf["probabilities"][0], p["probabilities"][0], atol=1e-3)  # the PNG is lossless
    assert cnnkit.predict_classes(model, files[0])["class_id"].shape == (1,)
    with pytest.raises(ValueError, match=r"predict_classes\(\): `x` entry .* does not exist"):
        cnnkit.predict_classes(model, [str(tmp_path / "missing.png")])
    with pytest.raises(ValueError, match="one image"):
        cnnkit.predict_classes(model, fm["x_test"][0])


def test_save_load_round_trip_keeps_predictions_and_class_names(fm, tmp_path):
    model = small_model()
    cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), epochs=1, verbose=0)
    path = cnnkit.save_model(model, tmp_path / "sub" / "m.keras", class_names=fm["class_names"])
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["m.keras"]
    loaded = cnnkit.load_model(path)
    np.testing.assert_array_equal(loaded.predict(fm["x_test"], verbose=0), model.predict(fm["x_test"], verbose=0))
    assert cnnkit.predict_classes(loaded, fm["x_test"][:3])["label"][0] in fm["class_names"]
    # plain Keras loads it too (the class names are an extra zip member Keras ignores)
    assert keras.saving.load_model(path).count_params() == model.count_params()
    assert "cnnkit.json" in zipfile.ZipFile(path).namelist()


def test_save_model_is_atomic(tmp_path, monkeypatch):
    model = small_model()
    target = tmp_path / "m.keras"
    cnnkit.save_model(model, target)
    before = target.read_bytes()

    def broken_save(self, filepath, *a, **k):
        Path(filepath).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        cnnkit.save_model(model, target)
    assert target.read_bytes() == before  # the old file is untouched
    with pytest.raises(OSError):
        cnnkit.save_model(model, tmp_path / "new.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no partial or temporary file


def test_load_model_refuses_corrupt_and_unsafe_files(tmp_path):
    with pytest.raises(ValueError, match="`file` .* does not exist"):
        cnnkit.load_model(tmp_path / "none.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a .keras model file"):
        cnnkit.load_model(bad)
    good = tmp_path / "good.keras"
    cnnkit.save_model(small_model(), good)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="`file`"):
        cnnkit.load_model(truncated)
    damaged = tmp_path / "damaged.keras"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(damaged, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            zout.writestr(item, b"{broken json" if item == "config.json" else data)
    with pytest.raises(ValueError, match="`file`"):
        cnnkit.load_model(damaged)
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2),
                            keras.layers.Dense(2, activation="softmax")])
    lam.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        cnnkit.load_model(tmp_path / "lambda.keras")
    assert cnnkit.load_model(tmp_path / "lambda.keras", safe_mode=False).count_params() == 10


def test_save_model_bad_input(tmp_path):
    with pytest.raises(ValueError, match="`file` must end in .keras"):
        cnnkit.save_model(small_model(), tmp_path / "m.h5")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="`file`.*not a writable directory"):
        cnnkit.save_model(small_model(), blocker / "m.keras")
    with pytest.raises(TypeError, match="`model`"):
        cnnkit.save_model("model", tmp_path / "m.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# --- bad input from the shared spec ---------------------------------------------------------------

def build_case(case, tmp_path):
    spec = SPEC["bad_input_model"]
    model = getattr(cnnkit, spec["factory"])(**{**spec["args"], **case["model"]})
    x = np.full(case["x_shape"], 0.5, dtype="float32")
    if case.get("x_nan"):
        x.flat[3] = np.nan
    args = dict(case["args"])
    if args.get("run_dir") == "RUN_DIR_UNDER_A_FILE":
        (tmp_path / "a_file").write_text("x")
        args["run_dir"] = str(tmp_path / "a_file" / "run")
    if case["call"] == "predict_classes":
        return model, [x], args
    y = np.array([np.nan if v is None else v for v in case["y"]])
    return model, [(x, y)], args


@pytest.mark.parametrize("case", SPEC["fit_bad_input"], ids=lambda c: c["id"])
def test_bad_input_is_a_clear_error_and_leaves_no_files(case, tmp_path):
    model, pos, args = build_case(case, tmp_path)
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises((TypeError, ValueError)) as err:
        getattr(cnnkit, case["call"])(model, *pos, **args)
    msg = str(err.value)
    assert msg.startswith(f"{case['call']}(): "), msg
    assert case["error_names"] in msg, msg
    assert case.get("message", "") in msg, msg
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # nothing trained
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["a_file"])  # no run directory left


def test_failure_during_training_removes_the_new_run_dir(fm, tmp_path):
    class Boom(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cnnkit.fit_classifier(small_model(), (fm["x_train"], fm["y_train"]), epochs=2,
                              run_dir=tmp_path / "run", callbacks=[Boom()], verbose=0)
    assert not (tmp_path / "run").exists()


def test_fit_rejects_other_kinds_of_data(fm):
    model = small_model()
    with pytest.raises(TypeError, match="`data`"):
        cnnkit.fit_classifier(model, fm["x_train"], epochs=1)
    with pytest.raises(ValueError, match="`validation y`"):
        cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), validation_data=(fm["x_test"], fm["y_test"] + 10))
    with pytest.raises(ValueError, match="`verbose`"):
        cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), verbose=3)
    with pytest.raises(ValueError, match="One-hot"):
        cnnkit.fit_classifier(model, (fm["x_train"], np.eye(10)[fm["y_train"]]))
    with pytest.raises(TypeError, match="`model`"):
        cnnkit.fit_classifier("lenet5", (fm["x_train"], fm["y_train"]))


def test_auto_verbosity_is_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch):
    import io
    import sys

    from cnnkit.engine import progress_verbosity

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert progress_verbosity("auto") == 2          # a log, knitr, CI: one line per epoch
    monkeypatch.setattr(sys, "stdout", Tty())
    assert progress_verbosity("auto") == 1          # a terminal: Keras' progress bar
    assert progress_verbosity(0) == 0 and progress_verbosity(1) == 1


def test_fit_classifier_prints_one_line_per_epoch_when_not_on_a_terminal(capsys):
    model = cnnkit.simple_cnn((16, 16, 1), blocks=1, filters=4, units=8, num_classes=3)
    x = np.random.default_rng(0).random((12, 16, 16, 1), dtype="float32")
    cnnkit.fit_classifier(model, (x, np.arange(12) % 3), epochs=2, batch_size=4)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and "\r" not in out and "\x1b[" not in out


def test_images_reach_keras_as_row_major_float32():
    """R arrays arrive column-major (and as doubles): one conversion up front, not a strided copy
    per batch inside Keras."""
    from cnnkit._data_checks import check_images

    model = cnnkit.simple_cnn((16, 16, 1), blocks=1, filters=4, units=8, num_classes=3)
    x = np.asfortranarray(np.random.default_rng(0).random((4, 16, 16, 1)))
    out = check_images(model, x, "x")
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, x.astype("float32"))
