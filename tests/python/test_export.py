"""export_model() and ``cnnkit export`` (issue 28.4): SavedModel, ONNX and LiteRT artefacts that take 0-255
pixels and give the Keras model's probabilities and its class names -- checked in a NEW process that
never imports cnnkit (only TensorFlow, onnxruntime, the LiteRT interpreter), as a deployment would;
atomic writes; clear errors. The models and tolerances: tests/spec/export.json."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit import contract
from cnnkit import export as ex
from conftest import load_spec
from test_cli import cli

SPEC = load_spec("export")
FORMATS = list(SPEC["formats"])

# The deployment side: a new process without cnnkit; each format through its own runtime.
RUNNER = r"""
import json, sys, zipfile
import numpy as np
args = json.loads(sys.argv[1])
x = np.load(args["images"])
out, names = {}, {}
if "saved_model" in args["paths"]:
    import tensorflow as tf
    m = tf.saved_model.load(args["paths"]["saved_model"])
    out["saved_model"] = m.serve(tf.constant(x))["probabilities"].numpy()
    names["saved_model"] = [s.decode() for s in m.class_names().numpy()]
    sig = m.signatures["serving_default"]
    out["saved_model_signature"] = sig(image=tf.constant(x))["probabilities"].numpy()
if "onnx" in args["paths"]:
    import onnxruntime
    s = onnxruntime.InferenceSession(args["paths"]["onnx"], providers=["CPUExecutionProvider"])
    assert [i.name for i in s.get_inputs()] == ["image"] and [o.name for o in s.get_outputs()] == ["probabilities"]
    out["onnx"] = s.run(["probabilities"], {"image": x})[0]
    names["onnx"] = json.loads(s.get_modelmeta().custom_metadata_map["class_names"])
if "litert" in args["paths"]:
    import warnings
    import tensorflow as tf
    warnings.simplefilter("ignore")
    runner = tf.lite.Interpreter(model_path=args["paths"]["litert"]).get_signature_runner()
    out["litert"] = runner(image=x)["probabilities"]
    names["litert"] = zipfile.ZipFile(args["paths"]["litert"]).read("labels.txt").decode().splitlines()
np.savez(args["out"], **out)
json.dump({"names": names, "modules": sorted(m for m in sys.modules if m.split(".")[0] == "cnnkit")},
          open(args["out"] + ".json", "w"))
"""


def run_elsewhere(paths: dict[str, Path], x: np.ndarray, tmp: Path) -> tuple[dict[str, np.ndarray], dict]:
    np.save(tmp / "images.npy", x)
    args = {"images": str(tmp / "images.npy"), "paths": {k: str(v) for k, v in paths.items()},
            "out": str(tmp / "out.npz")}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    p = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(args)], capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    with np.load(tmp / "out.npz") as z:
        probabilities = {k: z[k] for k in z.files}
    return probabilities, json.loads((tmp / "out.npz.json").read_text())


@functools.lru_cache(maxsize=1)
def fashion() -> dict:
    return cnnkit.load_fashion_mnist(n=SPEC["models"]["cnn"]["train"]["n"], n_test=SPEC["images"])


def class_names(name: str) -> list[str]:
    names = SPEC["models"][name]["class_names"]
    return fashion()["class_names"] if names == "fashion_mnist" else names


@functools.lru_cache(maxsize=None)
def build(name: str) -> keras.Model:
    """The spec's model (made once; the tests do not change it): the CNN trained briefly (which records
    its input range), the transfer model with a random head (a new head starts at zero: every class alike)."""
    entry = SPEC["models"][name]
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in entry["args"].items()}
    model = getattr(cnnkit, entry["factory"])(**args)
    if "train" in entry:
        d = fashion()
        cnnkit.fit_classifier(model, (d["x_train"], d["y_train"]), epochs=entry["train"]["epochs"], verbose=0,
                              batch_size=entry["train"]["batch_size"], precision="float32", seed=0)
    else:
        rng = np.random.default_rng(7)
        layer = model.layers[-1]
        layer.set_weights([rng.normal(0, 2.0, w.shape).astype("float32") for w in layer.get_weights()])
    assert contract.input_contract(model)["value_range"] == entry["value_range"]
    return model


def images(name: str, model: keras.Model) -> np.ndarray:
    """The test images, pixel values 0-255 as a decoded file gives them: Fashion-MNIST's for the CNN."""
    if name == "cnn":
        return np.round(fashion()["x_test"] * 255).astype("float32")
    return pixels(model, SPEC["images"])


