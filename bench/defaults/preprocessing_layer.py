"""The your-own-images workflow with and without the backbone's input scaling in the model.

    .venv/bin/python bench/defaults/preprocessing_layer.py [--seeds 1 2] [--out bench/results/preprocessing_layer.md]

vignettes/your-own-images.qmd's run, in Python: a folder of 4 x 120 Fashion-MNIST images (T-shirt/top,
Shirt, Sneaker, Ankle boot; PNG files), image_folder(image_size=96, validation_split=0.2), an
augmentation layer (translate 0.1, rotate 0.05, horizontal flip) in front of
transfer_model("efficientnet_lite0", ImageNet weights); 6 epochs of the head at 1e-3, then block7
and top unfrozen, 2 epochs at 1e-4; validation accuracy of the finished model on the held-out 20 %.

    (a) before: transfer_model(value_range=None): the 0-1 images go straight into the backbone, as
        they did for every user who did not add a scaling layer by hand
    (b) by hand: value_range=None and keras.layers.Rescaling(255/128, offset=-127/128), what the
        vignette did
    (c) after: transfer_model()'s default, the preprocessing layer from the registry

A benchmark, not a test: one folder, the seeds given; the machine is shared (timings noisy).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import command_line, provenance, publish

CLASSES = {"tshirt": "T-shirt/top", "shirt": "Shirt", "sneaker": "Sneaker", "ankle_boot": "Ankle boot"}
SETUPS = [("(a) before: no input scaling (value_range=None)", None, False),
          ("(b) by hand: value_range=None + Rescaling(255/128, -127/128)", None, True),
          ("(c) after: transfer_model()'s preprocessing layer (default)", (0, 1), False)]


def make_folder(root: Path) -> Path:
    from PIL import Image

    import cnnkit

    fm = cnnkit.load_fashion_mnist(classes=list(CLASSES.values()), n=1200, n_test=40, seed=1)
    for folder, name in CLASSES.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        rows = np.flatnonzero(fm["y_train"] == fm["class_names"].index(name))[:120]
        for j, i in enumerate(rows):
            Image.fromarray(np.rint(fm["x_train"][i, ..., 0] * 255).astype("uint8")).save(root / folder / f"img_{j:03d}.png")
    return root


def run_one(d, value_range, rescale, seed) -> dict:
    import cnnkit  # first: quiet TensorFlow import
    # isort: split
    import keras

    keras.utils.set_random_seed(seed)
    base = cnnkit.transfer_model("efficientnet_lite0", (96, 96, 3), num_classes=4, weights="imagenet",
                                 value_range=value_range)
    aug = cnnkit.augmentation(translate=0.1, rotate=0.05, flip="horizontal", seed=seed)
    inputs = keras.Input((96, 96, 3))
    x = aug(inputs)
    if rescale:
        x = keras.layers.Rescaling(255 / 128, offset=-127 / 128)(x)
    model = keras.Model(inputs, base(x), name="photo_classifier")
    start = time.perf_counter()
    cnnkit.fit_classifier(model, d["train"], validation_data=d["validation"], epochs=6, learning_rate=1e-3, verbose=0)
    head = cnnkit.evaluate_classifier(model, d["validation"])["accuracy"]
    cnnkit.unfreeze(model, block=["block7", "top"])
    cnnkit.compile_classifier(model, learning_rate=1e-4)
    cnnkit.fit_classifier(model, d["train"], validation_data=d["validation"], epochs=2, verbose=0)
    return {"head": head, "final": cnnkit.evaluate_classifier(model, d["validation"])["accuracy"],
            "seconds": time.perf_counter() - start}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args()
    import cnnkit

    load_before, start = os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp) / "photos")
        d = cnnkit.image_folder(folder, image_size=96, validation_split=0.2, seed=1)
        rows = []
        for label, value_range, rescale in SETUPS:
            for seed in args.seeds:
                r = run_one(d, value_range, rescale, seed)
                rows.append((label, seed, r))
                print(label, seed, {k: round(v, 3) for k, v in r.items()}, flush=True)
    lines = ["# The your-own-images workflow: the backbone's input scaling in the model or not\n",
             *provenance(load_before, os.getloadavg()[0]),
             f"- data: 4 Fashion-MNIST classes x 120 PNG files, image_folder(image_size=96, validation_split=0.2, "
             f"seed=1): {d['num_train']} training, {d['num_validation']} validation images; EfficientNet-Lite0 "
             "(ImageNet); 6 head epochs at 1e-3, then block7 + top for 2 epochs at 1e-4",
             command_line(time.perf_counter() - start),
             "| setup | seed | validation accuracy after the head (6 epochs) | after fine-tuning (+2 epochs) | time (s) |",
             "|---|---|---|---|---|"]
    for label, seed, r in rows:
        lines.append(f"| {label} | {seed} | {r['head']:.3f} | {r['final']:.3f} | {r['seconds']:.0f} |")
    publish("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
