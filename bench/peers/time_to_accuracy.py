"""Time to accuracy, like for like: the main job (`cnnkit train`) against the same model, recipe and data
written by hand in plain Keras and in PyTorch, each with its own library's tools.

The model is ``fashion_cnn`` (Conv 5x5/32 -> MaxPool -> BN -> ReLU, Conv 3x3/48 -> MaxPool -> BN ->
ReLU, Dense 128, Dense 10), on the 60,000 Fashion-MNIST training images; the recipe is the main job's
(``cnnkit.job.DEFAULTS``, issue 31; the script stops with a message when cnnkit's defaults differ from
what the peers are given here):

- Adam on the one-cycle schedule of ``cnnkit train`` (linear warm-up from a tenth of 3e-3 over the
  first 20 % of the steps, then cosine decay to 1 %), batch 128, ``DEFAULTS["epochs"]`` epochs (4);
- label smoothing 0.1: cnnkit's ``cnnkit.losses.SparseCategoricalCrossentropy``; plain Keras one-hot
  labels with ``keras.losses.CategoricalCrossentropy(label_smoothing=0.1)``; PyTorch
  ``nn.CrossEntropyLoss(label_smoothing=0.1)``;
- a weight average (EMA) updated after every step, with the momentum cnnkit's ``ema="auto"`` picks
  for the run's steps (0.99 for the full run's 1,876 steps; ``cnnkit.ema.momentum_for``): cnnkit and
  plain Keras through Keras' own ``Adam(use_ema=True, ema_momentum=m)``, PyTorch through
  ``torch.optim.swa_utils.AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(m))``;
- then, as cnnkit's ``recalibrate_bn="auto"`` does for runs under 2,000 steps, the BatchNormalization
  moving statistics re-estimated on the same 10,000 training images (``cnnkit.engine.BN_IMAGES``,
  the same seeded sample, batches of 128, each batch weighted by its size): cnnkit by its own
  ``recalibrate_batchnorm``, the peers by hand (the layers' momentum set to ``n / (seen + n)`` per
  batch, in training mode; PyTorch keeps its unbiased batch variance).

Test accuracy on the 10,000 test images after every epoch is that of the model training would hand
over if it stopped there: the averaged weights with the BatchNorm statistics re-estimated, for all
contestants (the weights being trained are put back before the next epoch); its time is the training
seconds so far plus that finishing step (swap in the average, re-estimate: what ``train_classifier``
pays once at the end), the test evaluation left out. The trained weights' own accuracy (their
BatchNorm moving averages, no average) is recorded too (``curve_trained`` in the JSON, the Curves).
Contestants:

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
per-epoch checkpoint count; the test evaluations after each epoch are left out of the clock for all.

    bash bench/run.sh peers/time_to_accuracy.py --quick     # 12,000 images, 3 epochs, one round: ~3-5 min
    bash bench/run.sh peers/time_to_accuracy.py             # the full comparison, 4 epochs: one round, ~6-8 min

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

from cnnkit._defaults import TRAIN as DEFAULTS  # job.DEFAULTS, without importing TensorFlow in the parent

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/: common.py (nets.py is in HERE, the script's own folder)
CONTESTANTS = {
    "cnnkit": "cnnkit `train_classifier()` (defaults)",
    "keras": "plain Keras (`model.fit` defaults, float32)",
    "keras_best": "plain Keras best ({keras})",
    "torch": "PyTorch float32 (hand-written loop)",
    "torch_best": "PyTorch best ({torch})",
}
# The main job's recipe as the peers are given it by hand below; check_recipe() stops the script when
# cnnkit's defaults differ (a changed recipe must be written into the peers first). The epochs follow
# cnnkit's own default.
BATCH, LR, SMOOTHING, EMA = 128, 3e-3, 0.1, "auto"
EPOCHS = int(DEFAULTS["epochs"])
RECIPE = {"model": "fashion_cnn", "batch_size": BATCH, "learning_rate": LR, "schedule": "cosine",
          "label_smoothing": SMOOTHING, "ema": EMA, "tta": False}


def check_recipe() -> None:
    """Stop, naming the settings, when cnnkit's main-job defaults are not the recipe the peers get."""
    differs = {k: f"cnnkit {DEFAULTS.get(k)!r}, peers {v!r}" for k, v in RECIPE.items() if DEFAULTS.get(k) != v}
    if differs:
        raise SystemExit(f"time_to_accuracy.py: cnnkit's main-job recipe (python/cnnkit/_defaults.py) is not the one the "
                         f"peers are given by hand here: {differs}. Write the new recipe into the plain Keras and "
                         "PyTorch contestants (and RECIPE) first.")


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
    """Training seconds with the evaluations left out, and two curves of (epoch, seconds, test accuracy):
    ``curve``, the model training hands over if it stops there (averaged weights, BatchNorm re-estimated;
    that finishing step's seconds added to its own point only), and ``trained``, the weights being trained."""

    def __init__(self):
        self.start = time.perf_counter()
        self.paused = 0.0
        self.curve: list[tuple[int, float, float]] = []
        self.trained: list[tuple[int, float, float]] = []

    def epoch_end(self, epoch: int, probe) -> None:
        """``probe()``: (seconds of the finishing step, the finished model's test accuracy, the trained
        weights' test accuracy); it must leave the weights being trained as it found them."""
        t = time.perf_counter()
        seconds = t - self.start - self.paused
        finish, acc, trained = probe()
        self.curve.append((epoch, round(seconds + finish, 2), round(float(acc), 4)))
        self.trained.append((epoch, round(seconds, 2), round(float(trained), 4)))
        print(f"  epoch {epoch}: {seconds:.1f} s + {finish:.1f} s to finish, test accuracy {acc:.4f} "
              f"(trained weights {trained:.4f})", file=sys.stderr, flush=True)
        self.paused += time.perf_counter() - t


