"""Data checked against the model on every entry point and kind of data (tests/spec/data_checks.json,
shared with tests/testthat/test-data-checks.R): NumPy arrays, tf.data datasets, image_folder()
datasets and the CLI's --data; labels out of range or missing, images that are not real numbers,
class names that do not match the model's outputs, arguments of the wrong type."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import cnnkit
from conftest import ROOT, load_spec

SPEC = load_spec("data_checks")


def model_for(num_classes: int):
    return getattr(cnnkit, SPEC["model"]["factory"])(**SPEC["model"]["args"], num_classes=num_classes)


def images(kind: str | None = None) -> np.ndarray:
    x = np.full(SPEC["x_shape"], 0.5)
    if kind == "missing":
        x.flat[5] = np.nan
    return {None: x, "missing": x, "bool": x > 0.2, "complex": x + 1j, "strings": x.astype(str)}[kind]


def labels(y, num_classes: int) -> np.ndarray:
    if y == "one_hot":
        return np.eye(num_classes)[np.arange(6) % num_classes]
    if y == "complex":
        return np.arange(6) % num_classes + 0j
    if y == "strings":
        return np.array(list("abcabc"))
    if y == "bool":
        return np.array([True, False, True, False, True, False])
    return np.array([np.nan if v is None else v for v in y])


def call(fn: str, model, data, tmp_path):
    if fn == "fit_classifier":
        return cnnkit.fit_classifier(model, data, epochs=1, verbose=0, run_dir=None)
    if fn == "evaluate_classifier":
        return cnnkit.evaluate_classifier(model, data)
    return cnnkit.predict_classes(model, data[0] if isinstance(data, tuple) else data)


def check(case, run, fn):
    if case.get("ok"):
        assert run() is not None
        return
    with pytest.raises((TypeError, ValueError)) as err:
        run()
    msg = str(err.value)
    assert msg.startswith(f"{fn}(): ") and case["error_names"] in msg and case.get("message", "") in msg, msg


def params(cases):
    out = []
    for case in cases:
        if case.get("lang", "py") != "py":
            continue
        for fn in case.get("calls", [case.get("call")]):
            raises = {"InvalidArgumentError": tf.errors.InvalidArgumentError}.get(case.get("xfail_raises"))
            marks = pytest.mark.xfail(strict=True, reason=case["xfail"], raises=raises) if case.get("xfail") else ()
            out.append(pytest.param(case, fn, id=f"{case['id']}-{fn}", marks=marks))
    return out


@pytest.mark.parametrize("case, fn", params(SPEC["array_cases"]))
def test_arrays(case, fn, tmp_path):
    model = model_for(case["num_classes"])
    data = (images(case.get("x")), labels(case["y"], case["num_classes"]))
    weights = [w.copy() for w in model.get_weights()]
    check(case, lambda: call(fn, model, data, tmp_path), fn)
    if not case.get("ok"):
        assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # nothing trained


def dataset(case):
    x = images(case.get("x")).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, labels(case["y"], case["num_classes"]))).batch(2)


@pytest.mark.parametrize("case, fn", params(SPEC["dataset_cases"]))
def test_datasets(case, fn, tmp_path):
    model = model_for(case["num_classes"])
    check(case, lambda: call(fn, model, dataset(case), tmp_path), fn)


def test_dataset_checks_come_from_the_element_spec_before_any_work():
    model = model_for(3)
    x = images().astype("float32")
    one_hot = tf.data.Dataset.from_tensor_slices((x, np.eye(3)[np.arange(6) % 3])).batch(2)
    with pytest.raises(ValueError, match="One-hot"):
        cnnkit.evaluate_classifier(model, one_hot)
    unbatched = tf.data.Dataset.from_tensor_slices((x, np.arange(6) % 3))
    with pytest.raises(ValueError, match=r"batch it first"):
        cnnkit.fit_classifier(model, unbatched, epochs=1, verbose=0)
    strings = tf.data.Dataset.from_tensor_slices((x, np.array(list("abcabc")))).batch(2)
    with pytest.raises(TypeError, match="string labels"):
        cnnkit.evaluate_classifier(model, strings)
    bools = tf.data.Dataset.from_tensor_slices((x > 0.2, np.arange(6) % 3)).batch(2)
    with pytest.raises(TypeError, match="TRUE/FALSE"):
        cnnkit.evaluate_classifier(model, bools)


def test_the_dataset_guard_keeps_class_names_and_translates_only_its_own_errors():
    from cnnkit._data_checks import check_data, dataset_errors

    model = model_for(3)
    ds = dataset({"y": [0, 1, 2, 0, 1, 2], "num_classes": 3})
    ds.class_names, ds.fixed_images = ["a", "b", "c"], True
    guarded = check_data(model, ds, "data")
    assert guarded.class_names == ["a", "b", "c"] and guarded.fixed_images is True
    assert sum(1 for _ in guarded) == 3
    with pytest.raises(tf.errors.InvalidArgumentError):  # not a guard's error: left as it is
        with dataset_errors():
            tf.debugging.assert_less(tf.constant(2), 1)


def make_folder(root, classes):
    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(np.full((16, 16, 3), 40 * (i + j), np.uint8)).save(root / name / f"{j}.png")
    return root


@pytest.mark.parametrize("case, fn", params(SPEC["folder_cases"]))
def test_image_folders(case, fn, tmp_path):
    folder = make_folder(tmp_path / "folder", case["folder_classes"])
    model = model_for(case["num_classes"])
    if case.get("saved_class_names"):
        model = cnnkit.load_model(cnnkit.save_model(model, tmp_path / "m.keras", class_names=case["saved_class_names"]))
    d = cnnkit.image_folder(folder, image_size=8, color_mode="grayscale", batch_size=2)
    check(case, lambda: call(fn, model, d["train"], tmp_path), fn)


@pytest.mark.parametrize("case, fn", params(SPEC["class_name_cases"]))
def test_class_names(case, fn, tmp_path):
    model = model_for(case["num_classes"])
    names = case["class_names"]
    x, y = images(), np.arange(6) % max(2, case["num_classes"]) % (2 if case["num_classes"] == 1 else 99)
    run = {"save_model": lambda: cnnkit.save_model(model, tmp_path / "m.keras", class_names=names),
           "evaluate_classifier": lambda: cnnkit.evaluate_classifier(model, (x, y), class_names=names),
           "predict_classes": lambda: cnnkit.predict_classes(model, x, class_names=names)}[fn]
    check(case, run, fn)
    if fn == "save_model" and case.get("ok"):
        assert cnnkit.predict_classes(cnnkit.load_model(tmp_path / "m.keras"), x)["label"][0] in names


@pytest.mark.parametrize("case, fn", params(SPEC["argument_cases"]))
def test_arguments_of_the_wrong_type(case, fn):
    args = dict(case["args"])
    if fn == "fit_classifier":
        args = {"model": model_for(case["num_classes"]), "data": (images(), np.arange(6) % 3), "verbose": 0, **args}
    check(case, lambda: getattr(cnnkit, fn)(**args), fn)


def test_cli_evaluate_with_a_folder_whose_classes_do_not_match(tmp_path):
    """`cnnkit evaluate MODEL --data DIR`: a folder with other classes than the model is a one-line
    error (exit status 2), not a table computed against the wrong outputs."""
    model_file = cnnkit.save_model(model_for(1), tmp_path / "m.keras", class_names=["dog", "cat"])
    for classes, says in ((["cat", "dog"], "differ"), (["a", "b", "c"], "3 classes")):
        folder = make_folder(tmp_path / "-".join(classes), classes)
        proc = subprocess.run([sys.executable, "-m", "cnnkit", "evaluate", model_file, "--data", str(folder)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert proc.returncode == 2, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("cnnkit evaluate: evaluate_classifier(): ") and "`data`" in last and says in last, last
        assert "Traceback" not in proc.stderr


# --- labels that look 1-based, logical labels (issue 25, item 1; R: tests/testthat/test-labels.R) ---

def _mlp(num_classes: int):
    return cnnkit.mlp_classifier((8, 8, 1), units=4, num_classes=num_classes)


def test_labels_without_zero_or_top_class_warn_that_they_look_one_based():
    from cnnkit._data_checks import OneBasedLabelsWarning

    model, x = _mlp(10), np.zeros((60, 8, 8, 1), "float32")
    y = np.arange(60) % 9 + 1  # 1..9: a 1-based sample without class 10
    for run in (lambda: cnnkit.evaluate_classifier(model, (x, y)), lambda: cnnkit.top_losses(model, (x, y), k=2)):
        with pytest.warns(OneBasedLabelsWarning, match=r"`y` has no class 0 among its 60 labels.*1-based.*y - 1"):
            run()
    with pytest.raises(ValueError, match=r"from 2 to 10 .*look 1-based: subtract 1 \(y - 1\)"):
        cnnkit.evaluate_classifier(model, (x, y + 1))  # the top class present: out of range, an error
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", OneBasedLabelsWarning)
        cnnkit.evaluate_classifier(model, (x, y - 1))  # class 0 present
        cnnkit.evaluate_classifier(model, (x[:49], y[:49]))  # fewer than 5 labels per class: cannot tell
        cnnkit.evaluate_classifier(model, {"x": x, "y": y, "class_names": list("abcdefghij")})  # named ids
        cnnkit.evaluate_classifier(_mlp(3), (x, np.ones(60, "int64")))  # one id only: a one-class sample


def test_bool_labels_only_for_two_classes():
    x, y = np.zeros((6, 8, 8, 1), "float32"), np.array([True, False, True, False, True, True])
    with pytest.raises(TypeError, match=r"`y` holds True/False \(bool\) labels.*10 classes.*0\.\.9"):
        cnnkit.evaluate_classifier(_mlp(10), (x, y))
    with pytest.raises(TypeError, match="True/False"):
        cnnkit.top_losses(_mlp(3), (x, y))
    for k in (1, 2):
        assert np.asarray(cnnkit.evaluate_classifier(_mlp(k), (x, y))["confusion_matrix"]).sum(1).tolist() == [2, 4]
