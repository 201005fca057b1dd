"""lr_find: Smith's range test. The suggestion trains better than rates 100x above and below it; the
model's weights and optimizer (with its state), or its uncompiled state, are restored afterwards."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import cnnkit
from conftest import load_spec

SPEC = load_spec("what_the_model_sees")
LR, LENET = SPEC["lr_find"], SPEC["lenet"]


@pytest.fixture(scope="module")
def data():
    d = cnnkit.load_fashion_mnist(pad=True, n=LR["n"], n_test=10, seed=LENET["seed"])
    return d["x_train"], d["y_train"]


@pytest.fixture(scope="module")
def small(data):
    """256 images: enough for the tests of what lr_find() puts back (CI time)."""
    return data[0][:256], data[1][:256]


def fresh(seed: int = LENET["seed"]) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return cnnkit.lenet5()


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


def test_the_suggestion_trains_better_than_100x_above_and_below(data):
    model = fresh()
    start = model.get_weights()
    result = cnnkit.lr_find(model, data, steps=LR["steps"], batch_size=LR["batch_size"])
    s = result["suggestion"]
    assert result["minimum"] == pytest.approx(10 * s)
    assert len(result["learning_rate"]) == len(result["loss"]) == len(result["smoothed_loss"]) <= LR["steps"]
    rates = np.asarray(result["learning_rate"])
    assert rates[0] == pytest.approx(1e-7) and np.all(np.diff(np.log(rates)) > 0)
    final = {}
    for rate in (s / LR["factor"], s, s * LR["factor"]):
        m = fresh()
        m.set_weights(start)
        h = cnnkit.fit_classifier(m, data, epochs=LR["epochs"], batch_size=LR["batch_size"], learning_rate=rate,
                                  verbose=0)
        final[rate] = h["loss"][-1]
    assert final[s] < final[s / LR["factor"]] and final[s] < final[s * LR["factor"]], final


def test_an_uncompiled_model_comes_back_uncompiled_with_its_weights(small):
    model = fresh()
    before = model.get_weights()
    cnnkit.lr_find(model, small, steps=20, batch_size=LR["batch_size"])
    assert same(before, model.get_weights()) and not model.compiled and model.optimizer is None
    cnnkit.fit_classifier(model, small, epochs=1, learning_rate=3e-3, verbose=0)  # compiled afresh at this rate
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)


def test_a_compiled_model_keeps_its_optimizer_and_its_state(small):
    model = fresh()
    cnnkit.fit_classifier(model, small, epochs=1, learning_rate=2e-3, verbose=0)
    optimizer, weights = model.optimizer, model.get_weights()
    state = [np.asarray(v).copy() for v in optimizer.variables]
    steps = int(optimizer.iterations)
    assert steps > 0
    result = cnnkit.lr_find(model, small, steps=30, batch_size=LR["batch_size"], end_learning_rate=1.0)
    assert model.optimizer is optimizer and same(state, optimizer.variables)
    assert same(weights, model.get_weights()) and float(optimizer.learning_rate) == pytest.approx(2e-3)
    assert result["learning_rate"][-1] <= 1.0
    h = cnnkit.fit_classifier(model, small, epochs=1, verbose=0)  # goes on training where it was
    assert int(optimizer.iterations) == 2 * steps and np.isfinite(h["loss"][0])


def test_stops_when_the_loss_diverges_and_reads_datasets(data):
    ds = tf.data.Dataset.from_tensor_slices(data).batch(LR["batch_size"])
    result = cnnkit.lr_find(fresh(), ds, start_learning_rate=1e-4, end_learning_rate=1e6, steps=200,
                            optimizer="sgd")
    assert result["diverged"] and len(result["loss"]) < 200
    assert result["minimum"] < 1e6


def test_plot_lr_find(small, tmp_path):
    from matplotlib.figure import Figure

    result = cnnkit.lr_find(fresh(), small, steps=20, batch_size=LR["batch_size"])
    assert cnnkit.plot_lr_find(result, file=tmp_path / "lr.png") == str(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 1000
    assert isinstance(cnnkit.plot_lr_find(result), Figure)
    with pytest.raises(TypeError, match=r"plot_lr_find\(\): `result`"):
        cnnkit.plot_lr_find({"loss": [1.0]})


@pytest.mark.parametrize("kwargs, names", [
    ({"end_learning_rate": 1e-8}, ["lr_find()", "`end_learning_rate`"]),
    ({"start_learning_rate": 0}, ["lr_find()", "`start_learning_rate`"]),
    ({"steps": 3}, ["lr_find()", "`steps`"]),
    ({"optimizer": "adamm"}, ["lr_find()", "`optimizer`"]),
    ({"data": "labels"}, ["lr_find()", "`y`"]),
])
def test_errors_name_the_function_and_the_argument(data, kwargs, names):
    model = fresh()
    before = model.get_weights()
    if kwargs.get("data") == "labels":
        kwargs = {"data": (data[0], data[1] + 10)}
    with pytest.raises((ValueError, TypeError)) as err:
        cnnkit.lr_find(model, **{"data": data, **kwargs})
    assert all(n in str(err.value) for n in names), str(err.value)
    assert same(before, model.get_weights()) and not model.compiled


def test_a_range_that_never_turns_up_warns():
    from cnnkit._context import called
    from cnnkit.lr_find import RangeTest, _result

    test = RangeTest(1e-7, 1e-3, 20)
    test.losses = [2.0 - 0.05 * i for i in range(20)]
    test.smoothed = list(test.losses)
    with pytest.warns(UserWarning, match=r"lr_find\(\): the smoothed loss was still falling .*`steps`"):
        with called("lr_find"):  # the name lr_find() gives its messages
            still_falling = _result(test)
    assert still_falling["minimum"] == pytest.approx(1e-3)
    test.smoothed = test.losses = [2.0 - 0.1 * i for i in range(10)] + [1.0 + 0.1 * i for i in range(10)]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        turned = _result(test)
    assert turned["suggestion"] == pytest.approx(test.rates[10] / 10)  # the lowest point, 1.0, at step 10
