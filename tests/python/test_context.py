"""The call's context (cnnkit._context): the public function messages name, and the R seam."""

import threading

import pytest

from cnnkit import _context, _lang
from cnnkit._context import called, caller, carried, otherwise, public


@public
def outer(inner=None):
    return caller() if inner is None else inner()


@public
def other():
    return caller()


@otherwise("fit_classifier")
def checker(value, arg):
    return caller()


def test_the_outermost_public_call_names_messages():
    assert caller() == "cnnkit"
    assert other() == "other"
    assert outer(other) == "outer"  # as when fn was handed down
    with called("train"):
        assert other() == "train"
    assert caller() == "cnnkit"


def test_otherwise_names_a_helper_only_outside_a_public_call():
    assert checker(1, "x") == "fit_classifier"
    assert outer(lambda: checker(1, "x")) == "outer"
    with called("train"):
        assert checker(1, "x") == "train"
    assert caller() == "cnnkit"


def test_a_call_from_r_starts_afresh_and_calls_nest():
    assert not _lang.in_r()
    _lang.enter_r()
    try:
        def r_callback():  # R -> Python -> R -> Python
            _lang.enter_r()
            try:
                assert _lang.in_r() and other() == "other"
            finally:
                _lang.leave_r()
            return caller()

        assert _lang.in_r() and outer(r_callback) == "outer"
        assert _lang.code("py", "r") == "r"
    finally:
        _lang.leave_r()
    assert not _lang.in_r() and caller() == "cnnkit"


def test_carried_takes_the_name_into_a_thread():
    out = {}

    @public
    def reader():
        job = carried(lambda: out.setdefault("name", caller()))
        t = threading.Thread(target=job)
        t.start()
        t.join()

    reader()
    assert out["name"] == "reader"


def test_public_keeps_the_signature_and_takes_no_fn():
    import inspect

    import cnnkit

    assert "fn" not in inspect.signature(cnnkit.distribution_strategy).parameters
    assert "fn" not in inspect.signature(cnnkit.output_layer).parameters
    with pytest.raises(TypeError):
        cnnkit.distribution_strategy("mirrored", "fit_classifier")  # the removed `fn`: an error now
    with pytest.raises(ValueError, match=r"^distribution_strategy\(\): `strategy`"):
        cnnkit.distribution_strategy("bad")
    with called("fit_classifier"), pytest.raises(ValueError, match=r"^fit_classifier\(\): `strategy`"):
        cnnkit.distribution_strategy("bad")
    assert _context.current() == _context.Call()
