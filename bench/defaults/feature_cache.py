"""Feature extraction with a frozen EfficientNet-Lite0: the backbone's features computed once
(cnnkit's fit_classifier, cache_features="auto") against Keras' model.fit on the same frozen model,
at its defaults and at its best setting on this machine.

    bash bench/run.sh defaults/feature_cache.py [--train 2000] [--test 500] [--epochs 10] [--out -]

Data: Fashion-MNIST (Debian's files), class-balanced samples, 28x28 grey resized to 96x96 and
repeated to RGB; EfficientNet-Lite0 with its ImageNet weights (converted offline), frozen, its
preprocessing applied to the images first, global average pooling, Dense(10, softmax); Adam 1e-3,
batch 128, seed 0. Each way starts from the same weights; time = the whole training call
(feature computation included for cnnkit), then test accuracy. Alternating rounds, best time kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py

from common import RESULTS, command_line, load_split, provenance, run_and_publish, to_rgb


def model_and_start(size: int):
    import keras

    import cnnkit

    keras.utils.set_random_seed(0)
    m = cnnkit.transfer_model("efficientnet_lite0", (size, size, 3), num_classes=10, weights="imagenet")
    return m, [w.copy() for w in m.get_weights()]


def run(args) -> list[tuple[str, float, float]]:
    import keras

    import cnnkit

    xs, ys = load_split("train", args.train, 0)
    xt, yt = load_split("t10k", args.test, 1)
    x = cnnkit.efficientnet_lite0_preprocess(to_rgb(xs, args.size))
    xt = cnnkit.efficientnet_lite0_preprocess(to_rgb(xt, args.size))
    model, start = model_and_start(args.size)

    def cnnkit_fit(cache):
        model.set_weights(start)
        cnnkit.compile_classifier(model, learning_rate=1e-3)
        cnnkit.fit_classifier(model, (x, ys), epochs=args.epochs, batch_size=128, verbose=0, cache_features=cache)

    def keras_fit(steps_per_execution=1):
        model.set_weights(start)
        cnnkit.compile_classifier(model, learning_rate=1e-3, steps_per_execution=steps_per_execution)
        model.fit(x, ys, epochs=args.epochs, batch_size=128, verbose=0)

    ways = [("cnnkit fit_classifier (features computed once)", lambda: cnnkit_fit("auto")),
            ("Keras model.fit on the frozen model", keras_fit),
            # model.fit at its best setting here: float32 (mixed bfloat16 is slower for EfficientNet's depthwise
            # convolutions on this CPU: results/precision_auto.md) and 32 steps per execution
            ("Keras model.fit best (float32, steps_per_execution 32)", lambda: keras_fit(32)),
            ("cnnkit fit_classifier, cache_features=False", lambda: cnnkit_fit(False))]
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for label, fit in ways:
            keras.utils.set_random_seed(0)
            t = time.perf_counter()
            fit()
            seconds = time.perf_counter() - t
            acc = cnnkit.evaluate_classifier(model, (xt, yt))["accuracy"]
            if label not in best or seconds < best[label][0]:
                best[label] = (seconds, acc)
    return [(label, *best[label]) for label, _ in ways]


def report(rows, args, load, total) -> str:
    base = rows[1][1]
    best_keras = min(seconds for label, seconds, _ in rows if label.startswith("Keras"))
    lines = ["# Feature extraction: a frozen backbone's features computed once", "", *provenance(*load),
             command_line(total),
             f"EfficientNet-Lite0 (ImageNet weights, frozen) + Dense(10) on {args.train:,} Fashion-MNIST images at "
             f"{args.size}x{args.size}x3, {args.epochs} epochs of head training, batch 128, Adam 1e-3; test accuracy "
             f"on {args.test:,} test images; time of the whole training call, best of {args.rounds} alternating "
             "rounds.", "", "| way | seconds | speed vs Keras model.fit | vs Keras at its best | test accuracy |",
             "|---|---:|---:|---:|---:|"]
    for label, seconds, acc in rows:
        lines.append(f"| {label} | {seconds:.1f} | {base / seconds:.2f}x | {best_keras / seconds:.2f}x | {acc:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "feature_cache.md"))
    args = p.parse_args()
    run_and_publish(run, report, args)


if __name__ == "__main__":
    main()