def finishing(d, total: int) -> dict:
    """What the recipe does after training, as cnnkit decides it for a run of ``total`` steps: the weight
    average's momentum (``ema="auto"``), whether the BatchNorm statistics are re-estimated
    (``recalibrate_bn="auto"``: under ``BN_SETTLE / (1 - 0.99)`` steps, 0.99 being Keras' BatchNorm
    momentum) and on which training images (cnnkit's seeded sample of ``BN_IMAGES``, in batches of 128;
    checked to be the very images ``cnnkit.engine.recalibrate_batchnorm`` reads)."""
    import numpy as np

    from cnnkit import engine
    from cnnkit.ema import momentum_for

    x = d["x_train"]
    idx = np.sort(np.random.default_rng(0).permutation(len(x))[:engine.BN_IMAGES])
    batches = [idx[i:i + BATCH] for i in range(0, len(idx), BATCH)]
    theirs = list(engine._image_batches((x, d["y_train"]), BATCH, None, engine.BN_IMAGES))
    if len(theirs) != len(batches) or not all(np.array_equal(x[b], t) for b, t in zip(batches, theirs)):
        raise SystemExit("time_to_accuracy.py: the peers' BatchNorm images are no longer cnnkit's "
                         "(cnnkit.engine._image_batches changed): follow it in finishing().")
    return {"momentum": momentum_for(EMA, total), "recalibrate": total < engine.BN_SETTLE / (1 - 0.99),
            "batches": batches}


def keras_accuracy(model, x, y):
    """Test accuracy through one traced function (in the precision the model trains in)."""
    import numpy as np
    import tensorflow as tf

    f = tf.function(lambda b: tf.argmax(model(b, training=False), axis=-1))

    def accuracy():
        pred = np.concatenate([f(tf.constant(x[i:i + 1000])).numpy() for i in range(0, len(x), 1000)])
        return float(np.mean(pred == y))

    return accuracy


def keras_recalibrate(model, x, batches) -> None:
    """cnnkit's BatchNorm re-estimation written in plain Keras: each layer's moving statistics become the
    size-weighted average of the batches' statistics (training mode, momentum ``seen / (seen + n)``)."""
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    momenta = [layer.momentum for layer in layers]
    seen = 0
    try:
        for idx in batches:
            for layer in layers:
                layer.momentum = seen / (seen + len(idx))
            model(x[idx], training=True)
            seen += len(idx)
    finally:
        for layer, m in zip(layers, momenta):
            layer.momentum = m


def keras_probe(model, x_test, y_test, recalibrate):
    """:meth:`Clock.epoch_end`'s probe for a Keras model trained with ``use_ema``: the trained weights'
    accuracy; the averages swapped in as ``fit()`` does at its end (``finalize_variable_values``), the
    BatchNorm statistics re-estimated (``recalibrate(model)``, unless None), the accuracy; then every
    weight put back, so that training goes on from the trained weights."""
    accuracy = keras_accuracy(model, x_test, y_test)

    def probe():
        trained = accuracy()
        saved = [v.numpy() for v in model.weights]
        t = time.perf_counter()
        model.optimizer.finalize_variable_values(model.trainable_weights)
        if recalibrate is not None:
            recalibrate(model)
        seconds = time.perf_counter() - t
        acc = accuracy()
        for v, w in zip(model.weights, saved):
            v.assign(w)
        return seconds, acc, trained

    return probe


