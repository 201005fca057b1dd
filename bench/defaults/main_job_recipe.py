"""The main job's recipe (issue 31): which levers reach 92 % in fewer epochs, chosen on a validation split.

Each configuration trains ``fashion_cnn`` through ``fit_classifier()`` -- the path ``cnnkit train``
takes: precision "auto", one-cycle cosine schedule, the given epochs, batch size, peak learning rate and
label smoothing -- on the first 54,000 Fashion-MNIST training images, for 3 seeds, and reports the
accuracy on the last 6,000 training images (the validation split: the test set is not looked at here),
without and with test-time augmentation (the image and its mirror, ``tta=2``), with the seconds
``fit_classifier()`` took (tracing included, as ``train_classifier()``'s ``train_seconds``) and the
seconds per epoch. The main job then trains on all 60,000 images: its time is about 60/54 of these.

    bash bench/run.sh defaults/main_job_recipe.py                    # every configuration, 3 seeds
    bash bench/run.sh defaults/main_job_recipe.py --only e5_ls10 --seeds 1   # one, quickly

Prints a table and writes bench/results/main_job_recipe.md; with --only, the rows of those configurations
replace (or join) theirs in the file, and a line says when they were measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import RESULTS, command_line, provenance, publish, read_fashion_mnist

# name -> fit settings (the main job's today: 8 epochs, batch 128, 3e-3, cosine, no smoothing)
CONFIGS = {
    "e8_today": {"epochs": 8, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.0},
    "e5": {"epochs": 5, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.0},
    "e5_ls10": {"epochs": 5, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1},
    "e4_ls10": {"epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1},
    "e4_b256_ls10": {"epochs": 4, "batch_size": 256, "learning_rate": 5e-3, "label_smoothing": 0.1},
    "e5_b256_ls10": {"epochs": 5, "batch_size": 256, "learning_rate": 5e-3, "label_smoothing": 0.1},
    "e5_ls10_ema": {"epochs": 5, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1, "ema": 0.99},
    "e4_ls10_ema": {"epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1, "ema": 0.99},
    "e4_b256_ls10_ema": {"epochs": 4, "batch_size": 256, "learning_rate": 5e-3, "label_smoothing": 0.1,
                         "ema": 0.99},
    "e4_ls10_ema999": {"epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1,
                       "ema": 0.995},
    # widths of fashion_cnn (default filters (32, 48), units 128), with the new defaults' recipe
    "e4_ls10_ema_f24_32": {"epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1,
                           "ema": 0.99, "model": {"filters": (24, 32)}},
    "e4_ls10_ema_f48_64": {"epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1,
                           "ema": 0.99, "model": {"filters": (48, 64)}},
    "e4_ls10_ema_u256": {"epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "label_smoothing": 0.1,
                         "ema": 0.99, "model": {"units": 256}},
}
N_TRAIN = 54_000


def run(name: str, seed: int, x, y) -> dict:
    import keras

    import cnnkit

    keras.utils.set_random_seed(seed)
    cfg = dict(CONFIGS[name])  # ema: fit_classifier(ema=), Keras' own weight average (cnnkit.ema)
    model = cnnkit.fashion_cnn(**cfg.pop("model", {}))  # "model": fashion_cnn's widths, where a row changes them
    start = time.perf_counter()
    h = cnnkit.fit_classifier(model, (x[:N_TRAIN], y[:N_TRAIN]), schedule="cosine", verbose=0, **cfg)
    seconds = time.perf_counter() - start
    val = (x[N_TRAIN:], y[N_TRAIN:])
    return {"seconds": seconds, "per_epoch": seconds / len(h["epoch"]),
            "acc": cnnkit.evaluate_classifier(model, val)["accuracy"],
            "acc_tta": cnnkit.evaluate_classifier(model, val, tta=2)["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), help="these configurations only")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    images, labels = read_fashion_mnist("train")
    x, y = (images.astype("float32") / 255.0)[..., None], labels.astype("int64")
    rows = ["| configuration | epochs | batch | peak lr | label smoothing | EMA (and model widths) | val acc (median, min) | "
            "with tta=2 (median, min) | fit s (median) | s/epoch |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in args.only or CONFIGS:
        got = [run(name, seed, x, y) for seed in range(args.seeds)]
        for seed, g in enumerate(got):
            print(f"{name} seed {seed}: {g}", flush=True)
        acc, tta = [g["acc"] for g in got], [g["acc_tta"] for g in got]
        cfg = CONFIGS[name]
        rows.append(f"| {name} | {cfg['epochs']} | {cfg['batch_size']} | {cfg['learning_rate']:g} | "
                    f"{cfg['label_smoothing']:g} | {cfg.get('ema', '-')}"
                    f"{''.join(f', {k} {v}' for k, v in cfg.get('model', {}).items())} | "
                    f"{100 * statistics.median(acc):.2f} % ({100 * min(acc):.2f}) | "
                    f"{100 * statistics.median(tta):.2f} % ({100 * min(tta):.2f}) | "
                    f"{statistics.median(g['seconds'] for g in got):.1f} | "
                    f"{statistics.median(g['per_epoch'] for g in got):.1f} |")
    text = "\n".join(["# Main job recipe: validation accuracy per lever (issue 31)", "",
                      f"fashion_cnn through fit_classifier(), {N_TRAIN:,} training images, validated on the last "
                      f"6,000 of the training split, {args.seeds} seed(s) each (test set not used).", "",
                      *rows, "", *provenance(load0, os.getloadavg()[0]), command_line(time.perf_counter() - t0)])
    target = RESULTS / "main_job_recipe.md"
    if args.only and target.exists():
        text = _merged(target.read_text(), rows[2:], text.splitlines()[-4:])
    publish(text, target)


def _merged(old: str, new_rows: list[str], lines: list[str]) -> str:
    """The results file with ``new_rows`` in place of the rows of the same configurations (or after
    the others), and the new run's provenance ``lines`` added as one line."""
    names = {r.split("|")[1].strip() for r in new_rows}
    out: list[str] = []
    rows_done = False
    for line in old.splitlines():
        if line.startswith("| ") and line.split("|")[1].strip() in names:
            continue
        if not line.startswith("|") and out and out[-1].startswith("|") and not rows_done:
            out += new_rows
            rows_done = True
        out.append(line)
    note = "; ".join(x.lstrip("- ") for x in lines if x.strip())
    return "\n".join(out + [f"- rows {', '.join(sorted(names))}: {note}"])


if __name__ == "__main__":
    main()