def pixels(model: keras.Model, n: int, seed: int = 0) -> np.ndarray:
    """``n`` images with pixel values 0-255 (whole numbers), float32: noise around a level and a
    gradient of each image's own, so that the images get different probabilities."""
    rng = np.random.default_rng(seed)
    n, h, w, c = (n, *model.input_shape[1:])
    ramp = np.linspace(0, 1, w)[None, None, :, None] * rng.uniform(-1, 1, (n, 1, 1, c))
    x = 255 * (rng.uniform(0, 1, (n, 1, 1, c)) + 0.5 * ramp) + rng.normal(0, 30, (n, h, w, c))
    return np.clip(np.round(x), 0, 255).astype("float32")


def keras_probabilities(model: keras.Model, x255: np.ndarray) -> np.ndarray:
    low, high = contract.file_value_range(model)
    return cnnkit.predict_classes(model, x255 / 255 * (high - low) + low, precision="float32")["probabilities"]


@pytest.mark.slow  # 7 s (cnn), 25 s (transfer) on 2 busy cores
@pytest.mark.parametrize("name", ["cnn", "transfer"])
def test_each_format_gives_the_keras_probabilities_and_class_names_in_a_new_process(name, tmp_path):
    model, names = build(name), class_names(name)
    paths = {}
    for fmt, where in SPEC["formats"].items():
        paths[fmt] = tmp_path / where["path"]
        assert cnnkit.export_model(model, paths[fmt], format=fmt, class_names=names) == str(paths[fmt])
        labels = (tmp_path / where["labels"]).read_text().splitlines()
        assert labels == names, fmt
    x = images(name, model)
    assert len(x) == SPEC["images"]
    want = keras_probabilities(model, x)
    got, info = run_elsewhere(paths, x, tmp_path)
    assert info["modules"] == []  # the deployment side never imported cnnkit (TensorFlow imports Keras itself)
    diffs = {fmt: float(np.max(np.abs(p - want))) for fmt, p in got.items()}
    print(f"{name}: max abs difference of probabilities on {len(x)} images: {diffs}")
    assert all(d <= SPEC["atol"] for d in diffs.values()), diffs
    assert want.std(axis=0).max() > 0.01  # the images give different probabilities: a real comparison
    assert all(got_names == names for got_names in info["names"].values()), info["names"]
    assert set(info["names"]) == set(FORMATS)


def _range_model(kind: str) -> tuple[keras.Model, list[str]]:
    """Variants of the output and input: 0-255 training data with one sigmoid unit, logits, mixed precision."""
    units = 1 if kind == "binary_0_255" else 3
    model = cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=4, units=8, num_classes=units)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.3 if kind == "binary_0_255" else 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    if kind == "logits":
        model.layers[-1].activation = keras.activations.linear
    if kind == "mixed_bfloat16":
        for layer in model.layers[:-1]:
            layer.dtype_policy = "mixed_bfloat16"
    contract.record(model, np.full((2, 16, 16, 3), 200.0 if kind == "binary_0_255" else 0.5, "float32"))
    return model, ["no", "yes"] if units == 1 else ["a", "b", "c"]


@pytest.mark.parametrize("kind", ["binary_0_255", "logits", "mixed_bfloat16"])
def test_scaling_and_probabilities_are_inside_for_any_range_and_output(kind, tmp_path):
    import onnxruntime

    model, names = _range_model(kind)
    path = cnnkit.export_model(model, tmp_path / "m.onnx", format="onnx", class_names=names)
    x = pixels(model, 20)
    got = onnxruntime.InferenceSession(path).run(["probabilities"], {"image": x})[0]
    assert got.shape == (20, len(names)) and np.allclose(got.sum(axis=1), 1, atol=1e-5)
    if kind == "mixed_bfloat16":
        assert all(layer.dtype_policy.name == "mixed_bfloat16" for layer in model.layers[:-1])  # given back
        for layer in model.layers[:-1]:
            layer.dtype_policy = "float32"
    np.testing.assert_allclose(got, keras_probabilities(model, x), atol=SPEC["atol"])


