"""The one seam to Keras' internals (cnnkit.keras_compat): every private name cnnkit touches is listed
and checked, the package touches none outside that module, the version bounds match what was tested,
and each fallback works where a private name is missing (simulated by removing it)."""

from __future__ import annotations

import re
import tomllib
import warnings

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit import keras_compat
from conftest import ROOT

PACKAGE = ROOT / "python" / "cnnkit"
# Private Keras/TensorFlow names as code spells them (attribute access or import), outside keras_compat
PRIVATE_SPELLINGS = re.compile(r"keras\.src|tensorflow\.python|\._flatten_layers|\._initial_epoch|"
                               r"\._call_context_args|\._compile_config|\._compile_loss|\._loss_tracker|"
                               r"_maybe_symbolic_build|\._symbolic_build|_in_multi_worker_mode|global_state")
ALLOWED = {  # file: spelled names that are not touches (why)
    "backbones.py": {"keras.src"},  # compares a factory's __module__ string with "keras.src.applications"
}


@pytest.fixture()
def recheck():
    """Run the check afresh (it is cached) before and after a test that removes a private name."""
    keras_compat.missing.cache_clear()
    yield
    keras_compat.missing.cache_clear()


def test_every_private_name_is_present_on_the_tested_keras(recheck):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert keras_compat.missing() == []
    assert keras.__version__.rsplit(".", 1)[0] in keras_compat.TESTED["keras"]


def test_no_module_but_keras_compat_touches_a_private_name():
    found = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "keras_compat.py":
            continue
        names = {m.group(0) for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
                 for m in PRIVATE_SPELLINGS.finditer(line)}
        names -= ALLOWED.get(path.name, set())
        if names:
            found[path.name] = sorted(names)
    assert found == {}


def test_pyproject_bounds_are_the_next_minor_of_what_was_tested():
    deps = tomllib.loads((ROOT / "python" / "pyproject.toml").read_text())["project"]["dependencies"]
    for package in ("keras", "tensorflow"):
        spec = next(d for d in deps if re.match(rf"{package}\s*[><=]", d))
        low, high = re.search(r">=([\d.]+),<([\d.]+)", spec).groups()
        tested = sorted(keras_compat.TESTED[package], key=lambda v: tuple(map(int, v.split("."))))
        major, minor = map(int, tested[-1].split("."))
        assert low == tested[0] and high == f"{major}.{minor + 1}", (package, spec, tested)


def _nested():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="inner_dense")], name="inner")
    x = keras.Input((4,))
    return keras.Model(x, keras.layers.Dense(2, name="outer")(inner(x)))


def test_without_flatten_layers_the_public_walk_gives_the_same_layers(monkeypatch, recheck):
    model = _nested()

    def computing(layers):  # a nested Sequential's InputLayer is in Keras' walk only
        return [layer.name for layer in layers if not isinstance(layer, keras.layers.InputLayer)]

    private = computing(keras_compat.flatten_layers(model))
    monkeypatch.delattr(keras.layers.Layer, "_flatten_layers")
    keras_compat.missing.cache_clear()
    with pytest.warns(RuntimeWarning, match=r"lacks Layer._flatten_layers.*falls back"):
        assert "Layer._flatten_layers(include_self, recursive)" in keras_compat.missing()
    assert computing(keras_compat.flatten_layers(model)) == private == ["inner", "inner_dense", "outer"]
    assert [layer.name for layer in cnnkit.freeze(model).layers] == [layer.name for layer in model.layers]


def test_without_call_context_args_a_backbone_keeps_keras_rule(monkeypatch, recheck):
    monkeypatch.setattr(keras_compat, "available", lambda name: not name.startswith("Layer._call_context_args"))
    backbone = _nested()
    before = set(backbone._call_context_args)
    keras_compat.take_training_from_own_call(backbone)  # the fallback: nothing changed
    assert backbone._call_context_args == before and keras_compat.call_context_args(backbone) == {"training"}


def test_without_keras_deferred_variables_load_model_still_checks_and_loads(monkeypatch, tmp_path, recheck):
    file = cnnkit.save_model(cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=2, units=4, num_classes=2),
                             tmp_path / "m.keras")
    monkeypatch.setattr(keras_compat, "deferred_variables", lambda: None)
    assert cnnkit.load_model(file).count_params() > 0


def test_without_the_compiled_state_lr_find_still_puts_the_model_back(monkeypatch, recheck):
    monkeypatch.setattr(keras_compat, "available", lambda name: not name.startswith("Trainer._compile_config"))
    m = cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=2, units=4, num_classes=2)
    cnnkit.compile_classifier(m)
    weights = [w.copy() for w in m.get_weights()]
    x = np.random.default_rng(0).uniform(0, 1, (64, 16, 16, 3)).astype("float32")
    cnnkit.lr_find(m, (x, np.arange(64) % 2), steps=10, batch_size=16)
    assert m.compiled and all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))


def test_without_the_private_multi_worker_check_the_cluster_resolver_decides(monkeypatch, recheck):
    import tensorflow as tf

    monkeypatch.setattr(keras_compat, "available", lambda name: not name.startswith("tf.distribute StrategyExtended"))
    assert keras_compat.in_multi_worker_mode(tf.distribute.get_strategy()) is False


def test_slurm_tasks_per_node_is_read_without_tensorflows_private_helper():
    from cnnkit.distribute import tasks_per_node

    assert tasks_per_node("2(x3),1") == [2, 2, 2, 1] and tasks_per_node("4") == [4]
    with pytest.raises(ValueError, match="SLURM_STEP_TASKS_PER_NODE"):
        tasks_per_node("two")
