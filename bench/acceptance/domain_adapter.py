"""The workshop's exercise, run longer: a domain adapter in front of a frozen backbone on Fashion-MNIST.

    .venv/bin/python bench/acceptance/domain_adapter.py [--train 10000] [--out bench/results/domain_adapter.md]

The figures vignettes/exercise-domain-adapter.qmd quotes (the vignette itself trains only briefly).
Data: Fashion-MNIST from Debian's dataset-fashion-mnist through cnnkit.load_fashion_mnist(pad=True):
random subsets (seed 0), 32x32 grey, values in [0, 1].

    (a) ConvNeXtTiny, weights=None (random, frozen) + adapter: the exercise as it can run here
        (no ImageNet weights for ConvNeXtTiny offline); --convnext-train images, it is slow on a CPU
    (b) EfficientNet-Lite0, ImageNet weights (frozen) + adapter: the same recipe, really pretrained
    (c) EfficientNet-Lite0, ImageNet weights (frozen), the gray channel copied 3 times instead of an
        adapter (cnnkit.transfer_model, efficientnet_lite0_preprocess on x * 255)

Adapter: cnnkit.domain_adapted_model defaults (2 x [Conv2D(32) -> BatchNorm -> ReLU] -> Conv2D(3)),
the adapter's BatchNormalization momentum set to 0.9 as in the vignette. Adam 1e-3, batch 32,
cnnkit.fit_classifier; accuracy on --test test images. A benchmark, not a test: timings depend on
the machine and its load (printed in the report).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import command_line, provenance, publish


def adapter_momentum(model, momentum: float = 0.9) -> None:
    for name in ("adapter_bn1", "adapter_bn2"):
        model.get_layer(name).momentum = momentum


def fit(model, x, y, xt, yt, epochs: int) -> dict:
    import cnnkit

    start = time.perf_counter()
    cnnkit.fit_classifier(model, (x, y), epochs=epochs, batch_size=32, learning_rate=1e-3, verbose=0)
    seconds = time.perf_counter() - start
    acc = cnnkit.evaluate_classifier(model, (xt, yt))["accuracy"]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {"seconds": seconds, "accuracy": acc, "epochs": epochs, "trainable": trainable, "n": len(y)}


def run(args) -> list[tuple[str, dict]]:
    import cnnkit  # first: quiet TensorFlow import
    # isort: split
    import keras

    d = cnnkit.load_fashion_mnist(pad=True, n=args.train, n_test=args.test, seed=args.seed)
    x, y, xt, yt = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    rows = []

    if args.convnext_train:
        keras.utils.set_random_seed(args.seed)
        m = cnnkit.domain_adapted_model("convnext_tiny", (32, 32, 1), num_classes=10, weights=None)
        adapter_momentum(m)
        n = args.convnext_train
        rows.append(("(a) ConvNeXtTiny, weights = NULL (random, frozen) + adapter",
                     fit(m, x[:n], y[:n], xt, yt, args.epochs)))

    keras.utils.set_random_seed(args.seed)
    m = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=10, weights="imagenet")
    adapter_momentum(m)
    rows.append(("(b) EfficientNet-Lite0, ImageNet (frozen) + adapter", fit(m, x, y, xt, yt, args.epochs)))

    keras.utils.set_random_seed(args.seed)
    m = cnnkit.transfer_model("efficientnet_lite0", (32, 32, 3), num_classes=10, weights="imagenet")
    pre = cnnkit.efficientnet_lite0_preprocess
    x3, xt3 = pre(np.repeat(x, 3, axis=-1) * 255), pre(np.repeat(xt, 3, axis=-1) * 255)
    rows.append(("(c) EfficientNet-Lite0, ImageNet (frozen), gray channel copied x3",
                 fit(m, x3, y, xt3, yt, args.epochs)))
    return rows


def report(rows, args, load_before, load_after, total) -> str:
    lines = ["# The exercise, longer: a domain adapter in front of a frozen backbone (Fashion-MNIST)\n",
             *provenance(load_before, load_after),
             f"- data: Fashion-MNIST, random {args.train} training / {args.test} test images (seed {args.seed}), "
             "32x32x1 in [0, 1]; batch 32, Adam 1e-3; one run per row",
             command_line(total),
             "| setup | training images | trainable parameters | epochs | training time (s) | test accuracy |",
             "|---|---|---|---|---|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['n']:,} | {r['trainable']:,} | {r['epochs']} | {r['seconds']:.0f} | "
                     f"{r['accuracy']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--convnext-train", type=int, default=1000, help="training images for (a); 0 skips it")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args()
    load_before, start = os.getloadavg()[0], time.perf_counter()
    rows = run(args)
    publish(report(rows, args, load_before, os.getloadavg()[0], time.perf_counter() - start), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
