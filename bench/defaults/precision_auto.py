"""Which models train faster in mixed bfloat16 on this machine: the evidence behind
``precision = "auto"`` (python/cnnkit/precision.py) for the backbones and the slides' CNN.

    bash bench/run.sh defaults/precision_auto.py [--images 256] [--epochs 2] [--rounds 2] [--out -]

Each case: a model with every layer trainable (fine-tuning; the backbones without pretrained
weights, which does not change the speed), random data, Adam 1e-3, batch 128, `fit_classifier(
cache_features = False)` in float32 and in mixed bfloat16, alternating inside each round; time of
the whole call, best of the rounds. Also: what `precision = "auto"` picks for the model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py

from common import RESULTS, command_line, provenance, run_and_publish

CASES = [("slides' small CNN", None, 32), ("vgg16", "vgg16", 32), ("resnet50", "resnet50", 64),
         ("mobilenet_v2", "mobilenet_v2", 64), ("efficientnet_lite0", "efficientnet_lite0", 96)]


def build(backbone: str | None, size: int):
    import keras

    import cnnkit

    if backbone is None:
        inputs = keras.Input((size, size, 3))
        x = cnnkit.conv_block(cnnkit.conv_block(inputs, 32), 64)
        outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
        return keras.Model(inputs, outputs)
    m = cnnkit.transfer_model(backbone, (size, size, 3), num_classes=10, weights=None)
    cnnkit.unfreeze(m, recompile=False)
    return m


def run(args) -> list[tuple]:
    import numpy as np

    import cnnkit
    from cnnkit.precision import resolve_precision

    rows = []
    rng = np.random.default_rng(0)
    for label, backbone, size in CASES:
        x = rng.random((args.images, size, size, 3), dtype=np.float32)
        y = rng.integers(0, 10, args.images)
        model = build(backbone, size)
        best = {}
        for _ in range(args.rounds):
            for prec in ("float32", "mixed_bfloat16"):
                cnnkit.compile_classifier(model, learning_rate=1e-3)
                t = time.perf_counter()
                cnnkit.fit_classifier(model, (x, y), epochs=args.epochs, batch_size=128, verbose=0,
                                      cache_features=False, precision=prec)
                best[prec] = min(best.get(prec, float("inf")), time.perf_counter() - t)
        rows.append((label, size, best["float32"], best["mixed_bfloat16"], resolve_precision(model)))
        print(rows[-1], flush=True)
    return rows


def report(rows, args, load, total) -> str:
    lines = ["# Mixed bfloat16 or float32: training time per model", "", *provenance(*load), command_line(total),
             f"Every layer trainable, {args.images} random images, {args.epochs} epochs, batch 128, Adam 1e-3; "
             f"time of the whole fit_classifier() call, best of {args.rounds} alternating rounds.", "",
             "| model | input | float32 s | mixed bfloat16 s | bfloat16 speed-up | `auto` picks | right? |",
             "|---|---|---:|---:|---:|---|---|"]
    for label, size, f32, bf16, auto in rows:
        faster = "mixed_bfloat16" if bf16 < f32 else "float32"
        # within 10 %, either pick is fine
        right = "yes" if auto == faster or abs(f32 / bf16 - 1) < 0.10 else "NO"
        lines.append(f"| {label} | {size}x{size}x3 | {f32:.1f} | {bf16:.1f} | {f32 / bf16:.2f}x | {auto} | {right} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "precision_auto.md"))
    args = p.parse_args()
    run_and_publish(run, report, args)


if __name__ == "__main__":
    main()