def keras_callback(clock_box, make_probe):
    import keras

    class EvalEachEpoch(keras.callbacks.Callback):  # no per-batch hook: cnnkit keeps its steps per execution
        def on_train_begin(self, logs=None):
            if clock_box[0] is None:
                clock_box[0] = Clock()
            self.probe = make_probe(self.model)

        def on_epoch_end(self, epoch, logs=None):
            clock_box[0].epoch_end(epoch + 1, self.probe)

    return EvalEachEpoch()


def run_cnnkit(d, args, fin):
    import cnnkit
    import cnnkit.engine as engine
    from cnnkit.ema import ema_of
    from cnnkit.job import DEFAULTS as JOB_DEFAULTS
    from cnnkit.losses import smoothing_of

    assert JOB_DEFAULTS == DEFAULTS, (JOB_DEFAULTS, DEFAULTS)  # job.DEFAULTS is _defaults.TRAIN
    x_train, y_train = d["x_train"], d["y_train"]
    recalibrate = (lambda m: engine.recalibrate_batchnorm(m, (x_train, y_train), BATCH)) if fin["recalibrate"] else None
    used: dict[str, float] = {}

    def make_probe(model):
        used.update(ema_momentum=ema_of(model.optimizer), label_smoothing=smoothing_of(model))
        return keras_probe(model, d["x_test"], d["y_test"], recalibrate)

    box = [None]
    cb = keras_callback(box, make_probe)
    fit_phase = engine.fit_phase  # the one phase train_classifier() trains (through engine.run_phases)

    def fit_phase_timed(model, data, validation_data, plan, run_dir, strategy, callbacks, **kw):
        box[0] = Clock()  # where train_classifier() starts its train_seconds
        return fit_phase(model, data, validation_data, plan, run_dir, strategy, list(callbacks) + [cb], **kw)

    engine.fit_phase = fit_phase_timed
    with tempfile.TemporaryDirectory() as run_dir:
        r = cnnkit.train_classifier(epochs=args.epochs, subset=args.n, seed=args.seed, run_dir=run_dir, verbose=0)
    given = {"ema_momentum": fin["momentum"], "label_smoothing": SMOOTHING}
    if any(abs(used[k] - v) > 1e-9 for k, v in given.items()):
        raise SystemExit(f"time_to_accuracy.py: cnnkit trained with {used}, the peers with {given}.")
    # train_classifier()'s own figures: its train_seconds include the evaluations above (left out of the curve)
    return box[0], {"cnnkit_reported_accuracy": round(r["accuracy"], 4),
                    "cnnkit_reported_train_seconds": round(r["train_seconds"], 2)}


def run_keras(d, args, fin, best: bool):
    import keras
    import numpy as np

    keras.utils.set_random_seed(args.seed)
    from nets import keras_net

    model, _ = keras_net("fashion_cnn", args.keras_policy if best else "float32")  # float32 output layer
    total = args.epochs * math.ceil(len(d["x_train"]) / BATCH)
    m = fin["momentum"]
    opt = keras.optimizers.Adam(keras_schedule(total), use_ema=bool(m), ema_momentum=m or 0.99)
    model.compile(opt, keras.losses.CategoricalCrossentropy(label_smoothing=SMOOTHING),
                  metrics=["accuracy"], steps_per_execution=args.keras_spe if best else 1)
    x, y = d["x_train"], np.eye(10, dtype="float32")[d["y_train"]]  # one-hot: Keras smooths one-hot labels only
    recalibrate = (lambda mdl: keras_recalibrate(mdl, x, fin["batches"])) if fin["recalibrate"] else None
    box = [None]
    model.fit(x, y, batch_size=BATCH, epochs=args.epochs, verbose=0,
              callbacks=[keras_callback(box, lambda mdl: keras_probe(mdl, d["x_test"], d["y_test"], recalibrate))])
    return box[0], {}


