"""Python users keep Python's forms in messages (tests/spec/r_terms.json; R's side is
tests/testthat/test-r-terms.R): None, (32, 32, 1), weights='path', 0-based positions, Python hints."""

from __future__ import annotations

import keras  # noqa: F401  (used by the spec's calls)
import numpy as np  # noqa: F401
import pytest

import cnnkit
from cnnkit import _lang
from conftest import load_spec

SPEC = load_spec("r_terms")


@pytest.mark.parametrize("case", SPEC["calls"], ids=lambda c: c["id"])
def test_python_messages_keep_python_forms(case):
    with pytest.raises((TypeError, ValueError)) as err:
        eval(case["py"])
    msg = str(err.value)
    assert all(h in msg for h in case["py_has"]), msg


def test_code_gives_the_r_form_only_inside_a_call_from_r():
    assert not _lang.in_r() and _lang.code("py", "r") == "py"
    _lang.enter_r()
    try:
        assert _lang.in_r() and _lang.code("py", "r") == "r"
        with pytest.raises(TypeError, match=r"must be TRUE or FALSE"):
            cnnkit.load_fashion_mnist(pad="yes")
    finally:
        _lang.leave_r()
    assert not _lang.in_r()
    with pytest.raises(TypeError, match=r"must be True or False"):
        cnnkit.load_fashion_mnist(pad="yes")