def test_saved_model_in_process_and_a_model_given_by_its_file(tmp_path):
    import tensorflow as tf

    model = build("cnn")
    cnnkit.save_model(model, tmp_path / "m.keras", class_names=class_names("cnn"))
    path = cnnkit.export_model(str(tmp_path / "m.keras"), tmp_path / "sm")  # default format, names from the file
    loaded = tf.saved_model.load(path)
    x = pixels(model, 10)
    np.testing.assert_allclose(loaded.serve(x)["probabilities"].numpy(), keras_probabilities(model, x),
                               atol=SPEC["atol"])
    assert [s.decode() for s in loaded.class_names().numpy()] == class_names("cnn")
    cnnkit.export_model(model, path, class_names=list("abcdefghij"))  # an earlier export is replaced
    assert (Path(path) / "labels.txt").read_text().split() == list("abcdefghij")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "sm"]  # no temporary folders left


def test_default_class_names_and_the_no_range_warning(tmp_path):
    model = cnnkit.simple_cnn((8, 8, 1), blocks=1, filters=2, units=4, num_classes=2)
    with pytest.warns(UserWarning, match=r"export_model\(\): `model` has no recorded input range"):
        cnnkit.export_model(model, tmp_path / "m.tflite", format="litert")
    assert (tmp_path / "m.labels.txt").read_text() == "0\n1\n"


