"""Training and predict throughput: cnnkit's default path vs hand-written Keras vs PyTorch.

Models (the slides'): the small CNN on 32x32x3 binary data (Fashion-MNIST T-shirt vs trouser,
padded, 3 channels) and LeNet-5 on 32x32x1 10-class Fashion-MNIST. Same data, batch size and
optimizer (Adam, lr 1e-3) for every contestant. Throughput is images/s of one training epoch, the
median of >= 3 rounds, contestants alternating within each round, all in one process. Keras
contestants run two epochs per round and the second is timed (a callback), so tracing -- which
cnnkit redoes per call because it restores the model's precision afterwards -- is left out for all;
a real run traces once per fit call. Predict: images/s of one pass, after a warm-up pass.

    bash bench/run.sh train_throughput.py [--rounds 3] [--n 12000]

Prints a table and writes bench/results/train_throughput.md.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

import cnnkit  # first: quiet TensorFlow import
import keras
from _machine import RESULTS, publish

BATCH = 128
LR = 1e-3
FMNIST = Path("/usr/share/datasets/fashion-mnist")


def read_fashion_mnist(split: str = "train"):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(FMNIST / f"{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FMNIST / f"{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y


def datasets(n: int):
    x, y = read_fashion_mnist()
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))).astype("float32")[..., None] / 255.0
    keep = np.isin(y, (0, 1))
    xb, yb = np.repeat(x[keep], 3, axis=-1)[:n], y[keep][:n].astype("float32")
    return {
        "small_cnn": (np.ascontiguousarray(xb), yb),
        "lenet5": (np.ascontiguousarray(x[:n]), y[:n].astype("int64")),
    }


# -- (b) plain Keras, model.fit defaults ------------------------------------------------------
def keras_model(name: str) -> keras.Model:
    if name == "small_cnn":
        inputs = keras.Input((32, 32, 3))
        x = inputs
        for _ in range(3):
            x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
            x = keras.layers.MaxPool2D(2)(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dense(256, activation="relu")(x)
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
        loss = "binary_crossentropy"
    else:
        inputs = keras.Input((32, 32, 1))
        x = keras.layers.Conv2D(6, 5, activation="tanh")(inputs)
        x = keras.layers.AveragePooling2D(2)(x)
        x = keras.layers.Conv2D(16, 5, activation="tanh")(x)
        x = keras.layers.AveragePooling2D(2)(x)
        x = keras.layers.Conv2D(120, 5, activation="tanh")(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(84, activation="tanh")(x)
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        loss = "sparse_categorical_crossentropy"
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(LR), loss, metrics=["accuracy"])
    return model


class EpochTimer(keras.callbacks.Callback):
    """Seconds of the last epoch of a fit call."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


class PlainKeras:
    label = "plain Keras (model.fit defaults)"

    def __init__(self, name, x, y):
        self.model, self.x, self.y = keras_model(name), x, y
        self.predict()  # warm-up: tracing

    def epoch(self):
        timer = EpochTimer()
        self.model.fit(self.x, self.y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[timer])
        return timer.seconds

    def predict(self):
        self.model.predict(self.x, batch_size=BATCH, verbose=0)


# -- (c) PyTorch, hand-written loop ----------------------------------------------------------
class PyTorch:
    label = "PyTorch (hand-written loop)"

    def __init__(self, name, x, y):
        import torch
        from torch import nn

        torch.set_num_threads(os.cpu_count() or 2)
        self.torch = torch
        if name == "small_cnn":
            layers, c = [], 3
            for _ in range(3):
                layers += [nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
                c = 32
            self.model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 256),
                                       nn.ReLU(), nn.Linear(256, 1))
            self.loss = nn.BCEWithLogitsLoss()
            self.y = torch.from_numpy(y).float().unsqueeze(1)
        else:
            self.model = nn.Sequential(
                nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
                nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
            self.loss = nn.CrossEntropyLoss()
            self.y = torch.from_numpy(y)
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.epoch()

    def epoch(self):
        torch = self.torch
        start = time.perf_counter()
        self.model.train()
        perm = torch.randperm(len(self.x))
        for i in range(0, len(self.x), BATCH):
            idx = perm[i:i + BATCH]
            self.opt.zero_grad(set_to_none=True)
            self.loss(self.model(self.x[idx]), self.y[idx]).backward()
            self.opt.step()
        return time.perf_counter() - start

    def predict(self):
        with self.torch.inference_mode():
            self.model.eval()
            for i in range(0, len(self.x), BATCH):
                self.model(self.x[i:i + BATCH])


# -- (a) cnnkit's default path ---------------------------------------------------------------
class Cnnkit:
    label = "cnnkit fit_classifier (defaults)"

    def __init__(self, name, x, y):
        self.model = cnnkit.simple_cnn() if name == "small_cnn" else cnnkit.lenet5()
        self.x, self.y = x, y
        self.predict()  # warm-up: tracing

    def epoch(self):
        timer = EpochTimer()
        cnnkit.fit_classifier(self.model, (self.x, self.y), epochs=2, batch_size=BATCH, learning_rate=LR,
                              verbose=0, callbacks=[timer])
        return timer.seconds

    def predict(self):
        cnnkit.predict_classes(self.model, self.x, batch_size=BATCH)


def contestants():
    out = []
    if hasattr(cnnkit, "fit_classifier"):
        out.append(Cnnkit)
    else:
        print("cnnkit.fit_classifier is not available yet: (a) skipped", file=sys.stderr)
    out.append(PlainKeras)
    try:
        import torch  # noqa: F401

        out.append(PyTorch)
    except ImportError:
        print("torch is not installed (pip install torch==2.13.0): (c) skipped", file=sys.stderr)
    return out


def measure(rounds: int, n: int):
    rows = []
    for name, (x, y) in datasets(n).items():
        runners = [cls(name, x, y) for cls in contestants()]
        train = {r.label: [] for r in runners}
        pred = {r.label: [] for r in runners}
        for _ in range(rounds):
            for r in runners:  # alternate within each round
                train[r.label].append(len(x) / r.epoch())
                t = time.perf_counter(); r.predict(); pred[r.label].append(len(x) / (time.perf_counter() - t))
        for r in runners:
            rows.append((name, r.label, statistics.median(train[r.label]), min(train[r.label]),
                         max(train[r.label]), statistics.median(pred[r.label])))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=12000, help="training images per epoch")
    args = ap.parse_args()
    rows = measure(args.rounds, args.n)
    head = (f"Training throughput, images/s (median of {args.rounds} alternating rounds; batch {BATCH}, "
            f"Adam {LR}; {args.n} Fashion-MNIST images) - {date.today()}, {platform.node()}, "
            f"{os.cpu_count()} cores, Keras {keras.__version__}")
    lines = [head, "", "| model | contestant | train img/s (median) | min | max | predict img/s |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {c} | {med:,.0f} | {lo:,.0f} | {hi:,.0f} | {p:,.0f} |" for m, c, med, lo, hi, p in rows]
    for model in ("small_cnn", "lenet5"):
        mine = [r for r in rows if r[0] == model and r[1].startswith("cnnkit")]
        others = [r[2] for r in rows if r[0] == model and not r[1].startswith("cnnkit")]
        if mine and others:
            lines.append(f"\n{model}: cnnkit / best other = {mine[0][2] / max(others):.2f}x (goal >= 1.2x)")
    publish("\n".join(lines), RESULTS / "train_throughput.md")


if __name__ == "__main__":
    main()
