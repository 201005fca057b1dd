"""The exercise's train/validation gap: the adapter's BatchNormalization momentum, the engine's
re-estimation of its statistics after short runs, and the preprocessing layer.

    .venv/bin/python bench/defaults/adapter_momentum.py [--seeds 0 1] [--out bench/results/adapter_momentum.md]

The run of vignettes/exercise-domain-adapter.qmd: domain_adapted_model("efficientnet_lite0", (32, 32, 1),
10 classes, ImageNet weights), 2,000 Fashion-MNIST training images (random subset, seed 0) with the
last 10 % held out for validation, 3 epochs, batch 32, Adam 1e-3, cnnkit.fit_classifier; 500 test
images. Each row: the training accuracy of the last epoch, the validation accuracy Keras reports
after that epoch (before the engine re-estimates the statistics at the end of the run), and the
accuracies of the finished model on the held-out validation images and the test images. The gap is
training accuracy minus the finished model's validation accuracy. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import command_line, provenance, publish

SETUPS = [  # (label, bn_momentum, preprocessing, recalibrate_bn)
    ("momentum 0.99, no re-estimation (before the engine's recalibrate_bn)", 0.99, False, False),
    ("momentum 0.99, recalibrate_bn = 'auto' (the engine now)", 0.99, False, "auto"),
    ("momentum 0.9 (the vignette's hand edit), 'auto'", 0.9, False, "auto"),
    ("momentum 0.99 + preprocessing layer, 'auto'", 0.99, True, "auto"),
    ("momentum 0.9 + preprocessing layer, 'auto'", 0.9, True, "auto"),
    ("momentum 0.9 + preprocessing layer, no re-estimation", 0.9, True, False),
]


def run_one(d, momentum, preprocessing, recalibrate, seed) -> dict:
    import cnnkit  # first: quiet TensorFlow import
    # isort: split
    import keras

    keras.utils.set_random_seed(seed)
    m = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=10, weights="imagenet",
                                    bn_momentum=momentum, preprocessing=preprocessing)
    x, y = d["x_train"], d["y_train"]
    start = time.perf_counter()
    h = cnnkit.fit_classifier(m, (x, y), epochs=3, batch_size=32, validation_split=0.1, learning_rate=1e-3,
                              recalibrate_bn=recalibrate, verbose=0)
    seconds = time.perf_counter() - start
    n_val = int(len(x) * 0.1)
    val = cnnkit.evaluate_classifier(m, (x[-n_val:], y[-n_val:]))["accuracy"]
    test = cnnkit.evaluate_classifier(m, (d["x_test"], d["y_test"]))["accuracy"]
    return {"train": h["accuracy"][-1], "val_epoch": h["val_accuracy"][-1], "val": val, "test": test,
            "seconds": seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args()
    import cnnkit

    load_before, start = os.getloadavg()[0], time.perf_counter()
    d = cnnkit.load_fashion_mnist(pad=True, n=2000, n_test=500, seed=0)
    lines = ["# The exercise's train/validation gap: adapter momentum, BatchNorm re-estimation, preprocessing\n"]
    rows = []
    for label, momentum, pre, recal in SETUPS:
        for seed in args.seeds:
            r = run_one(d, momentum, pre, recal, seed)
            rows.append((label, seed, r))
            print(label, seed, {k: round(v, 3) for k, v in r.items()}, flush=True)
    lines += provenance(load_before, os.getloadavg()[0])
    lines += ["- data: Fashion-MNIST, random 2,000 training images (seed 0; the last 200 held out for validation), "
              "500 test images, 32x32x1 in [0, 1]; EfficientNet-Lite0 (ImageNet, frozen) + the default adapter; "
              "3 epochs, batch 32 (171 steps), Adam 1e-3; weights seeded per row",
              command_line(time.perf_counter() - start),
              "| setup | seed | training accuracy (last epoch) | validation accuracy (Keras, after the last epoch) "
              "| validation accuracy (finished model) | gap (training - validation) | test accuracy | time (s) |",
              "|---|---|---|---|---|---|---|---|"]
    for label, seed, r in rows:
        lines.append(f"| {label} | {seed} | {r['train']:.3f} | {r['val_epoch']:.3f} | {r['val']:.3f} | "
                     f"{r['train'] - r['val']:+.3f} | {r['test']:.3f} | {r['seconds']:.0f} |")
    publish("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
