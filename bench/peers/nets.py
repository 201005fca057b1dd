"""The peers' models, written by hand for plain Keras and PyTorch: the slides' small CNN, LeNet-5 and
the main job's ``fashion_cnn``, as cnnkit builds them. A module of bench/peers/ (not a script):
train_throughput.py and time_to_accuracy.py both train these. Keras and PyTorch are imported inside
the functions (the PyTorch worker processes never load TensorFlow)."""

from __future__ import annotations

from typing import Any


def keras_net(name: str, policy: str = "float32") -> tuple[Any, str]:
    """The model (uncompiled, layers in ``policy``; the output layer always float32, as Keras'
    mixed-precision guide says) and its loss."""
    import cnnkit  # noqa: F401  (first: quiet TensorFlow import)
    # isort: split
    import keras

    L = keras.layers
    keras.mixed_precision.set_global_policy(policy)
    try:
        if name == "small_cnn":
            inputs = keras.Input((32, 32, 3))
            x = inputs
            for _ in range(3):
                x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
                x = L.MaxPool2D(2)(x)
            x = L.GlobalAveragePooling2D()(x)
            x = L.Dense(256, activation="relu")(x)
            outputs = L.Dense(1, activation="sigmoid", dtype="float32")(x)
            loss = "binary_crossentropy"
        elif name == "lenet5":
            inputs = keras.Input((32, 32, 1))
            x = L.Conv2D(6, 5, activation="tanh")(inputs)
            x = L.AveragePooling2D(2)(x)
            x = L.Conv2D(16, 5, activation="tanh")(x)
            x = L.AveragePooling2D(2)(x)
            x = L.Conv2D(120, 5, activation="tanh")(x)
            x = L.Flatten()(x)
            x = L.Dense(84, activation="tanh")(x)
            outputs = L.Dense(10, activation="softmax", dtype="float32")(x)
            loss = "sparse_categorical_crossentropy"
        else:  # fashion_cnn, the main job's model (cnnkit.fashion_cnn)
            inputs = keras.Input((28, 28, 1))
            x = inputs
            for f, k in ((32, 5), (48, 3)):
                x = L.Conv2D(f, k, padding="same", use_bias=False)(x)
                x = L.MaxPooling2D(2)(x)
                x = L.BatchNormalization()(x)
                x = L.ReLU()(x)
            x = L.Flatten()(x)
            x = L.Dense(128, activation="relu")(x)
            outputs = L.Dense(10, activation="softmax", dtype="float32")(x)
            loss = "sparse_categorical_crossentropy"
        return keras.Model(inputs, outputs), loss
    finally:
        keras.mixed_precision.set_global_policy("float32")


def torch_net(name: str):
    """The same model in PyTorch (logits out: the loss applies the sigmoid / softmax)."""
    from torch import nn

    if name == "small_cnn":
        layers, c = [], 3
        for _ in range(3):
            layers += [nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = 32
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 256), nn.ReLU(),
                             nn.Linear(256, 1))
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 48, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(48), nn.ReLU(),
        nn.Flatten(), nn.Linear(48 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
