"""What the pretrained EfficientNet-Lite0 recognises in photos given as 0-1 images, with and without
the preprocessing layer (issue 15, item 4: the ImageNet side of bench/defaults/preprocessing_layer.py).

    .venv/bin/python bench/defaults/preprocessing_imagenet.py [--out bench/results/preprocessing_imagenet.md]

The full ImageNet classifier (efficientnet_lite0(weights="imagenet"), include_top) on the RGB photos
that ship with scikit-image, each read as classify_image() reads it (central 87.5 %
square, 224x224 bicubic) and divided by 255, the range image_folder() gives:

    (a) before: the 0-1 image straight into the network (what a user who did not scale got)
    (c) after:  the preprocessing layer transfer_model() now puts in front (registry, value_range (0, 1))

Each row: the top-1 class and its probability, and how many of (a)'s top 5 are in (c)'s top 5
((c)'s top 5 is classify_image()'s, tested in tests/python/test_preprocessing.py). A benchmark, not a
test: a handful of photos, no timing claims.
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


def photos() -> list[tuple[str, np.ndarray]]:
    import skimage.data
    from PIL import Image

    skdir = Path(skimage.data.__file__).parent
    out = []
    for name in ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "horse.png"):
        if (skdir / name).exists():
            out.append((name, np.asarray(Image.open(skdir / name).convert("RGB"))))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args()
    import cnnkit
    from cnnkit.backbones import get_spec
    from cnnkit.efficientnet_lite import imagenet_input
    from cnnkit.imagenet import decode_predictions
    from cnnkit.preprocessing import preprocessing_layer

    load_before, start = os.getloadavg()[0], time.perf_counter()
    model = cnnkit.efficientnet_lite0(weights="imagenet")
    layer = preprocessing_layer(get_spec("efficientnet_lite0"), (0.0, 1.0))
    rows, agree = [], 0
    for name, img in photos():
        x = imagenet_input(img)[None] / 255.0
        before = decode_predictions(model.predict(x, verbose=0), top=5)[0]
        after = decode_predictions(model.predict(np.asarray(layer(x)), verbose=0), top=5)[0]
        same = len({n for _, n, _ in before} & {n for _, n, _ in after})
        agree += before[0][1] == after[0][1]
        rows.append(f"| {name} | {before[0][1]} ({before[0][2]:.2f}) | {after[0][1]} ({after[0][2]:.2f}) | {same} of 5 |")
        print(rows[-1], flush=True)
    lines = ["# What the pretrained EfficientNet-Lite0 sees in 0-1 images, without and with the preprocessing layer\n",
             *provenance(load_before, os.getloadavg()[0]),
             "- model: efficientnet_lite0(weights=\"imagenet\") with its ImageNet top; photos read as classify_image() "
             "reads them, divided by 255",
             command_line(time.perf_counter() - start),
             "| photo | (a) 0-1 straight in: top-1 (probability) | (c) preprocessing layer: top-1 (probability) "
             "| top-5 classes in common |",
             "|---|---|---|---|", *rows, "",
             f"Same top-1 class: {agree} of {len(rows)} photos."]
    publish("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
