"""Training helpers."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit


def test_compile_classifier_picks_loss_from_output_layer():
    assert cnnkit.compile_classifier(cnnkit.simple_cnn()).loss == "binary_crossentropy"
    assert cnnkit.compile_classifier(cnnkit.lenet5()).loss == "sparse_categorical_crossentropy"


def test_compiled_model_trains_one_step():
    model = cnnkit.compile_classifier(cnnkit.lenet5())
    x = np.random.default_rng(0).random((8, 32, 32, 1), dtype="float32")
    hist = model.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


@pytest.mark.parametrize("kwargs,arg", [({"learning_rate": 0}, "learning_rate"),
                                        ({"optimizer": "nope"}, "optimizer")])
def test_compile_classifier_bad_input(kwargs, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        cnnkit.compile_classifier(cnnkit.simple_cnn(), **kwargs)


# --- train_classifier() checks a user's model as fit_classifier() does (issue 25, item 4) ----------

@pytest.mark.parametrize("num_classes, message", [
    (3, r"train_classifier\(\): `data` has 10 classes \(T-shirt/top, .*the model predicts 3 classes\. .*num_classes=10"),
    (1, r"train_classifier\(\): `data` has 10 classes .*predicts 2 classes \(a 1-unit sigmoid output\)\."),
])
def test_train_classifier_checks_a_user_model_before_any_training(num_classes, message, tmp_path):
    model = cnnkit.mlp_classifier((28, 28, 1), units=4, num_classes=num_classes)
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        cnnkit.train_classifier(model=model, epochs=1, subset=100, run_dir=tmp_path / "run", verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # nothing trained
    assert not (tmp_path / "run").exists()  # the folder made for the run is removed again
