"""Predicting a folder of JPEG photos: cnnkit's streamed predict_classes(folder) against plain Pillow +
model.predict (every file loaded first, then predicted; and batch by batch), and cnnkit's reading before
issue 24 (every file decoded, then predicted): peak memory (RSS) and images per second.

    bash bench/run.sh acceptance/predict_files.py [--n 5000] [--size 224] [--big 100] [--scale 20000]
                                       [--model efficientnet_lite0] [--out -]

Files: ``--n`` JPEGs at ``--size`` px (quality 90, photo-like: smooth colour fields with sensor noise,
about 20 KB each), ``--big`` phone-sized 4000 x 3000 JPEGs (about 3 MB each), made once under
``$TMPDIR/cnnkit-bench-predict-files``. Model: ``transfer_model(--model, (size, size, 3), num_classes=5,
weights=None)`` (or ``simple_cnn``), built with seed 0 in each process, so every contestant runs the
same weights. Each contestant runs in a process of its own, which reports its peak resident memory
(``ru_maxrss``: everything, TensorFlow's own ~0.6 GB included) and the time from the file list to the
predictions (tracing included, as a user waits for it). ``--scale N`` adds cnnkit alone on N files (the
20,000-photo case; loading them all would need N x 0.6 MB in float32: 12 GB for 20,000).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py

from common import RESULTS, command_line, provenance, run_and_publish

BATCH = 256  # files per batch: cnnkit's default batch_size, and the batched Pillow loop's
KERAS_BATCH = 32  # model.predict's default batch size


# --- the files -----------------------------------------------------------------------------------

def make_photos(folder: Path, n: int, width: int, height: int, seed: int) -> Path:
    """``n`` photo-like JPEGs of ``width`` x ``height`` under ``folder`` (made once: a marker file says done)."""
    import numpy as np
    from PIL import Image

    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = rng.integers(0, 256, (6, 8, 3), dtype="uint8")
        img = np.asarray(Image.fromarray(base).resize((width, height), Image.BICUBIC), dtype="int16")
        img = img + rng.normal(0, 6, img.shape).astype("int16")
        sub = folder / f"roll{i // 1000:02d}"
        sub.mkdir(exist_ok=True)
        Image.fromarray(np.clip(img, 0, 255).astype("uint8")).save(sub / f"IMG_{i:05d}.jpg", quality=90)
    done.write_text(str(n))
    return folder


def listing(folder: str) -> list[str]:
    """The JPEGs under ``folder``, sorted as cnnkit sorts them (by path)."""
    return [str(p) for p in sorted(Path(folder).rglob("*.jpg"), key=Path)]


# --- one contestant, in a process of its own -----------------------------------------------------

def build(model: str, size: int):
    import keras

    import cnnkit

    keras.utils.set_random_seed(0)
    if model == "simple_cnn":
        return cnnkit.simple_cnn((size, size, 3), num_classes=5)
    return cnnkit.transfer_model(model, (size, size, 3), num_classes=5, weights=None)


def pillow_read(files: list[str], size: int):
    """Plain Pillow: RGB, bilinear resize, float32 in [0, 1]."""
    import numpy as np
    from PIL import Image

    out = np.empty((len(files), size, size, 3), dtype="float32")
    for i, f in enumerate(files):
        with Image.open(f) as img:
            out[i] = np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR), dtype="float32") / 255.0
    return out


def contestant(name: str, folder: str, model_name: str, size: int) -> dict:
    import resource

    import numpy as np

    import cnnkit
    from cnnkit import evaluate

    model = build(model_name, size)
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    if name == "cnnkit":
        p = cnnkit.predict_classes(model, folder, batch_size=BATCH, verbose=0)["probabilities"]
    elif name == "cnnkit_before":  # issue 24's starting point: every file decoded, then predicted
        x = evaluate.read_images(listing(folder), (size, size), 3, "predict_classes", "x")
        p = evaluate._probabilities(model, x, BATCH)
    elif name == "pillow_all":
        p = model.predict(pillow_read(listing(folder), size), batch_size=KERAS_BATCH, verbose=0)
    elif name == "pillow_batched":
        files = listing(folder)
        p = np.concatenate([model.predict(pillow_read(files[i:i + BATCH], size), batch_size=KERAS_BATCH, verbose=0)
                            for i in range(0, len(files), BATCH)])
    elif name == "decode_only":  # cnnkit's reader alone, batch by batch: the speed decoding allows
        files = listing(folder)
        for i in range(0, len(files), BATCH):
            evaluate.read_images(files[i:i + BATCH], (size, size), 3, "predict_classes", "x")
        p = np.zeros((len(files), 5))
    elif name == "model_only":  # cnnkit's predictor alone on images already in memory
        files = listing(folder)
        x = np.random.default_rng(0).random((BATCH, size, size, 3), dtype="float32")
        f, step = evaluate.predictor(model, "auto"), evaluate.FILE_CHUNK_VALUES // (size * size * 3)
        for i in range(0, len(files), BATCH):
            for j in range(0, min(BATCH, len(files) - i), step):
                f(x[j:j + min(step, len(files) - i - j)])
        p = np.zeros((len(files), 5))
    else:
        raise KeyError(name)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "images": len(p), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "start_rss_mb": start_rss}


def run_child(name: str, folder: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--folder", str(folder), "--model", args.model,
           "--size", str(args.size)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the runs -------------------------------------------------------------------------------------

CONTESTANTS = [("cnnkit", "cnnkit `predict_classes(folder)` (streamed)"),
               ("cnnkit_before", "cnnkit before issue 24 (every file decoded, then predicted)"),
               ("pillow_all", "Pillow + `model.predict`, every file loaded first"),
               ("pillow_batched", f"Pillow + `model.predict`, {BATCH} files at a time"),
               ("decode_only", "(reference) cnnkit's reader alone, no model"),
               ("model_only", "(reference) cnnkit's predictor alone, images in memory")]


def run(args) -> list[tuple[str, str, dict]]:
    root = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "cnnkit-bench-predict-files"
    sets = [(f"{args.n:,} JPEGs at {args.size} x {args.size}",
             make_photos(root / f"{args.size}px-{args.n}", args.n, args.size, args.size, 0), CONTESTANTS)]
    if args.big:
        sets.append((f"{args.big:,} phone-sized JPEGs, 4000 x 3000",
                     make_photos(root / f"4000x3000-{args.big}", args.big, 4000, 3000, 1),
                     [c for c in CONTESTANTS if c[0] != "model_only"]))
    if args.scale:
        sets.append((f"{args.scale:,} JPEGs at {args.size} x {args.size} (cnnkit only)",
                     make_photos(root / f"{args.size}px-{args.scale}", args.scale, args.size, args.size, 2),
                     CONTESTANTS[:1]))
    rows = []
    for title, folder, contestants in sets:
        for name, label in contestants:
            r = run_child(name, folder, args)
            print(f"{title} | {label}: {r['images'] / r['seconds']:.1f} img/s, peak RSS {r['rss_mb']:.0f} MB",
                  flush=True)
            rows.append((title, label, r))
    return rows


def lscpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return "unknown"


def report(rows, args, load, total) -> str:
    lines = ["# Predicting image files: streamed in batches vs loaded first", "", *provenance(*load),
             f"- lscpu model name: {lscpu_model()}",
             "- the machine was shared with other engineers' jobs during this run (2 cores for four people): "
             "absolute speeds are low and noisy; the ratios within this one run are what to read",
             command_line(total),
             f"Model: `{args.model}` at {args.size} x {args.size} x 3, 5 classes, random weights (seed 0, the same "
             f"in every process). Batches of {BATCH} files; `model.predict` at its default batch size "
             f"({KERAS_BATCH}). Peak RSS: `ru_maxrss` of the contestant's own process (TensorFlow and the model "
             "included: 'at start' is after building the model, before reading any file). Time: the file list to "
             "the predictions, tracing included. The precision is float32 for all: `precision=\"auto\"` picks it "
             "for efficientnet_lite0 and simple_cnn on this CPU.", ""]
    for title in dict.fromkeys(r[0] for r in rows):
        group = [r for r in rows if r[0] == title]
        lines += [f"## {title}", "", "| contestant | images/s | seconds | peak RSS (MB) | at start (MB) |",
                  "|---|---:|---:|---:|---:|"]
        for _, label, r in group:
            lines.append(f"| {label} | {r['images'] / r['seconds']:.1f} | {r['seconds']:.1f} | {r['rss_mb']:,.0f} | "
                         f"{r['start_rss_mb']:,.0f} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--big", type=int, default=100, help="phone-sized photos (0: none)")
    p.add_argument("--scale", type=int, default=20000, help="cnnkit alone on this many files (0: not)")
    p.add_argument("--model", default="efficientnet_lite0", help="a backbone name or simple_cnn")
    p.add_argument("--out", default=str(RESULTS / "predict_files.md"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(contestant(args.child, args.folder, args.model, args.size)))
        return
    run_and_publish(run, report, args)


if __name__ == "__main__":
    main()
