"""The slides' code, in Python: plain Keras chunks give the slides' numbers, and cnnkit gives the same."""

from __future__ import annotations

import keras
import numpy as np

import cnnkit
from conftest import load_spec

MODELS = {m["id"]: m for m in load_spec("models")["models"]}
BLOCKS = {b["id"]: b for b in load_spec("models")["blocks"]}


def slide_conv_block(x):
    x = keras.layers.Conv2D(32, (3, 3), padding="same")(x)
    x = keras.layers.ReLU()(x)
    return keras.layers.MaxPool2D((2, 2))(x)


def test_slide_conv_block_pipe_shape():
    inputs = keras.Input((32, 32, 3))
    out = slide_conv_block(slide_conv_block(slide_conv_block(inputs)))
    assert tuple(out.shape) == tuple(BLOCKS["three_blocks_slides"]["output_shape"])
    assert tuple(cnnkit.conv_block(cnnkit.conv_block(cnnkit.conv_block(inputs))).shape) == tuple(out.shape)


def test_slide_cnn_with_head_has_28097_params():
    inputs = keras.Input((32, 32, 3))
    x = slide_conv_block(slide_conv_block(slide_conv_block(inputs)))
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(256, activation="relu")(x)
    out = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, out)
    assert model.count_params() == MODELS["simple_cnn_slides"]["total_params"]
    assert cnnkit.simple_cnn().count_params() == model.count_params()


def test_slide_mlp_summary_and_probabilities():
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(256, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    assert model.count_params() == MODELS["mlp_slides"]["total_params"]
    assert "3,146,498" in cnnkit.summary_text(model)
    p = model.predict(np.zeros((1, 64, 64, 3), "float32"), verbose=0)
    assert p.shape == (1, 2) and abs(float(p.sum()) - 1) < 1e-5
