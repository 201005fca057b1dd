"""Time to accuracy, like for like: the main job (`cnnkit train`) against the same model, schedule,
batch, epochs, optimiser and data written by hand in plain Keras and in PyTorch.

The model is ``fashion_cnn`` (Conv 5x5/32 -> MaxPool -> BN -> ReLU, Conv 3x3/48 -> MaxPool -> BN ->
ReLU, Dense 128, Dense 10), trained with Adam on the one-cycle schedule of ``cnnkit train`` (linear
warm-up from a tenth of 3e-3 over the first 20 % of the steps, then cosine decay to 1 %), batch 128,
8 epochs, on the 60,000 Fashion-MNIST training images; test accuracy on the 10,000 test images after
every epoch. Contestants:

- ``cnnkit``: ``cnnkit.train_classifier()`` (what ``cnnkit train`` runs) with its defaults;
- ``keras``: plain Keras, ``model.fit`` defaults (float32, one step per execution);
- ``keras_best``: plain Keras at its best setting here (global dtype policy with a float32 output layer,
  ``steps_per_execution``);
- ``torch``: PyTorch, a hand-written loop in float32 (``torch.set_num_threads`` = the cores);
- ``torch_best``: PyTorch at its best setting here (``torch.autocast("cpu", dtype=torch.bfloat16)`` or
  not, channels-last tensors or not, ``torch.compile`` or not).

The peers' best settings are those ``train_throughput.py`` tuned for ``fashion_cnn`` on this machine
(``results/train_throughput.json``; run it first), else mixed bfloat16 with 32 steps per execution
and bf16 autocast with channels-last tensors; ``--keras-*`` / ``--torch-*`` override them.

Each contestant runs in its own process (pinned to ``--cores`` cores, like ``main_job.py``) so that a
global precision policy or thread pool cannot leak from one into the next; the order alternates from
round to round, and each round trains with its own seed (``--seed`` + round: initialisation and batch
order), since which epoch first reaches the target varies from seed to seed; the table gives the median
over rounds, and a per-round ratio (same seed, minutes apart). The clock starts when training starts
(model built, data in memory: where
``train_classifier`` starts its own ``train_seconds``), so tracing, ``torch.compile`` and cnnkit's
per-epoch checkpoint count; the test evaluation after each epoch is left out of the clock for all.

    bash bench/run.sh peers/time_to_accuracy.py --quick     # 12,000 images, 3 epochs, one round: ~3 min
    bash bench/run.sh peers/time_to_accuracy.py             # the full comparison: one round, ~10-12 min

Writes bench/results/time_to_accuracy.md (table), time_to_accuracy.png (test accuracy against
training seconds, one line per contestant) and time_to_accuracy.json (the curves).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/: common.py (nets.py is in HERE, the script's own folder)
CONTESTANTS = {
    "cnnkit": "cnnkit `train_classifier()` (defaults)",
    "keras": "plain Keras (`model.fit` defaults, float32)",
    "keras_best": "plain Keras best ({keras})",
    "torch": "PyTorch float32 (hand-written loop)",
    "torch_best": "PyTorch best ({torch})",
}
BATCH, LR, EPOCHS = 128, 3e-3, 8  # the main job's (checked against cnnkit's defaults in run_one)


def one_cycle(step: int, total: int) -> float:
    """cnnkit's "cosine" schedule (keras CosineDecay with warm-up) as a factor of the peak rate."""
    warmup = max(1, total // 5)
    if step < warmup:
        return 0.1 + 0.9 * step / warmup
    decay = max(1, total - warmup)
    t = min(step - warmup, decay) / decay
    return 0.99 * 0.5 * (1 + math.cos(math.pi * t)) + 0.01


def keras_schedule(total: int):
    import keras

    warmup = max(1, total // 5)
    return keras.optimizers.schedules.CosineDecay(LR / 10, decay_steps=max(1, total - warmup), alpha=0.01,
                                                  warmup_target=LR, warmup_steps=warmup)


class Clock:
    """Training seconds with the evaluations left out, and the curve of (seconds, test accuracy)."""

    def __init__(self):
        self.start = time.perf_counter()
        self.paused = 0.0
        self.curve: list[tuple[int, float, float]] = []

    def epoch_end(self, epoch: int, accuracy_fn) -> None:
        t = time.perf_counter()
        seconds = t - self.start - self.paused
        acc = float(accuracy_fn())
        self.curve.append((epoch, round(seconds, 2), round(acc, 4)))
        print(f"  epoch {epoch}: {seconds:.1f} s, test accuracy {acc:.4f}", file=sys.stderr, flush=True)
        self.paused += time.perf_counter() - t


def keras_accuracy(model, x, y):
    """Test accuracy through one traced function (in the precision the model trains in)."""
    import numpy as np
    import tensorflow as tf

    f = tf.function(lambda b: tf.argmax(model(b, training=False), axis=-1))

    def accuracy():
        pred = np.concatenate([f(tf.constant(x[i:i + 1000])).numpy() for i in range(0, len(x), 1000)])
        return float(np.mean(pred == y))

    return accuracy


def keras_callback(clock_box, x, y):
    import keras

    class EvalEachEpoch(keras.callbacks.Callback):  # no per-batch hook: cnnkit keeps its steps per execution
        def on_train_begin(self, logs=None):
            if clock_box[0] is None:
                clock_box[0] = Clock()
            self.accuracy = keras_accuracy(self.model, x, y)

        def on_epoch_end(self, epoch, logs=None):
            clock_box[0].epoch_end(epoch + 1, self.accuracy)

    return EvalEachEpoch()


def run_cnnkit(d, args):
    import cnnkit
    import cnnkit.engine as engine
    from cnnkit.job import DEFAULTS

    assert (DEFAULTS["batch_size"], DEFAULTS["learning_rate"], DEFAULTS["schedule"]) == (BATCH, LR, "cosine"), DEFAULTS
    box = [None]
    cb = keras_callback(box, d["x_test"], d["y_test"])
    fit_phase = engine.fit_phase  # the one phase train_classifier() trains (through engine.run_phases)

    def fit_phase_timed(model, data, validation_data, plan, run_dir, strategy, callbacks, **kw):
        box[0] = Clock()  # where train_classifier() starts its train_seconds
        return fit_phase(model, data, validation_data, plan, run_dir, strategy, list(callbacks) + [cb], **kw)

    engine.fit_phase = fit_phase_timed
    with tempfile.TemporaryDirectory() as run_dir:
        r = cnnkit.train_classifier(epochs=args.epochs, subset=args.n, seed=args.seed, run_dir=run_dir, verbose=0)
    # train_classifier()'s own figures: its train_seconds include the evaluations above (left out of the curve)
    return box[0].curve, {"cnnkit_reported_accuracy": round(r["accuracy"], 4),
                          "cnnkit_reported_train_seconds": round(r["train_seconds"], 2)}


def run_keras(d, args, best: bool):
    import keras

    keras.utils.set_random_seed(args.seed)
    from nets import keras_net

    model, _ = keras_net("fashion_cnn", args.keras_policy if best else "float32")  # float32 output layer
    total = args.epochs * math.ceil(len(d["x_train"]) / BATCH)
    model.compile(keras.optimizers.Adam(keras_schedule(total)), "sparse_categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=args.keras_spe if best else 1)
    box = [None]
    model.fit(d["x_train"], d["y_train"], batch_size=BATCH, epochs=args.epochs, verbose=0,
              callbacks=[keras_callback(box, d["x_test"], d["y_test"])])
    return box[0].curve, {}


def run_torch(d, args, best: bool):
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(args.seed)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    from nets import torch_net

    model = torch_net("fashion_cnn")
    bf16 = bool(best and args.torch_bf16)
    fmt = torch.channels_last if best and args.torch_channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    xtr = torch.from_numpy(np.ascontiguousarray(d["x_train"].transpose(0, 3, 1, 2)))
    ytr = torch.from_numpy(d["y_train"].astype("int64"))
    xte = torch.from_numpy(np.ascontiguousarray(d["x_test"].transpose(0, 3, 1, 2)))
    yte = d["y_test"]
    steps_per_epoch = math.ceil(len(xtr) / BATCH)
    total = args.epochs * steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, total))
    loss_fn = nn.CrossEntropyLoss()
    amp = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    step_model = torch.compile(model) if (best and args.torch_compile) else model

    def accuracy():
        model.eval()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = np.concatenate([model(xte[i:i + 1000].contiguous(memory_format=fmt)).argmax(1).numpy()
                                   for i in range(0, len(xte), 1000)])
        model.train()
        return float(np.mean(pred == yte))

    clock = Clock()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            xb = xtr[idx].contiguous(memory_format=fmt)
            opt.zero_grad(set_to_none=True)
            with amp:
                loss = loss_fn(step_model(xb), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
        clock.epoch_end(epoch, accuracy)
    return clock.curve, {}


def run_one(name: str, args) -> dict:
    import cnnkit  # first: quiet TensorFlow import
    from cnnkit.engine import learning_rate_schedule

    d = cnnkit.load_fashion_mnist(n=args.n, n_test=args.n, seed=args.seed)  # what train_classifier() loads
    total = args.epochs * math.ceil(len(d["x_train"]) / BATCH)
    theirs, keras_own = learning_rate_schedule(LR, "cosine", total), keras_schedule(total)
    for step in (0, total // 10, total // 5, total // 2, total - 1):  # the peers' schedules are cnnkit's
        assert abs(float(theirs(step)) - LR * one_cycle(step, total)) < 1e-6 * LR, step
        assert abs(float(theirs(step)) - float(keras_own(step))) < 1e-9, step
    if name == "cnnkit":
        curve, extra = run_cnnkit(d, args)
    elif name.startswith("keras"):
        curve, extra = run_keras(d, args, best=name == "keras_best")
    else:
        curve, extra = run_torch(d, args, best=name == "torch_best")
    out = {"contestant": name, "seed": args.seed, "curve": curve, "final_accuracy": curve[-1][2], "train_seconds": curve[-1][1]}
    out.update(extra)
    return out


def time_to(curve, target):
    return next((s for _, s, a in curve if a >= target), None)


def labels(args) -> dict[str, str]:
    torch_parts = (["bf16 autocast"] if args.torch_bf16 else ["float32"]) + \
        (["channels-last"] if args.torch_channels_last else []) + (["torch.compile"] if args.torch_compile else [])
    return {k: v.format(keras=f"{args.keras_policy}, steps_per_execution {args.keras_spe}", torch=", ".join(torch_parts))
            for k, v in CONTESTANTS.items()}


def peer_settings(args) -> str:
    """Fill the peers' best settings not given on the command line: from train_throughput.py's tuning of
    fashion_cnn on this machine (results/train_throughput.json) if there is one, else fixed defaults."""
    from common import RESULTS

    names = ("keras_policy", "keras_spe", "torch_bf16", "torch_channels_last", "torch_compile")
    if all(getattr(args, a) is not None for a in names):
        return "given on the command line"
    tuned, source = {}, "defaults (no fashion_cnn tuning in results/train_throughput.json)"
    try:
        tuned = json.loads((RESULTS / "train_throughput.json").read_text())["settings"]["fashion_cnn"]
        source = "tuned by train_throughput.py (results/train_throughput.json)"
    except (OSError, KeyError, ValueError):
        pass
    kb, tb = tuned.get("keras_best", {}), tuned.get("torch_best", {})
    for arg, value in (("keras_policy", kb.get("policy", "mixed_bfloat16")),
                       ("keras_spe", kb.get("steps_per_execution", 32)),
                       ("torch_bf16", int(tb.get("bf16", True))),
                       ("torch_channels_last", int(tb.get("channels_last", True))),
                       ("torch_compile", int(tb.get("compile", False)))):
        if getattr(args, arg) is None:
            setattr(args, arg, value)
    return source


def report(results, args, total_seconds, load, settings_source):
    from datetime import date

    from common import RESULTS, machine, publish

    label = labels(args)
    by = {}
    for r in results:
        by.setdefault(r["contestant"], []).append(r)
    rows = []
    for name in CONTESTANTS:
        if name not in by:
            continue
        runs = by[name]
        times = [time_to(r["curve"], args.target) for r in runs]
        reached = [t for t in times if t is not None]
        rows.append({"name": name, "label": label[name], "runs": len(runs),
                     "time": sorted(reached)[len(reached) // 2] if len(reached) == len(runs) else None,
                     "final": sum(r["final_accuracy"] for r in runs) / len(runs),
                     "seconds": sum(r["train_seconds"] for r in runs) / len(runs),
                     "epochs": [next((e for e, _, a in r["curve"] if a >= args.target), None) for r in runs]})
    mode = "quick (development: few images, not comparable)" if args.quick else "full"
    seeds = f"seed {args.seed}" if args.rounds == 1 else f"seeds {args.seed}-{args.seed + args.rounds - 1}, one per round"
    head = (f"Time to {100 * args.target:.0f} % test accuracy, like for like (fashion_cnn, batch {BATCH}, Adam, "
            f"one-cycle peak {LR}, {args.epochs} epochs, {'all 60,000' if args.n is None else f'{args.n:,}'} training "
            f"images, {'10,000' if args.n is None else f'{args.n:,}'} test images, "
            f"{seeds}) - {mode}; "
            f"{date.today()}, {machine()}, pinned to {args.cores} cores; {args.rounds} round(s), order alternating; "
            f"load average {load[0]:.2f} before, {load[1]:.2f} after; whole run {total_seconds:.0f} s; "
            f"peers' best settings: {settings_source}")
    per_round = "epoch" if args.rounds == 1 else "median; epoch per round"
    lines = [head, "", f"| contestant | s to {100 * args.target:.0f} % ({per_round}) "
             f"| final test accuracy | "
             f"training s ({args.epochs} epochs) | cnnkit faster by |", "|---|---|---|---|---|"]
    mine = next((r["time"] for r in rows if r["name"] == "cnnkit"), None)
    for r in rows:
        t = "not reached" if r["time"] is None else f"{r['time']:.1f} ({'/'.join(str(e) for e in r['epochs'])})"
        ratio = "" if r["name"] == "cnnkit" or mine is None or r["time"] is None else f"{r['time'] / mine:.2f}x"
        name = f"**{r['label']}**" if r["name"] == "cnnkit" else r["label"]
        lines.append(f"| {name} | {t} | {100 * r['final']:.2f} % | {r['seconds']:.1f} | {ratio} |")
    others = [r["time"] for r in rows if r["name"] != "cnnkit" and r["time"] is not None]
    if mine is not None and others:
        best = min(others)
        lines += ["", f"cnnkit / best other, time to {100 * args.target:.0f} %: {best / mine:.2f}x faster "
                      f"(goal >= 1.2x: {'met' if best / mine >= 1.2 else 'NOT met'})"]
    elif mine is None:
        lines += ["", f"cnnkit did not reach {100 * args.target:.0f} %."]
    if args.rounds > 1 and "cnnkit" in by:  # the same seed, minutes apart: the fairest ratios
        per_round = []
        for rnd, mine_r in enumerate(by["cnnkit"]):
            t_mine = time_to(mine_r["curve"], args.target)
            t_others = [time_to(runs[rnd]["curve"], args.target) for n, runs in by.items() if n != "cnnkit"]
            t_others = [t for t in t_others if t is not None]
            per_round.append("-" if t_mine is None or not t_others else f"{min(t_others) / t_mine:.2f}x")
        lines += ["", f"Per round (same seed, cnnkit against the best other of that round): {', '.join(per_round)}"]
    for r in by.get("cnnkit", []):
        if abs(r.get("cnnkit_reported_accuracy", r["final_accuracy"]) - r["final_accuracy"]) > 5e-4:
            lines += ["", f"cnnkit's own result (`train_classifier()`'s accuracy, after its BatchNorm re-estimation of a "
                          f"short run): {100 * r['cnnkit_reported_accuracy']:.2f} % -- the curve's last point is "
                          "measured before it. Keras' BatchNorm moving averages (momentum 0.99) need about 500 steps "
                          "to settle, PyTorch's (0.1) a few dozen: short runs show the Keras contestants low."]
    lines += ["", "Curves (epoch: training seconds, test accuracy):", ""]
    for r in results:
        pts = ", ".join(f"{e}: {s:.1f} s {100 * a:.2f} %" for e, s, a in r["curve"])
        lines.append(f"- {label[r['contestant']]} (seed {r.get('seed', args.seed)}): {pts}")
    publish("\n".join(lines), RESULTS / "time_to_accuracy.md")
    (RESULTS / "time_to_accuracy.json").write_text(json.dumps(
        {"target": args.target, "epochs": args.epochs, "n": args.n, "results": results}, indent=1) + "\n")
    plot(results, label, args, RESULTS / "time_to_accuracy.png")


def plot(results, label, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colors = dict(zip(CONTESTANTS, ("C3", "C0", "C9", "C1", "C2")))
    seen = set()
    for r in results:
        name = r["contestant"]
        s = [0.0] + [p[1] for p in r["curve"]]
        a = [None] + [100 * p[2] for p in r["curve"]]
        ax.plot(s[1:], a[1:], marker="o", ms=3, color=colors[name], lw=2.5 if name == "cnnkit" else 1.5,
                label=None if name in seen else label[name])
        seen.add(name)
    ax.axhline(100 * args.target, color="grey", ls="--", lw=1)
    ax.set_xlabel("training seconds (evaluation excluded)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"fashion_cnn on Fashion-MNIST, {args.epochs} epochs: test accuracy after each epoch")
    ax.set_ylim(bottom=max(0, min(100 * p[2] for r in results for p in r["curve"]) - 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12,000 images, 3 epochs, target 85 %% (development)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--contestants", nargs="+", default=list(CONTESTANTS), choices=list(CONTESTANTS))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=None, help="training (and test) images; default all")
    ap.add_argument("--epochs", type=int, default=None, help=f"default {EPOCHS} (quick: 3)")
    ap.add_argument("--target", type=float, default=None, help="default 0.92 (quick: 0.85)")
    tuned = " (default: as tuned in results/train_throughput.json, else %(const)s)"
    ap.add_argument("--keras-policy", choices=("float32", "mixed_bfloat16"), const="mixed_bfloat16", nargs="?",
                    help="plain Keras best: the global dtype policy" + tuned)
    ap.add_argument("--keras-spe", type=int, const=32, nargs="?", help="plain Keras best: steps_per_execution" + tuned)
    ap.add_argument("--torch-bf16", type=int, choices=(0, 1), const=1, nargs="?",
                    help="PyTorch best: bf16 autocast" + tuned)
    ap.add_argument("--torch-channels-last", type=int, choices=(0, 1), const=1, nargs="?",
                    help="PyTorch best: channels-last tensors" + tuned)
    ap.add_argument("--torch-compile", type=int, choices=(0, 1), const=0, nargs="?",
                    help="PyTorch best: torch.compile (its compilation counts)" + tuned)
    ap.add_argument("--run", choices=list(CONTESTANTS), help=argparse.SUPPRESS)  # one contestant, in a child process
    args = ap.parse_args()
    if args.quick:
        args.n = args.n or 12000
        args.epochs = args.epochs or 3
        args.target = args.target or 0.85
    args.epochs = args.epochs or EPOCHS
    args.target = args.target or 0.92
    settings_source = peer_settings(args)
    if args.run:
        print("RESULT " + json.dumps(run_one(args.run, args)), flush=True)
        return 0

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[: args.cores])  # the children inherit it
    names = list(args.contestants)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed (.venv/bin/pip install torch==2.13.0): PyTorch contestants skipped", file=sys.stderr)
        names = [n for n in names if not n.startswith("torch")]
    results, start, load0 = [], time.perf_counter(), os.getloadavg()[0]
    for rnd in range(args.rounds):
        order = names if rnd % 2 == 0 else names[::-1]
        for name in order:
            cmd = [sys.executable, __file__, "--run", name, "--seed", str(args.seed + rnd), "--epochs", str(args.epochs),
                   "--keras-policy", args.keras_policy, "--keras-spe", str(args.keras_spe),
                   "--torch-bf16", str(args.torch_bf16), "--torch-channels-last", str(args.torch_channels_last),
                   "--torch-compile", str(args.torch_compile)]
            if args.n:
                cmd += ["--n", str(args.n)]
            print(f"round {rnd + 1}: {name}", file=sys.stderr, flush=True)
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE)
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if out.returncode != 0 or line is None:
                print(f"{name} failed (exit {out.returncode}):\n{out.stdout}", file=sys.stderr)
                return 1
            results.append(json.loads(line[len("RESULT "):]))
    report(results, args, time.perf_counter() - start, (load0, os.getloadavg()[0]), settings_source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
