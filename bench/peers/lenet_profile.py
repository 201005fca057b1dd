"""Where LeNet-5's training step spends its time: TensorFlow (Keras' graph) against PyTorch.

LeNet-5 is so small (0.4 M multiply-adds per image) that a training step of 128 images takes a few
milliseconds; the question is which part of it is slower in TensorFlow than in PyTorch. Per batch
of 128 (32x32x1, float32), median of 200 steps after warm-up, for: the forward pass alone; forward +
gradients; the whole step (forward, gradients, Adam update) -- each as one tf.function (TensorFlow)
or eager code (PyTorch), with no input pipeline and no Keras fit loop around it. Then the same
for each layer's forward and backward pass alone, and Keras' own fit loop per step for reference.

    bash bench/run.sh peers/lenet_profile.py

Prints a table and writes bench/results/lenet_profile.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

import cnnkit  # first: quiet TensorFlow import

# isort: split
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
import common
from common import RESULTS, machine, publish

B, STEPS = 128, 200


def per_step(f) -> float:
    return common.per_step(f, steps=STEPS // 5, rounds=5, warmup=20)  # ms


def tf_parts():
    model = cnnkit.lenet5()
    x = tf.constant(np.random.default_rng(0).random((B, 32, 32, 1), dtype="float32"))
    y = tf.constant(np.random.default_rng(1).integers(0, 10, B))
    out = common.tf_step_parts(model, x, y, timer=per_step)
    layers = {}
    h = x
    for layer in model.layers[1:]:
        inp = tf.constant(h)

        @tf.function
        def fwd(layer=layer, inp=inp):
            return layer(inp)

        @tf.function
        def fwd_bwd(layer=layer, inp=inp):
            with tf.GradientTape() as tape:
                tape.watch(inp)
                o = layer(inp)
            return tape.gradient(o, [inp] + layer.trainable_variables)

        layers[f"{layer.name} ({type(layer).__name__})"] = (per_step(fwd), per_step(fwd_bwd))
        h = layer(inp).numpy()
    return out, layers


def keras_fit_step():
    model = cnnkit.compile_classifier(cnnkit.lenet5(), steps_per_execution=32)
    x = np.random.default_rng(0).random((B * 64, 32, 32, 1), dtype="float32")
    y = np.random.default_rng(1).integers(0, 10, B * 64)
    model.fit(x, y, batch_size=B, epochs=1, verbose=0)
    t = []
    for _ in range(3):
        s = time.perf_counter()
        model.fit(x, y, batch_size=B, epochs=1, verbose=0)
        t.append((time.perf_counter() - s) / 64)
    return statistics.median(t) * 1e3


def torch_parts():
    try:
        import torch
        from torch import nn
    except ImportError:
        return None, None
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                          nn.AvgPool2d(2), nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84),
                          nn.Tanh(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(B, 1, 32, 32)
    y = torch.randint(0, 10, (B,))

    def forward():
        model(x)

    def grads():
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    out = {"forward": per_step(forward), "forward + gradients": per_step(grads), "whole step (+ Adam)": per_step(step)}
    layers = {}
    h = x
    for i, layer in enumerate(model):
        inp = h.detach().clone().requires_grad_(True)

        def fwd(layer=layer, inp=inp):
            layer(inp)

        def fwd_bwd(layer=layer, inp=inp):
            layer.zero_grad(set_to_none=True)
            inp.grad = None
            layer(inp).sum().backward()

        layers[f"{i}: {type(layer).__name__}"] = (per_step(fwd), per_step(fwd_bwd))
        h = layer(h).detach()
    return out, layers


def main():
    tf_out, tf_layers = tf_parts()
    fit_ms = keras_fit_step()
    pt_out, pt_layers = torch_parts()
    lines = [f"LeNet-5 training step, ms per batch of {B} (median) - {date.today()}, {machine()}, "
             f"TensorFlow {tf.__version__}", "",
             "| part | TensorFlow (tf.function) | PyTorch (eager) | TF / PyTorch |", "|---|---|---|---|"]
    for k, v in tf_out.items():
        p = pt_out[k] if pt_out else float("nan")
        lines.append(f"| {k} | {v:.2f} | {p:.2f} | {v / p:.2f} |")
    lines.append(f"| Keras fit loop per step (steps_per_execution=32, incl. metrics, input pipeline) | {fit_ms:.2f} | | |")
    lines += ["", "Per layer, forward / forward + backward (ms per batch):", "",
              "| TensorFlow layer | fwd | fwd+bwd |", "|---|---|---|"]
    lines += [f"| {k} | {a:.3f} | {b:.3f} |" for k, (a, b) in tf_layers.items()]
    if pt_layers:
        lines += ["", "| PyTorch layer | fwd | fwd+bwd |", "|---|---|---|"]
        lines += [f"| {k} | {a:.3f} | {b:.3f} |" for k, (a, b) in pt_layers.items()]
    publish("\n".join(lines), RESULTS / "lenet_profile.md")


if __name__ == "__main__":
    main()
