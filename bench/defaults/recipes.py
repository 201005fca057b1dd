"""What each recipe option does to test accuracy (issue 28 item 5): label smoothing, the weight average
(EMA), MixUp, CutMix and test-time augmentation, on the main job and on a transfer task, 3 seeds each.

Main job: ``fashion_cnn`` through ``fit_classifier()`` with the main job's defaults (``cnnkit train``:
4 epochs, batch 128, one-cycle peak 3e-3, label smoothing 0.1, ``ema="auto"``) on all 60,000 training
images, test accuracy on the 10,000 test images; each row changes one option. Transfer task:
``transfer_model("efficientnet_lite0")`` (ImageNet weights, installed offline) fine-tuned with
``fine_tune()`` (3 head epochs, 3 fine-tuning epochs, batch 32) on 1,000 class-balanced Fashion-MNIST
training images at 96x96x3, tested on 1,000 test images; each row adds one option to the plain recipe.
"tta=2" is the same model evaluated with its mirror image averaged in.

These are test-set figures, for the README's advice on when each option helps; the main job's
defaults were chosen on a validation split (bench/defaults/main_job_recipe.py), not from this table.

    bash bench/run.sh defaults/recipes.py                        # both tasks, 3 seeds (~20 min on 2 cores)
    bash bench/run.sh defaults/recipes.py --task main --seeds 1  # quicker

Writes bench/results/recipes.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import RESULTS, command_line, load_split, provenance, publish, read_fashion_mnist, to_rgb

MAIN = {  # name -> what changes against the main job's defaults
    "defaults": {},
    "no label smoothing": {"label_smoothing": 0.0},
    "no weight average": {"ema": 0},
    "mixup 0.2": {"mixup": 0.2},
    "cutmix 1.0": {"cutmix": 1.0},
}
TRANSFER = {  # name -> what is added to the plain fine_tune() recipe
    "plain": {},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "weight average (auto)": {"ema": "auto"},
    "mixup 0.2": {"mixup": 0.2},
    "cutmix 1.0": {"cutmix": 1.0},
}


def main_job(name: str, seed: int, data) -> dict:
    import keras

    import cnnkit
    from cnnkit.job import DEFAULTS

    (x, y), (xt, yt) = data
    keras.utils.set_random_seed(seed)
    model = cnnkit.fashion_cnn()
    settings = {k: DEFAULTS[k] for k in ("epochs", "batch_size", "learning_rate", "schedule", "label_smoothing", "ema")}
    settings.update(MAIN[name])
    start = time.perf_counter()
    cnnkit.fit_classifier(model, (x, y), verbose=0, seed=seed, **settings)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "acc": cnnkit.evaluate_classifier(model, (xt, yt))["accuracy"],
            "acc_tta": cnnkit.evaluate_classifier(model, (xt, yt), tta=2)["accuracy"]}


def transfer(name: str, seed: int, data) -> dict:
    import keras

    import cnnkit

    (x, y), (xt, yt) = data
    keras.utils.set_random_seed(seed)
    model = cnnkit.transfer_model("efficientnet_lite0", (96, 96, 3), num_classes=10, value_range=(0, 255))
    start = time.perf_counter()
    cnnkit.fine_tune(model, (x, y), head_epochs=3, epochs=3, batch_size=32, learning_rate=1e-3, verbose=0, seed=seed,
                     **TRANSFER[name])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "acc": cnnkit.evaluate_classifier(model, (xt, yt))["accuracy"],
            "acc_tta": cnnkit.evaluate_classifier(model, (xt, yt), tta=2)["accuracy"]}


def table(title: str, configs: dict, fn, data, seeds: int) -> list[str]:
    rows = [f"### {title}", "", "| option | test accuracy (median, min) | with tta=2 (median, min) | train s (median) |",
            "|---|---|---|---|"]
    for name in configs:
        got = [fn(name, seed, data) for seed in range(seeds)]
        for seed, g in enumerate(got):
            print(f"{title} / {name} / seed {seed}: {g}", flush=True)
        acc, tta = [g["acc"] for g in got], [g["acc_tta"] for g in got]
        rows.append(f"| {name} | {100 * statistics.median(acc):.2f} % ({100 * min(acc):.2f}) | "
                    f"{100 * statistics.median(tta):.2f} % ({100 * min(tta):.2f}) | "
                    f"{statistics.median(g['seconds'] for g in got):.1f} |")
    return rows + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["main", "transfer", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    lines = ["# Recipe options: their effect on test accuracy (issue 28)", "",
             f"{args.seeds} seed(s) per row; see bench/defaults/recipes.py for the set-up.", ""]
    if args.task in ("main", "both"):
        images, labels = read_fashion_mnist("train")
        timages, tlabels = read_fashion_mnist("test")
        data = (((images / 255.0).astype("float32")[..., None], labels.astype("int64")),
                ((timages / 255.0).astype("float32")[..., None], tlabels.astype("int64")))
        lines += table("Main job (fashion_cnn, 60,000 images, the main job's defaults, one option changed)", MAIN,
                       main_job, data, args.seeds)
    if args.task in ("transfer", "both"):
        x, y = load_split("train", 1000, 0)
        xt, yt = load_split("t10k", 1000, 1)
        data = ((to_rgb(x, 96), y.astype("int64")), (to_rgb(xt, 96), yt.astype("int64")))
        lines += table("Transfer task (EfficientNet-Lite0, 1,000 images at 96 px, fine_tune 3 + 3 epochs, one option "
                       "added)", TRANSFER, transfer, data, args.seeds)
    lines += [*provenance(load0, os.getloadavg()[0]), command_line(time.perf_counter() - t0)]
    publish("\n".join(lines), RESULTS / "recipes.md" if args.task == "both" else None)


if __name__ == "__main__":
    main()
