"""Input pipeline: does image_folder() keep training fed?

A folder of real JPEG photos (crops of scikit-image's cat and coffee photos, 320x240, two classes) is
read at 128x128: images/s of one pass over cnnkit's image_folder() (decode + resize), the same with
augmentation mapped over the batches, and keras.utils.image_dataset_from_directory() with its
defaults (same size); against the images/s the training step consumes (fit_classifier on the same
shapes from memory) for the slides' small CNN and a frozen EfficientNet-Lite0 (feature extraction).
Also the one-off cost of image_folder()'s scan (every file is fully decoded once, so corrupt files are
skipped up front). Median of 3 passes, alternating.

    bash bench/run.sh defaults/input_pipeline.py [--n 2000]

Prints a table and writes bench/results/input_pipeline.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

import cnnkit  # first: quiet TensorFlow import

# isort: split
import keras

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import RESULTS, epoch_timer, machine, publish

SIZE = (128, 128)
BATCH = 32


def make_folder(root: Path, n: int) -> Path:
    """``n`` JPEGs (320x240 crops of two real photos, one class per photo)."""
    from PIL import Image
    from skimage import data

    rng = np.random.default_rng(0)
    for name, img in (("cat", data.chelsea()), ("coffee", data.coffee())):
        (root / name).mkdir(parents=True)
        h, w = img.shape[:2]
        for i in range(n // 2):
            y0, x0 = rng.integers(0, h - 240), rng.integers(0, w - 320)
            Image.fromarray(img[y0:y0 + 240, x0:x0 + 320]).save(root / name / f"{i:05d}.jpg", quality=90)
    return root


def one_pass(ds) -> float:
    t = time.perf_counter()
    n = sum(int(x.shape[0]) for x, _ in ds)
    return n / (time.perf_counter() - t)


def consumption(model: keras.Model, n: int = 512) -> float:
    """Images/s the training step takes from memory (second epoch of a fit_classifier call)."""
    x = np.random.default_rng(0).random((n, *SIZE, 3), dtype="float32")
    y = np.arange(n) % 2
    timer = epoch_timer()
    cnnkit.fit_classifier(model, (x, y), epochs=2, batch_size=BATCH, verbose=0, callbacks=[timer])
    return n / timer.seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        root = make_folder(Path(tmp) / "photos", args.n)
        t = time.perf_counter()
        folder = cnnkit.image_folder(str(root), image_size=SIZE, batch_size=BATCH)
        scan = args.n / (time.perf_counter() - t)
        aug = cnnkit.augmentation(flip="horizontal", rotate=0.05, translate=0.1)
        augmented = folder["train"].map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        keras_ds = keras.utils.image_dataset_from_directory(str(root), image_size=SIZE, batch_size=BATCH, verbose=False)
        pipelines = {"cnnkit image_folder (decode + resize)": folder["train"],
                     "cnnkit image_folder + augmentation (flip, rotate, translate)": augmented,
                     "keras image_dataset_from_directory (defaults)": keras_ds}
        for ds in pipelines.values():
            one_pass(ds)  # warm-up
        rates = {k: [] for k in pipelines}
        for _ in range(args.rounds):
            for k, ds in pipelines.items():
                rates[k].append(one_pass(ds))
    steps = {
        "small CNN (slides), 128x128x3": consumption(cnnkit.simple_cnn((*SIZE, 3))),
        "EfficientNet-Lite0 frozen (imagenet) + head": consumption(
            cnnkit.transfer_model("efficientnet_lite0", input_shape=(*SIZE, 3), num_classes=2, weights="imagenet")),
    }
    lines = [f"Input pipeline at {SIZE[0]}x{SIZE[1]}, batch {BATCH}, {args.n} JPEGs 320x240 - {date.today()}, "
             f"{machine()}, Keras {keras.__version__}", "",
             "| pipeline | images/s (median) | min | max |", "|---|---|---|---|"]
    lines += [f"| {k} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} |" for k, v in rates.items()]
    lines += ["", f"image_folder() scan (each file decoded once, before training): {scan:,.0f} files/s", "",
              "| training step consumes (fit_classifier, from memory) | images/s |", "|---|---|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in steps.items()]
    fastest = max(steps.values())
    plain = statistics.median(rates["cnnkit image_folder (decode + resize)"])
    augm = statistics.median(rates["cnnkit image_folder + augmentation (flip, rotate, translate)"])
    lines += ["", f"image_folder() (decode + resize) / fastest training step: {plain / fastest:.2f}x "
              "(>= 1: reading never starves training; the pipeline prefetches beside the step).",
              f"With augmentation in the pipeline: {augm / fastest:.2f}x. On 2 cores augmentation and the "
              "step share the same CPUs, so this is an upper bound: put augmentation in the model "
              "(with_augmentation()) or augment once (augment_dataset()) when it falls below 1."]
    publish("\n".join(lines), RESULTS / "input_pipeline.md")


if __name__ == "__main__":
    main()