def torch_recalibrate(net, x, batches, fmt, amp) -> None:
    """cnnkit's BatchNorm re-estimation written in PyTorch: each layer's running statistics become the
    size-weighted average of the batches' statistics (training mode, momentum ``n / (seen + n)`` in
    PyTorch's convention; its running variance is the unbiased batch variance, Keras' the biased one)."""
    import torch
    from torch import nn

    layers = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [layer.momentum for layer in layers]
    net.train()
    seen = 0
    try:
        with torch.no_grad(), amp:
            for idx in batches:
                for layer in layers:
                    layer.momentum = len(idx) / (seen + len(idx))
                net(x[idx].contiguous(memory_format=fmt))
                seen += len(idx)
    finally:
        for layer, m in zip(layers, momenta):
            layer.momentum = m


def torch_probe(model, ema, x_train, x_test, y_test, fin, fmt, bf16: bool):
    """:meth:`Clock.epoch_end`'s probe: the trained model's accuracy; the averaged model (``ema``, an
    ``AveragedModel``; a copy of the model without one) given the model's BatchNorm statistics, as
    Keras' average keeps them, then re-estimated when the recipe does; its accuracy."""
    import copy

    import numpy as np
    import torch

    batches = [torch.from_numpy(b) for b in fin["batches"]]

    def accuracy(net):
        net.eval()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = np.concatenate([net(x_test[i:i + 1000].contiguous(memory_format=fmt)).argmax(1).numpy()
                                   for i in range(0, len(x_test), 1000)])
        return float(np.mean(pred == y_test))

    def probe():
        trained = accuracy(model)
        t = time.perf_counter()
        net = ema.module if ema is not None else copy.deepcopy(model)
        with torch.no_grad():
            for mine, theirs in zip(net.buffers(), model.buffers()):
                mine.copy_(theirs)
        if fin["recalibrate"]:
            torch_recalibrate(net, x_train, batches, fmt, torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16))
        seconds = time.perf_counter() - t
        return seconds, accuracy(net), trained

    return probe


def run_torch(d, args, fin, best: bool):
    import numpy as np
    import torch
    from torch import nn
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    torch.manual_seed(args.seed)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    from nets import torch_net

    bf16 = bool(best and args.torch_bf16)
    fmt = torch.channels_last if best and args.torch_channels_last else torch.contiguous_format
    model = torch_net("fashion_cnn").to(memory_format=fmt)
    xtr = torch.from_numpy(np.ascontiguousarray(d["x_train"].transpose(0, 3, 1, 2)))
    ytr = torch.from_numpy(d["y_train"].astype("int64"))
    xte = torch.from_numpy(np.ascontiguousarray(d["x_test"].transpose(0, 3, 1, 2)))
    total = args.epochs * math.ceil(len(xtr) / BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, total))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=SMOOTHING)
    m = fin["momentum"]
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(m)) if m else None  # the first update copies
    amp = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    step_model = torch.compile(model) if (best and args.torch_compile) else model
    probe = torch_probe(model, ema, xtr, xte, d["y_test"], fin, fmt, bf16)
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
            if ema is not None:
                ema.update_parameters(model)  # after every step, as Keras' use_ema
        clock.epoch_end(epoch, probe)
    return clock, {}


