"""Every model cnnkit saves loads anywhere: saved in one process, loaded and predicted in another.

A model saved and loaded in the same process hid a transfer model that could not be loaded anywhere
else (its preprocessing layer was registered with Keras only once ``cnnkit.preprocessing`` had been
imported). So the rule here: **save in one process, load and predict in another**, for every kind of
model in tests/spec/reload.json (each factory, a transfer model per registered backbone, augmentation,
after fit and fine_tune), through ``cnnkit.load_model`` and through Keras' own loader after
``import cnnkit`` (either import order), with predictions equal to the saving process's. The R side
(tests/testthat/test-reload.R) and the CLI's run directories (test_transfer_cli.py, test_cli.py) do
the same across R sessions and commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, load_spec

WORKER = Path(__file__).with_name("reload_worker.py")
SPEC = load_spec("reload")


def worker(*args: str) -> None:
    p = subprocess.run([sys.executable, str(WORKER), *args], capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reload")
    worker("save", str(out))
    return out


def test_the_spec_has_a_transfer_model_for_every_registered_backbone():
    from cnnkit.backbones import _BUILTIN_FACTORIES  # the registry as shipped (tests register more)

    listed = {e["args"]["backbone"] for e in SPEC["models"] if e["factory"] == "transfer_model"}
    assert listed >= set(_BUILTIN_FACTORIES) and len(_BUILTIN_FACTORIES) >= 10
    assert set(SPEC["r_models"]) | set(SPEC["keras_loader_models"]) <= {e["name"] for e in SPEC["models"]}


@pytest.mark.parametrize("mode", ["cnnkit", "keras_after_cnnkit", "cnnkit_after_keras"])
def test_saved_in_one_process_loads_and_predicts_the_same_in_another(saved, mode):
    worker("load", str(saved), mode)
    result = json.loads((saved / f"{mode}.json").read_text())
    assert result["errors"] == {}
    expected = json.loads((saved / "saved.json").read_text())
    assert set(expected) == {e["name"] for e in SPEC["models"]}
    loaded = expected if mode == "cnnkit" else SPEC["keras_loader_models"]
    assert {n for n in result["predictions"] if ":" not in n} == set(loaded)
    for name in loaded:
        p = expected[name]
        np.testing.assert_allclose(result["predictions"][name], p, atol=SPEC["tolerance"], err_msg=name)
        smoothing = next(e for e in SPEC["models"] if e["name"] == name).get("fit", {}).get("label_smoothing")
        if smoothing:  # the loss a model was compiled with loads too (cnnkit's, registered: cnnkit.losses)
            assert result["predictions"].get(name + ":loss") == ["SparseCategoricalCrossentropy", smoothing], name
        ema = next(e for e in SPEC["models"] if e["name"] == name).get("fit", {}).get("ema")
        if ema:  # the optimizer's weight average comes back with the model (a Keras optimizer setting)
            assert result["predictions"].get(name + ":ema") == ema, name
        if mode == "cnnkit":
            k = max(2, np.asarray(p).shape[-1])
            assert result["predictions"][name + ":class_names"] == [f"class_{i}" for i in range(k)]


def test_the_rule_can_fail_a_process_without_cnnkit_does_not_know_its_layers(saved):
    """The check above is not vacuous: plain Keras, never told of cnnkit, cannot load a transfer model."""
    code = ("import keras, sys\n"
            "try:\n    keras.saving.load_model(sys.argv[1])\nexcept Exception as e:\n    print('refused', type(e).__name__)\n"
            "else:\n    print('loaded')\n")
    p = subprocess.run([sys.executable, "-c", code, str(saved / "transfer_vgg16.keras")], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert p.stdout.strip().startswith("refused"), p.stdout + p.stderr[-2000:]


def test_keras_classes_list_names_every_cnnkit_layer_class():
    """CLASS_MODULES is the one list of modules with registered classes: every class cnnkit registers is in one."""
    import keras

    import cnnkit
    from cnnkit import _keras_classes

    _keras_classes.register()
    ours = {name for name in keras.saving.get_custom_objects() if name.startswith(f"{_keras_classes.PACKAGE}>")}
    defined = set()
    for module in _keras_classes.CLASS_MODULES:
        mod = getattr(cnnkit, module) if not callable(getattr(cnnkit, module)) else sys.modules[f"cnnkit.{module}"]
        defined |= {f"cnnkit>{n}" for n, obj in vars(mod).items()
                    if isinstance(obj, type) and keras.saving.get_registered_name(obj).startswith("cnnkit>")}
    assert ours == defined and {"cnnkit>BackbonePreprocessing", "cnnkit>RandomShear"} <= ours


def test_a_missing_custom_class_is_named_with_its_module(tmp_path):
    """A model with a user's own layer, loaded where that layer's module was not imported: the message
    names the class and the module to import, not Keras' 'Functional could not be deserialized'."""
    pkg = tmp_path / "mylayers.py"
    pkg.write_text("import keras\n\n@keras.saving.register_keras_serializable(package='mylayers')\n"
                   "class Double(keras.layers.Layer):\n    def call(self, x):\n        return 2 * x\n")
    save = ("import sys; sys.path.insert(0, sys.argv[2]); import keras, mylayers, cnnkit\n"
            "i = keras.Input((4,)); m = keras.Model(i, keras.layers.Dense(2)(mylayers.Double()(i)))\n"
            "cnnkit.save_model(m, sys.argv[1])\n")
    load = ("import sys, cnnkit\ntry:\n    cnnkit.load_model(sys.argv[1])\nexcept ValueError as e:\n    print(e)\n")
    file = str(tmp_path / "m.keras")
    p = subprocess.run([sys.executable, "-c", save, file, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    p = subprocess.run([sys.executable, "-c", load, file], capture_output=True, text=True, timeout=300, cwd=tmp_path.parent)
    assert "'mylayers>Double'" in p.stdout and "import mylayers" in p.stdout and "Functional" not in p.stdout, p.stdout