@pytest.mark.parametrize("call, match", [
    (dict(format="pdf"), r"export_model\(\): `format` must be one of 'saved_model', 'onnx', 'litert'; got 'pdf'"),
    (dict(format="onnx", path="m.tflite"), r"`path` .*must end in \.onnx for format 'onnx'; pass format='litert'"),
    (dict(format="litert", path="m.onnx"), r"`path` .*must end in \.tflite"),
    (dict(path="m.onnx"), r"`path` .*ends in \.onnx, but a SavedModel is a folder; pass format='onnx'"),
    (dict(path="m.keras"), r"`path` .*a \.keras file is what save_model\(\) writes"),
    (dict(path=""), r"`path` must be a file or folder path"),
    (dict(path=3), r"`path` must be a file or folder path"),
    (dict(verify="yes"), r"`verify` must be True or False"),
    (dict(class_names=["a"]), r"`class_names` has 1 names but the model predicts 10 classes"),
    (dict(model="nothing.keras"), r"`model` .*nothing\.keras' does not exist"),
    (dict(model="photo.png"), r"`model` .*is not a \.keras file"),
    (dict(model=42), r"`model` must be a Keras model or the path of a \.keras file, got int"),
    (dict(model="regressor"), r"export_model\(\): `model` is not a classifier"),
])
def test_bad_arguments_are_clear_errors_and_write_nothing(call, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = {"model": build("cnn"), "path": "exported", **call}
    if args["model"] == "regressor":
        inputs = keras.Input((8, 8, 1))
        args["model"] = keras.Model(inputs, keras.layers.Dense(3, activation="relu")(keras.layers.Flatten()(inputs)))
    with pytest.raises((TypeError, ValueError), match=match):
        cnnkit.export_model(**args)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_an_export_is_never_replaced(tmp_path):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("precious")
    with pytest.raises(ValueError, match=r"`path` .*thesis' is a folder that holds other files \(not a SavedModel\)"):
        cnnkit.export_model(build("cnn"), tmp_path / "thesis")
    assert (tmp_path / "thesis" / "chapter1.tex").read_text() == "precious"
    with pytest.raises(ValueError, match=r"`path` .*thesis.tflite' is a folder; pass the name of the file"):
        (tmp_path / "thesis.tflite").mkdir()
        cnnkit.export_model(build("cnn"), tmp_path / "thesis.tflite", format="litert")
    with pytest.raises(ValueError, match=r"`path` .*notes' is a file, but a SavedModel is a folder"):
        (tmp_path / "notes").write_text("mine")
        cnnkit.export_model(build("cnn"), tmp_path / "notes")
    assert (tmp_path / "notes").read_text() == "mine"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failure_leaves_the_earlier_artefact_and_no_temporary_files(fmt, tmp_path, monkeypatch):
    model = build("cnn")
    target = tmp_path / SPEC["formats"][fmt]["path"]
    labels = tmp_path / SPEC["formats"][fmt]["labels"]
    cnnkit.export_model(model, target, format=fmt, class_names=list("abcdefghij"))
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    writer = ex.WRITERS[fmt]

    def half_then_fail(served, tmp, names):
        writer(served, tmp, names)
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(ex.WRITERS, fmt, half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        cnnkit.export_model(model, target, format=fmt, class_names=list("ABCDEFGHIJ"))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert labels.read_text().split() == list("abcdefghij")


def test_an_artefact_that_does_not_reproduce_the_model_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(ex.RUNNERS, "litert", lambda path, x: (np.full((len(x), 10), 0.1), class_names("cnn")))
    with pytest.raises(RuntimeError, match=r"export_model\(\): the litert artefact was written but its probabilities "
                                           r"differ from the Keras model's by .* so it was discarded"):
        cnnkit.export_model(build("cnn"), tmp_path / "m.tflite", format="litert")
    assert list(tmp_path.iterdir()) == []
    path = cnnkit.export_model(build("cnn"), tmp_path / "m.tflite", format="litert", verify=False)
    assert Path(path).is_file()  # verify=False writes it unchecked


def test_tensorflow_only_operators_give_a_flex_litert_file_and_say_so(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = keras.ops.cumprod(keras.ops.sigmoid(keras.layers.Flatten()(inputs)), axis=-1)  # no LiteRT built-in
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    contract.record(model, np.full((2, 8, 8, 1), 0.5))
    with pytest.warns(UserWarning, match=r"export_model\(\): the model uses TensorFlow operators that LiteRT has no "
                                         r"built-in version of \(Cumprod\).*Flex delegate"):
        path = cnnkit.export_model(model, tmp_path / "m.tflite", format="litert")
    assert Path(path).is_file() and (tmp_path / "m.labels.txt").read_text() == "0\n1\n2\n"


def test_onnx_without_its_converter_says_what_to_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    with pytest.raises(ImportError, match=r"export_model\(\): format 'onnx' needs the Python package\(s\) tf2onnx, "
                                          r"which are not installed here; install them with `pip install tf2onnx`"):
        cnnkit.export_model(build("cnn"), tmp_path / "m.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # 7 s: two commands, each starting TensorFlow
def test_cli_export_infers_the_format_and_says_what_the_artefact_takes(tmp_path):
    model = build("cnn")
    cnnkit.save_model(model, tmp_path / "m.keras", class_names=class_names("cnn"))
    p = cli("export", str(tmp_path / "m.keras"), str(tmp_path / "deploy" / "shoes.tflite"))
    assert p.returncode == 0, p.stderr
    assert "exported" in p.stdout and "(litert)" in p.stdout and "(n, 28, 28, 1) with pixel values 0-255" in p.stdout
    assert (tmp_path / "deploy" / "shoes.labels.txt").read_text().splitlines() == class_names("cnn")
    bad = cli("export", str(tmp_path / "m.keras"), str(tmp_path / "x.tflite"), "--format", "onnx")
    assert bad.returncode == 2 and "must end in .onnx for format 'onnx'; pass --format litert" in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    help_text = cli("export", "--help")
    assert help_text.returncode == 0 and "pixel values 0-255" in help_text.stdout and "cnnkit export" in help_text.stdout


def test_labels_path_and_the_input_description():
    assert str(ex.labels_path("a/m.onnx", "onnx")) == os.path.join("a", "m.labels.txt")
    assert str(ex.labels_path("a/m.tflite", "litert")) == os.path.join("a", "m.labels.txt")
    assert str(ex.labels_path("a/sm", "saved_model")) == os.path.join("a", "sm", "labels.txt")
    assert ex.input_description(build("cnn")) == "float32 images (n, 28, 28, 1) with pixel values 0-255"
