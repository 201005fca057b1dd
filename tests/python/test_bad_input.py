"""Bad input (tests/spec/bad_input.json): each a TypeError/ValueError naming the argument."""

from __future__ import annotations

import keras
import pytest

import cnnkit
from conftest import load_spec

CASES = load_spec("bad_input")["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['call']}-{sorted(c['args'].items())}")
def test_bad_input_names_the_argument(case):
    fn = getattr(cnnkit, case["call"])
    pos = []
    if "x_shape" in case:
        pos = [keras.Input(tuple(case["x_shape"])) if case["x_shape"] else "not a tensor"]
    with pytest.raises((TypeError, ValueError)) as err:
        fn(*pos, **case["args"])
    assert case["error_names"] in str(err.value)
    assert f"{case['call']}()" in str(err.value)
