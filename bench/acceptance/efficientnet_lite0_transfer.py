"""Does transfer learning transfer? Four ways to learn Fashion-MNIST from 1,000 images.

    bash bench/run.sh acceptance/efficientnet_lite0_transfer.py [--train 1000]
        [--out bench/results/efficientnet_lite0_transfer.md]

Data: Fashion-MNIST, read by cnnkit's reader (bench/common.py: Debian's dataset-fashion-mnist),
a class-balanced sample of --train training and --test test images, 28x28 grey resized to 96x96
(bilinear) and repeated to 3 channels (RGB), values 0-255.

    (a) cnnkit.simple_cnn from scratch (3 conv blocks, x / 255 in)
    (b) EfficientNet-Lite0, weights=None, all of it trained (efficientnet_lite0_preprocess in)
    (c) feature extraction: ImageNet weights, backbone frozen (trainable = False), new head trained
    (d) fine-tuning: (c), then blocks 6-7 and the top conv unfrozen (BatchNormalization layers kept
        frozen, as Keras recommends) and trained on at a 10x lower learning rate

Heads: (b)-(d) global average pooling -> Dropout(0.2) -> Dense(10, softmax). All compiled with
cnnkit.compile_classifier (Adam) and trained with model.fit, batch 32, fixed seed. A benchmark,
not a test: timings depend on the machine and its load (printed in the report).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import command_line, load_split, provenance, publish, to_rgb


def lite0_classifier(weights, size: int):
    import keras

    import cnnkit

    backbone = cnnkit.efficientnet_lite0(include_top=False, weights=weights, input_shape=(size, size, 3))
    inputs = keras.Input((size, size, 3))
    x = backbone(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = keras.layers.Dropout(0.2, name="head_dropout")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="head_predictions")(x)
    return keras.Model(inputs, outputs, name=f"lite0_{weights or 'scratch'}"), backbone


def unfreeze_last_blocks(backbone, prefixes=("block6", "block7", "top_")) -> None:
    """Plain Keras flags: the backbone trainable, all but the named layers frozen, BN kept frozen."""
    import keras

    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name.startswith(prefixes) and not isinstance(layer, keras.layers.BatchNormalization)


def fit(model, x, y, xt, yt, epochs: int, lr: float) -> dict:
    import cnnkit

    cnnkit.compile_classifier(model, learning_rate=lr)
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    _, acc = model.evaluate(xt, yt, batch_size=64, verbose=0)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {"seconds": seconds, "accuracy": float(acc), "epochs": epochs, "trainable": trainable}


def batch_stats_accuracy(model, x, y) -> float:
    """Test accuracy of a forward pass in training mode: BatchNormalization uses each batch's own
    statistics instead of its moving averages (dropout is on too, so this is a lower bound)."""
    import keras

    preds = [keras.ops.convert_to_numpy(model(x[i:i + 100], training=True)).argmax(1) for i in range(0, len(x), 100)]
    return float((np.concatenate(preds) == y).mean())


def run(args) -> list[tuple[str, dict]]:
    import keras

    import cnnkit

    xtr, ytr = load_split("train", args.train, args.seed)
    xte, yte = load_split("t10k", args.test, args.seed + 1)
    xtr, xte = to_rgb(xtr, args.size), to_rgb(xte, args.size)
    pre = cnnkit.efficientnet_lite0_preprocess
    rows = []

    keras.utils.set_random_seed(args.seed)
    cnn = cnnkit.simple_cnn(input_shape=(args.size, args.size, 3), num_classes=10)
    rows.append(("(a) small CNN from scratch (simple_cnn)",
                 fit(cnn, xtr / 255.0, ytr, xte / 255.0, yte, args.epochs, 1e-3)))

    keras.utils.set_random_seed(args.seed)
    scratch, _ = lite0_classifier(None, args.size)
    result = fit(scratch, pre(xtr), ytr, pre(xte), yte, args.epochs, 1e-3)
    result["batch_stats_accuracy"] = batch_stats_accuracy(scratch, pre(xte), yte)
    rows.append(("(b) EfficientNet-Lite0, weights = NULL", result))

    keras.utils.set_random_seed(args.seed)
    model, backbone = lite0_classifier("imagenet", args.size)
    backbone.trainable = False
    head = fit(model, pre(xtr), ytr, pre(xte), yte, args.epochs_head, 1e-3)
    rows.append(("(c) feature extraction (ImageNet, backbone frozen)", head))

    unfreeze_last_blocks(backbone)
    tuned = fit(model, pre(xtr), ytr, pre(xte), yte, args.epochs_finetune, 1e-4)
    tuned["after"] = head
    rows.append(("(d) fine-tuning blocks 6-7 + top conv after (c)", tuned))
    return rows



def report(rows, args, load_before, load_after, total) -> str:
    lines = ["# Transfer learning with EfficientNet-Lite0: Fashion-MNIST from few images\n",
             *provenance(load_before, load_after),
             f"- data: Fashion-MNIST, {args.train} training / {args.test} test images (class-balanced, seed {args.seed}), "
             f"28x28 grey -> {args.size}x{args.size}x3; batch 32, Adam; one run per row",
             command_line(total),
             "| setup | trainable parameters | epochs | training time (s) | test accuracy |",
             "|---|---|---|---|---|"]
    for name, r in rows:
        epochs, secs = str(r["epochs"]), f"{r['seconds']:.0f}"
        if "after" in r:
            epochs = f"{r['after']['epochs']} + {r['epochs']}"
            secs = f"{r['after']['seconds']:.0f} + {r['seconds']:.0f}"
        lines.append(f"| {name} | {r['trainable']:,} | {epochs} | {secs} | {r['accuracy']:.3f} |")
    notes = [f"\n{name}: with BatchNormalization's moving averages (as Keras evaluates) the test accuracy is "
             f"{r['accuracy']:.3f}; with each batch's own statistics it is {r['batch_stats_accuracy']:.3f}. Trained "
             f"from scratch for {r['epochs']} epochs of {args.train // 32 + 1} steps, the moving averages "
             "(momentum 0.99, as in the original) lag behind weights that are still changing fast, and 16 "
             "stacked blocks compound the lag: a deep network from scratch needs far more data or steps."
             for name, r in rows if "batch_stats_accuracy" in r]
    return "\n".join(lines + notes) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--epochs", type=int, default=10, help="epochs for (a) and (b)")
    ap.add_argument("--epochs-head", type=int, default=10, help="epochs for (c)")
    ap.add_argument("--epochs-finetune", type=int, default=5, help="extra epochs for (d)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args()
    load_before, start = os.getloadavg()[0], time.perf_counter()
    rows = run(args)
    publish(report(rows, args, load_before, os.getloadavg()[0], time.perf_counter() - start), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
