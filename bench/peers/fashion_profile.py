"""Where fashion_cnn's bfloat16 training step spends its time: TensorFlow (Keras' BatchNormalization and
the fused kernel cnnkit runs) against PyTorch (bf16 autocast), each in a process of its own.

fashion_cnn is the main job's model (cnnkit.fashion_cnn: Conv 5x5/32 -> MaxPool -> BN -> ReLU, Conv
3x3/48 -> MaxPool -> BN -> ReLU, Dense 128, Dense 10). PyTorch runs twice: with contiguous (NCHW) tensors
and with channels-last ones. Per batch of 128 (the first 128 Fashion-MNIST training images, 28x28x1:
real images, not noise, because PyTorch's contiguous max-pooling kernel branches on the data and runs
~4.7x slower on uniform noise than on Fashion-MNIST's mostly black backgrounds), median of 5 x 40
steps after warm-up: the forward pass, forward + gradients, the whole step (+ Adam), each as one
tf.function (TensorFlow) or eager code (PyTorch), with no input pipeline around it; then each layer's
forward and forward + backward alone (the gradient of the first convolution's input is not needed in
training and is not computed); then cnnkit's fit_classifier() per step (its input pipeline, metrics and
32 steps per call included; the second epoch of each call, so tracing is left out). The FLOP rate:
multiply-adds of the step (forward x 3, less the first
convolution's input gradient) over its time, against this machine's bfloat16 matmul peak.

    bash bench/run.sh peers/fashion_profile.py

Prints a table and writes bench/results/fashion_profile.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py

from common import RESULTS, command_line, datasets, epoch_timer, per_step, provenance, publish, tf_step_parts

B = 128
# multiply-adds per image, forward: conv1 5x5x1x32 at 28x28, conv2 3x3x32x48 at 14x14, dense 2352x128, 128x10
MACS = {"conv1": 25 * 32 * 784, "conv2": 9 * 32 * 48 * 196, "dense": 2352 * 128 + 128 * 10}
# training: forward + weight gradients + input gradients (none for the first convolution)
TRAIN_FLOPS = 2 * B * (3 * sum(MACS.values()) - MACS["conv1"])


def tf_profile(fused: bool) -> dict:
    import keras
    import tensorflow as tf

    import cnnkit
    from cnnkit._execution import fused_batchnorm
    from cnnkit.precision import computing_in

    keras.utils.set_random_seed(0)
    model = cnnkit.fashion_cnn()
    x, y = (tf.constant(a) for a in datasets(B)["fashion_cnn"])
    layers = {}
    with computing_in(model, "mixed_bfloat16"), (fused_batchnorm(model) if fused else nullcontext()):
        out = tf_step_parts(model, x, y)
        h = x
        for i, layer in enumerate(model.layers[1:]):
            inp = tf.identity(h)

            @tf.function
            def fwd(layer=layer, inp=inp):
                return layer(inp, training=True)

            @tf.function
            def fwd_bwd(layer=layer, inp=inp, first=i == 0):
                with tf.GradientTape() as tape:
                    tape.watch(inp)
                    o = tf.cast(layer(inp, training=True), tf.float32)
                return tape.gradient(o, ([] if first else [inp]) + layer.trainable_variables)

            layers[f"{layer.name} ({type(layer).__name__}, in {inp.dtype.name})"] = (per_step(fwd), per_step(fwd_bwd))
            h = layer(inp, training=True)
    return {"out": out, "layers": layers}


def cnnkit_fit_ms() -> float:
    import numpy as np

    import cnnkit

    rng = np.random.default_rng(0)
    x, y = rng.random((B * 64, 28, 28, 1), dtype="float32"), rng.integers(0, 10, B * 64)
    model = cnnkit.fashion_cnn()
    t = []
    for _ in range(3):  # the second epoch of each call: tracing left out
        timer = epoch_timer()
        cnnkit.fit_classifier(model, (x, y), epochs=2, batch_size=B, verbose=0, recalibrate_bn=False, callbacks=[timer])
        t.append(timer.seconds / 64)
    return statistics.median(t) * 1e3


def torch_profile(channels_last: bool) -> dict | None:
    import numpy as np

    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 48, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(48), nn.ReLU(),
        nn.Flatten(), nn.Linear(48 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xa, ya = datasets(B)["fashion_cnn"]
    x = torch.from_numpy(np.ascontiguousarray(xa.transpose(0, 3, 1, 2))).contiguous(memory_format=fmt)
    y = torch.from_numpy(ya)
    bf16 = dict(device_type="cpu", dtype=torch.bfloat16)

    def forward():
        with torch.autocast(**bf16):
            model(x)

    def grads():
        model.zero_grad(set_to_none=True)
        with torch.autocast(**bf16):
            loss = loss_fn(model(x), y)
        loss.backward()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(**bf16):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    out = {"forward": per_step(forward), "forward + gradients": per_step(grads), "whole step (+ Adam)": per_step(step)}
    layers = {}
    h = x
    for i, layer in enumerate(model):
        with torch.autocast(**bf16):
            inp = h.detach().clone().requires_grad_(i > 0)

            def fwd(layer=layer, inp=inp):
                with torch.autocast(**bf16):
                    layer(inp)

            def fwd_bwd(layer=layer, inp=inp):
                layer.zero_grad(set_to_none=True)
                inp.grad = None
                with torch.autocast(**bf16):
                    o = layer(inp).float().sum()
                o.backward()

            layers[f"{i}: {type(layer).__name__} (in {str(inp.dtype).replace('torch.', '')})"] = (
                per_step(fwd), per_step(fwd_bwd))
            h = layer(inp).detach()
    return {"out": out, "layers": layers}


def child(what: str) -> dict | None:
    """Run one part in a process of its own (PyTorch never shares a process with TensorFlow)."""
    r = subprocess.run([sys.executable, __file__, "--part", what], capture_output=True, text=True, check=True)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("@@ ")][-1]
    return json.loads(line[3:])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--part":
        part = sys.argv[2]
        result = {"keras_bn": lambda: tf_profile(False), "fused_bn": lambda: tf_profile(True),
                  "fit": lambda: {"ms": cnnkit_fit_ms()}, "torch": lambda: torch_profile(False),
                  "torch_cl": lambda: torch_profile(True)}[part]()
        print("@@ " + json.dumps(result), flush=True)
        return
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    start, load0 = time.perf_counter(), os.getloadavg()[0]
    parts = {p: child(p) for p in ("keras_bn", "fused_bn", "torch", "torch_cl", "fit")}
    cols = [("TensorFlow, Keras BN", parts["keras_bn"]), ("TensorFlow, fused BN (cnnkit)", parts["fused_bn"]),
            ("PyTorch bf16 autocast", parts["torch"]), ("PyTorch bf16 autocast, channels-last", parts["torch_cl"])]
    cols = [(name, p) for name, p in cols if p]
    lines = [f"# fashion_cnn's training step in bfloat16: ms per batch of {B} (median)", "",
             *provenance(load0, os.getloadavg()[0]), command_line(time.perf_counter() - start), "",
             "| part | " + " | ".join(n for n, _ in cols) + " |", "|---|" + "---:|" * len(cols)]
    for k in parts["keras_bn"]["out"]:
        lines.append(f"| {k} | " + " | ".join(f"{p['out'][k]:.2f}" for _, p in cols) + " |")
    lines.append("| GFLOP/s of the whole step | " + " | ".join(
        f"{TRAIN_FLOPS / p['out']['whole step (+ Adam)'] / 1e6:.0f}" for _, p in cols) + " |")
    lines.append(f"| cnnkit fit_classifier() per step (input pipeline, metrics, 32 steps per call) "
                 f"| | {parts['fit']['ms']:.2f} |" + " |" * (len(cols) - 2))
    for name, p in cols:
        lines += ["", f"{name}, per layer: forward / forward + backward (ms per batch)", "",
                  "| layer | fwd | fwd+bwd |", "|---|---:|---:|"]
        lines += [f"| {k} | {a:.2f} | {b:.2f} |" for k, (a, b) in p["layers"].items()]
    publish("\n".join(lines) + "\n", RESULTS / "fashion_profile.md")


if __name__ == "__main__":
    main()
