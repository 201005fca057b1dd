"""Semantic traps (tests/spec/semantic_traps.json, also run from R by test-semantic-traps.R): data of the
right type that means something else gets a correct result or a message that names the fix."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import cnnkit
from conftest import load_spec

SPEC = load_spec("semantic_traps")
CASES = [c for c in SPEC["cases"] if not c.get("r_only")]


def model_for(case):
    m = cnnkit.simple_cnn(tuple(SPEC["shape"]), blocks=1, filters=2, units=4, num_classes=case["classes"])
    if case.get("trained"):
        rng = np.random.default_rng(1)
        x = rng.uniform(0, case["trained"], (8, *SPEC["shape"])).astype("float32")
        cnnkit.fit_classifier(m, (x, np.arange(8) % max(2, case["classes"])), epochs=1, verbose=0)
    if case.get("model_names"):
        cnnkit.saving._attach(m, case["model_names"])
    return m


def trap(case):
    """The data of a trap, as a Python user would pass it."""
    n, k = SPEC["n"], max(2, case["classes"])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (n, *SPEC["shape"])).astype("float32")
    ids = np.arange(n) % k
    kind = case["trap"]
    if kind == "one_based_with_top":
        return (x, ids + 1)
    if kind == "one_based_without_top":
        return (x, np.arange(n) % (k - 1) + 1)
    if kind == "named_without_class_0":
        return {"x": x, "y": np.arange(n) % (k - 1) + 1, "class_names": [f"c{i}" for i in range(k)]}
    if kind == "logical_labels":
        return (x, ids % 2 == 1)
    if kind in ("range_255", "range_1"):
        x = x * (255 if kind == "range_255" else 1)
        return (x, ids) if case["call"] != "predict_classes" else x
    if kind == "channels_first":
        return x.transpose(0, 3, 1, 2)
    if kind == "flattened":
        return x.reshape(n, -1)
    if kind == "dropped_channel":
        return x[..., 0]
    if kind == "subset_named":
        return {"x": x, "y": np.arange(n) % 3, "class_names": ["a", "b", "c"]}
    if kind == "unused_levels":
        return {"x": x, "y": ids, "class_names": [f"c{i}" for i in range(10)]}
    if kind == "renamed":
        return {"x": x, "y": ids, "class_names": ["cat", "fox", "wolf"]}
    if kind == "reordered":
        return {"x": x, "y": ids, "class_names": ["fox", "cat", "dog"]}
    raise AssertionError(kind)


def call(case, model, data):
    if case["call"] == "fit_classifier":
        return cnnkit.fit_classifier(model, data, epochs=1, verbose=0)
    if case["call"] == "evaluate_classifier":
        return cnnkit.evaluate_classifier(model, data)
    return cnnkit.predict_classes(model, data)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_semantic_trap(case):
    model, data = model_for(case), trap(case)
    patterns = [p for p in (case.get("match"), case.get("match_py")) if p]
    if case["expect"] == "error":
        with pytest.raises((ValueError, TypeError)) as e:
            call(case, model, data)
        for p in patterns:
            assert re.search(p, str(e.value)), (p, str(e.value))
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(case, model, data)
    ours = [str(w.message) for w in caught if re.match(r"\w+\(\): ", str(w.message))]
    if case["expect"] == "warning":
        assert ours, "no warning"
        for p in patterns:
            assert any(re.search(p, m) for m in ours), (p, ours)
    else:
        assert ours == [] and result is not None
