"""top_losses, plot_top_losses and most_confused: the highest-loss images, ranked as a brute-force
computation ranks them, from arrays and datasets alike; the most confused class pairs of an evaluation."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import cnnkit
from conftest import load_spec

LENET = load_spec("what_the_model_sees")["lenet"]


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(pad=True, n=500, n_test=LENET["n_test"], seed=LENET["seed"])


@pytest.fixture(scope="module")
def model(fm):
    keras.utils.set_random_seed(LENET["seed"])
    m = cnnkit.lenet5()
    cnnkit.fit_classifier(m, (fm["x_train"], fm["y_train"]), epochs=1, batch_size=LENET["batch_size"], verbose=0)
    return m


def test_the_k_highest_losses_as_cross_entropy_ranks_them(model, fm):
    x, y = fm["x_test"], fm["y_test"]
    rows = cnnkit.top_losses(model, {"x": x, "y": y, "class_names": fm["class_names"]}, k=5)
    p = cnnkit.predict_classes(model, x, precision="float32")["probabilities"]
    loss = -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1))
    assert [r["index"] for r in rows] == list(np.argsort(-loss, kind="stable")[:5])
    for r in rows:
        i = r["index"]
        assert r["true_id"] == y[i] and r["true"] == fm["class_names"][y[i]]
        assert r["predicted_id"] == p[i].argmax() and r["predicted"] == fm["class_names"][p[i].argmax()]
        assert r["probability"] == pytest.approx(p[i].max(), rel=1e-4)
        assert r["loss"] == pytest.approx(loss[i], rel=1e-4)
    assert [r["loss"] for r in rows] == sorted((r["loss"] for r in rows), reverse=True)
    assert rows[0]["loss"] == pytest.approx(loss.max(), rel=1e-4)


def test_a_dataset_gives_the_same_rows_as_arrays(model, fm):
    x, y = fm["x_test"], fm["y_test"]
    arrays = cnnkit.top_losses(model, (x, y), k=7)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    rows = cnnkit.top_losses(model, ds, k=7)
    assert [r["index"] for r in rows] == [r["index"] for r in arrays]
    np.testing.assert_allclose([r["loss"] for r in rows], [r["loss"] for r in arrays], rtol=1e-4)
    assert arrays[0]["true"] == str(arrays[0]["true_id"])  # no names anywhere: the ids as names
    assert len(cnnkit.top_losses(model, (x, y), k=1000)) == len(y)


def test_plot_top_losses(model, fm, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    data = (fm["x_test"], fm["y_test"])
    assert cnnkit.plot_top_losses(model, data, k=4, file=tmp_path / "top.png") == str(tmp_path / "top.png")
    assert (tmp_path / "top.png").stat().st_size > 1000
    assert isinstance(cnnkit.plot_top_losses(model, data, k=2, class_names=fm["class_names"]), Figure)
    monkeypatch.setenv("CNNKIT_MAX_PLOT_IMAGES", "3")
    with pytest.raises(ValueError, match=r"plot_top_losses\(\): `k`.*CNNKIT_MAX_PLOT_IMAGES"):
        cnnkit.plot_top_losses(model, data, k=4)


def test_most_confused_pairs_from_counts_and_evaluations(model, fm):
    cm = np.array([[5, 3, 0], [7, 2, 1], [0, 3, 9]])
    rows = cnnkit.most_confused(cm, class_names=["a", "b", "c"])
    assert [(r["true"], r["predicted"], r["count"]) for r in rows] == [("b", "a", 7), ("a", "b", 3), ("c", "b", 3),
                                                                       ("b", "c", 1)]
    assert rows[0]["share"] == pytest.approx(0.7)
    assert [r["count"] for r in cnnkit.most_confused(cm, min_count=3)] == [7, 3, 3]
    assert cnnkit.most_confused(np.diag([4, 4])) == []
    ev = cnnkit.evaluate_classifier(model, (fm["x_test"], fm["y_test"]), fm["class_names"])
    top = cnnkit.most_confused(ev)[0]
    off = ev["confusion_matrix"] - np.diag(np.diag(ev["confusion_matrix"]))
    i, j = np.unravel_index(off.argmax(), off.shape)
    assert top["count"] == off.max() and top["true"] == fm["class_names"][i]


@pytest.mark.parametrize("call, kwargs, names", [
    ("top_losses", {"k": 0}, ["top_losses()", "`k`"]),
    ("top_losses", {"data": "labels"}, ["top_losses()", "`y`"]),
    ("most_confused", {"evaluation": np.zeros((2, 3))}, ["most_confused()", "`evaluation`"]),
    ("most_confused", {"min_count": 0}, ["most_confused()", "`min_count`"]),
    ("most_confused", {"class_names": ["a"]}, ["most_confused()", "`class_names`"]),
])
def test_errors_name_the_function_and_the_argument(model, fm, call, kwargs, names):
    if call == "top_losses":
        args = {"model": model, "data": (fm["x_test"], fm["y_test"])}
        if kwargs.get("data") == "labels":
            kwargs = {"data": (fm["x_test"], fm["y_test"] + 10)}
    else:
        args = {"evaluation": np.eye(3, dtype=int)}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError)) as err:
        getattr(cnnkit, call)(**args)
    assert all(n in str(err.value) for n in names), str(err.value)