def run_one(name: str, args) -> dict:
    import cnnkit  # first: quiet TensorFlow import
    from cnnkit.engine import learning_rate_schedule

    check_recipe()
    d = cnnkit.load_fashion_mnist(n=args.n, n_test=args.n, seed=args.seed)  # what train_classifier() loads
    total = args.epochs * math.ceil(len(d["x_train"]) / BATCH)
    theirs, keras_own = learning_rate_schedule(LR, "cosine", total), keras_schedule(total)
    for step in (0, total // 10, total // 5, total // 2, total - 1):  # the peers' schedules are cnnkit's
        assert abs(float(theirs(step)) - LR * one_cycle(step, total)) < 1e-6 * LR, step
        assert abs(float(theirs(step)) - float(keras_own(step))) < 1e-9, step
    fin = finishing(d, total)
    if name == "cnnkit":
        clock, extra = run_cnnkit(d, args, fin)
    elif name.startswith("keras"):
        clock, extra = run_keras(d, args, fin, best=name == "keras_best")
    else:
        clock, extra = run_torch(d, args, fin, best=name == "torch_best")
    out = {"contestant": name, "seed": args.seed, "curve": clock.curve, "curve_trained": clock.trained,
           "final_accuracy": clock.curve[-1][2], "train_seconds": clock.curve[-1][1],
           "ema_momentum": fin["momentum"], "bn_images": sum(len(b) for b in fin["batches"]) if fin["recalibrate"] else 0}
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


def header(results, args, total_seconds, load, settings_source) -> str:
    """The report's first line: the recipe all contestants train with, what the accuracy is of, the run."""
    from datetime import date

    from common import machine

    mode = "quick (development: few images, not comparable)" if args.quick else "full"
    seeds = f"seed {args.seed}" if args.rounds == 1 else f"seeds {args.seed}-{args.seed + args.rounds - 1}, one per round"
    m, bn = results[0]["ema_momentum"], results[0]["bn_images"]
    finish = (f"weight average (EMA, momentum {m:g}, updated every step)" if m else "no weight average") + \
        (f", then BatchNorm statistics re-estimated on {bn:,} training images" if bn else ", no BatchNorm re-estimation")
    return (f"Time to {100 * args.target:.0f} % test accuracy, like for like (fashion_cnn, batch {BATCH}, Adam, "
            f"one-cycle peak {LR}, label smoothing {SMOOTHING}, {finish}; {args.epochs} epochs, "
            f"{'all 60,000' if args.n is None else f'{args.n:,}'} training "
            f"images, {'10,000' if args.n is None else f'{min(args.n, 10000):,}'} test images, "
            f"{seeds}) - {mode}. The accuracy after each epoch is that of the model training would hand over if it "
            "stopped there (averaged weights, BatchNorm re-estimated), for every contestant; its seconds are the "
            "training seconds so far plus that finishing step, test evaluations excluded. "
            f"{date.today()}, {machine()}, pinned to {args.cores} cores; {args.rounds} round(s), order alternating; "
            f"load average {load[0]:.2f} before, {load[1]:.2f} after; whole run {total_seconds:.0f} s; "
            f"peers' best settings: {settings_source}")


def report(results, args, total_seconds, load, settings_source):
    from common import RESULTS, publish

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
                     "finish": sum(r["curve"][-1][1] - r["curve_trained"][-1][1] for r in runs) / len(runs),
                     "epochs": [next((e for e, _, a in r["curve"] if a >= args.target), None) for r in runs]})
    head = header(results, args, total_seconds, load, settings_source)
    per_round = "epoch" if args.rounds == 1 else "median; epoch per round"
    lines = [head, "", f"| contestant | s to {100 * args.target:.0f} % ({per_round}) "
             f"| final test accuracy | "
             f"training s ({args.epochs} epochs, with the finishing step) | of which finishing | cnnkit faster by |",
             "|---|---|---|---|---|---|"]
    mine = next((r["time"] for r in rows if r["name"] == "cnnkit"), None)
    for r in rows:
        t = "not reached" if r["time"] is None else f"{r['time']:.1f} ({'/'.join(str(e) for e in r['epochs'])})"
        ratio = "" if r["name"] == "cnnkit" or mine is None or r["time"] is None else f"{r['time'] / mine:.2f}x"
        name = f"**{r['label']}**" if r["name"] == "cnnkit" else r["label"]
        lines.append(f"| {name} | {t} | {100 * r['final']:.2f} % | {r['seconds']:.1f} | {r['finish']:.1f} | {ratio} |")
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
    for r in by.get("cnnkit", []):  # the same finishing step as train_classifier()'s own, so the same accuracy
        if abs(r.get("cnnkit_reported_accuracy", r["final_accuracy"]) - r["final_accuracy"]) > 5e-4:
            lines += ["", f"cnnkit's own result (`train_classifier()`'s accuracy, seed {r['seed']}): "
                          f"{100 * r['cnnkit_reported_accuracy']:.2f} %, not the {100 * r['final_accuracy']:.2f} % of its "
                          "curve's last point: the probe's finishing step no longer does what train_classifier() does."]
    lines += ["", "Curves (epoch: seconds, test accuracy; finished model, then the trained weights as they are: "
                  "no average, their own BatchNorm moving statistics):", ""]
    for r in results:
        pts = ", ".join(f"{e}: {s:.1f} s {100 * a:.2f} %" for e, s, a in r["curve"])
        raw = ", ".join(f"{100 * a:.2f} %" for _, _, a in r.get("curve_trained", []))
        lines.append(f"- {label[r['contestant']]} (seed {r.get('seed', args.seed)}): {pts}; trained weights: {raw}")
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
    ax.set_xlabel("training seconds + finishing step (evaluation excluded)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"fashion_cnn on Fashion-MNIST, {args.epochs} epochs: test accuracy after each epoch\n"
                 "(averaged weights, BatchNorm re-estimated)", fontsize=10)
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
    ap.add_argument("--epochs", type=int, default=None, help=f"default {EPOCHS}, cnnkit's (quick: 3)")
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
    check_recipe()
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
