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
