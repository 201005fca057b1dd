"""Training and predict throughput: cnnkit's defaults vs plain Keras and PyTorch, each peer both at its
defaults and at its best setting on this machine.

Models: the slides' small CNN on 32x32x3 binary data (Fashion-MNIST T-shirt vs trouser, padded, 3
channels), LeNet-5 on 32x32x1 and the main job's ``fashion_cnn`` on 28x28x1 10-class Fashion-MNIST.
Same data, batch size and optimizer (Adam, lr 1e-3) for every contestant. Contestants:

- cnnkit ``fit_classifier`` / ``predict_classes`` with their defaults;
- plain Keras, ``model.fit`` defaults (float32, one step per execution);
- plain Keras best: the fastest of float32 / ``mixed_bfloat16`` (float32 output layer) x
  ``steps_per_execution`` 1, 8, 32, 64, tuned per model on this machine before the rounds;
- PyTorch, a hand-written float32 loop (``torch.set_num_threads`` = the cores);
- PyTorch best: the fastest of float32 / ``torch.autocast("cpu", dtype=torch.bfloat16)`` x contiguous /
  channels-last tensors (``--torch-compile`` adds ``torch.compile``, whose compilation takes minutes
  on 2 cores), tuned the same way.

Throughput is images/s of one training epoch, the median of >= 3 rounds, contestants alternating
within each round; the TensorFlow contestants in this process, the PyTorch ones in a child process
of their own (which never loads TensorFlow; this process waits while it works). Keras contestants run two
epochs per round and the second is
timed (a callback), so tracing -- which cnnkit redoes per call because it restores the model's
precision afterwards -- is left out for all; a real run traces once per fit call. Predict: images/s
of one pass, after a warm-up pass.

    bash bench/run.sh peers/train_throughput.py [--rounds 3] [--n 12000] [--models fashion_cnn]

Prints a table and writes bench/results/train_throughput.md, and train_throughput.json (the rows and
each peer's tuned setting per model; ``time_to_accuracy.py`` takes its peers' best settings for
``fashion_cnn`` from there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import RESULTS, command_line, datasets, epoch_timer, provenance, publish
from nets import keras_net, torch_net

cnnkit = keras = tf = None  # imported by import_tensorflow(): the PyTorch worker process never loads TensorFlow


def import_tensorflow() -> None:
    """Import cnnkit, keras and tensorflow into this module (idempotent)."""
    global cnnkit, keras, tf
    import cnnkit  # first: quiet TensorFlow import
    # isort: split
    import keras
    import tensorflow as tf


BATCH = 128
LR = 1e-3

# -- the models (written by hand for plain Keras and PyTorch in nets.py), the peers' settings ----
MODELS = ("small_cnn", "lenet5", "fashion_cnn")
KERAS_GRID = [(p, s) for p in ("float32", "mixed_bfloat16") for s in (1, 8, 32, 64)]
TORCH_GRID = [(bf16, cl) for bf16 in (False, True) for cl in (False, True)]  # (bf16 autocast, channels-last)


# -- (b) plain Keras: model.fit defaults, and at its best setting ------------------------------
class PlainKeras:
    label = "plain Keras (model.fit defaults)"
    key = "keras"

    def __init__(self, name, x, y, policy="float32", spe=1):
        self.model, loss = keras_net(name, policy)
        self.model.compile(keras.optimizers.Adam(LR), loss, metrics=["accuracy"], steps_per_execution=spe)
        self.x, self.y = x, y
        self.predict()  # warm-up: tracing

    def epoch(self):
        timer = epoch_timer()
        self.model.fit(self.x, self.y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[timer])
        return timer.seconds

    def predict(self):
        self.model.predict(self.x, batch_size=BATCH, verbose=0)


def plain_keras_best(policy: str, spe: int):
    class PlainKerasBest(PlainKeras):
        label = f"plain Keras best ({policy}, steps_per_execution {spe})"
        key = "keras_best"
        setting = {"policy": policy, "steps_per_execution": spe}

        def __init__(self, name, x, y):
            super().__init__(name, x, y, policy, spe)

    return PlainKerasBest


# -- (c) PyTorch, hand-written loop: float32, and at its best setting ------------------------
class PyTorch:
    label = "PyTorch (hand-written loop, float32)"
    key = "torch"

    def __init__(self, name, x, y, bf16=False, channels_last=False, compile=False):
        import torch

        torch.set_num_threads(len(os.sched_getaffinity(0)))
        self.torch = torch
        torch.manual_seed(0)
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.model = torch_net(name).to(memory_format=self.fmt)
        self.step_model = torch.compile(self.model) if compile else self.model
        self.bf16 = bf16
        if name == "small_cnn":
            self.loss = torch.nn.BCEWithLogitsLoss()
            self.y = torch.from_numpy(y).float().unsqueeze(1)
        else:
            self.loss = torch.nn.CrossEntropyLoss()
            self.y = torch.from_numpy(y.astype("int64"))
        self.x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.epoch()  # warm-up (and torch.compile's compilation)

    def epoch(self):
        torch = self.torch
        start = time.perf_counter()
        self.model.train()
        perm = torch.randperm(len(self.x))
        for i in range(0, len(self.x), BATCH):
            idx = perm[i:i + BATCH]
            self.opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                loss = self.loss(self.step_model(self.x[idx].contiguous(memory_format=self.fmt)), self.y[idx])
            loss.backward()
            self.opt.step()
        return time.perf_counter() - start

    def predict(self):
        torch = self.torch
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            self.model.eval()
            for i in range(0, len(self.x), BATCH):
                self.step_model(self.x[i:i + BATCH].contiguous(memory_format=self.fmt))


def pytorch_best(bf16: bool, channels_last: bool, compile: bool):
    parts = (["bf16 autocast"] if bf16 else ["float32"]) + (["channels-last"] if channels_last else []) + \
        (["torch.compile"] if compile else [])

    class PyTorchBest(PyTorch):
        label = f"PyTorch best ({', '.join(parts)})"
        key = "torch_best"
        setting = {"bf16": bf16, "channels_last": channels_last, "compile": compile}

        def __init__(self, name, x, y):
            super().__init__(name, x, y, bf16, channels_last, compile)

    return PyTorchBest


# -- (a) cnnkit's default path ---------------------------------------------------------------
class Cnnkit:
    label = "cnnkit fit_classifier (defaults)"
    key = "cnnkit"

    def __init__(self, name, x, y):
        self.model = {"small_cnn": cnnkit.simple_cnn, "lenet5": cnnkit.lenet5, "fashion_cnn": cnnkit.fashion_cnn}[name]()
        self.x, self.y = x, y
        self.predict()  # warm-up: tracing

    def epoch(self):
        timer = epoch_timer()
        cnnkit.fit_classifier(self.model, (self.x, self.y), epochs=2, batch_size=BATCH, learning_rate=LR,
                              verbose=0, callbacks=[timer])
        return timer.seconds

    def predict(self):
        cnnkit.predict_classes(self.model, self.x, batch_size=BATCH)


def predict_seconds(self) -> float:
    t = time.perf_counter()
    self.predict()
    return time.perf_counter() - t


for _cls in (Cnnkit, PlainKeras, PyTorch):
    _cls.predict_seconds = predict_seconds


# -- PyTorch in its own process ---------------------------------------------------------------
class TorchWorker:
    """PyTorch runs in a child process of its own (``--torch-worker``), which never loads TensorFlow:
    in one process, TensorFlow's and PyTorch's thread pools and allocators get in each other's way
    (PyTorch measured ~1.5x slower beside TensorFlow). The parent waits (idle) while the child works:
    contestants still alternate within each round. One JSON request per line, one reply per line."""

    def __init__(self, name: str, n: int):
        import subprocess

        self.proc = subprocess.Popen([sys.executable, __file__, "--torch-worker", name, "--n", str(n)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                reply = json.loads(line[3:])
                if "error" in reply:
                    raise RuntimeError(f"PyTorch worker: {reply['error']}")
                return reply
        raise RuntimeError(f"PyTorch worker ended (exit status {self.proc.wait()})")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


class TorchProxy:
    """A PyTorch contestant that lives in the worker: epoch() and predict_seconds() ask it."""

    def __init__(self, cls, worker: TorchWorker):
        self.label, self.key, self.worker = cls.label, cls.key, worker
        self.worker.ask(cmd="make", key=self.key, setting=list(getattr(cls, "setting", {}).values()))

    def epoch(self) -> float:
        return self.worker.ask(cmd="epoch", key=self.key)["seconds"]

    def predict_seconds(self) -> float:
        return self.worker.ask(cmd="predict", key=self.key)["seconds"]


def torch_worker(name: str, n: int) -> None:
    """The child's loop: build, tune and time PyTorch contestants on request (see TorchWorker)."""
    x, y = datasets(n)[name]
    runners = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "tune":
                reply = {"times": torch_tune_times(name, x[:req["n"]], y[:req["n"]], req["compile"])}
            elif req["cmd"] == "make":
                runners[req["key"]] = PyTorch(name, x, y, *req["setting"])
                reply = {}
            elif req["cmd"] == "epoch":
                reply = {"seconds": runners[req["key"]].epoch()}
            else:
                reply = {"seconds": runners[req["key"]].predict_seconds()}
        except Exception as e:  # noqa: BLE001 - the parent raises it
            reply = {"error": f"{type(e).__name__}: {e}"}
        print("@@ " + json.dumps(reply), flush=True)


def have_torch() -> bool:
    try:
        import torch  # noqa: F401

        return True
    except ImportError:
        print("torch is not installed (.venv/bin/pip install torch==2.13.0): PyTorch columns skipped", file=sys.stderr)
        return False


def torch_tune_times(name, x, y, torch_compile: bool) -> list:
    """(In the PyTorch worker) one timed epoch per PyTorch setting: [[bf16, channels_last, compile], s]."""
    grid = TORCH_GRID + ([(True, True, True), (False, True, True)] if torch_compile else [])
    times = []
    for setting in grid:
        setting = tuple(setting) + (False,) * (3 - len(setting))
        times.append([list(setting), PyTorch(name, x, y, *setting).epoch()])
    return times


def tune(name, x, y, torch_compile: bool, worker=None):
    """Each peer's best setting for this model here: one timed epoch per setting, the fastest wins."""
    keras_times = {}
    for policy, spe in KERAS_GRID:
        keras_times[(policy, spe)] = PlainKeras(name, x, y, policy, spe).epoch()
    best = [plain_keras_best(*min(keras_times, key=keras_times.get))]
    tuning = {"keras": {f"{p}/spe{s}": round(len(x) / t) for (p, s), t in keras_times.items()}}
    if worker is not None:
        torch_times = {tuple(k): t for k, t in worker.ask(cmd="tune", n=len(x), compile=torch_compile)["times"]}
        best.append(pytorch_best(*min(torch_times, key=torch_times.get)))
        tuning["torch"] = {f"{'bf16' if b else 'fp32'}{'/cl' if c else ''}{'/compile' if k else ''}": round(len(x) / t)
                           for (b, c, k), t in torch_times.items()}
    print(f"{name}: tuning img/s {tuning}", file=sys.stderr, flush=True)
    return best, tuning


def measure(rounds: int, n: int, tune_n: int, torch_compile: bool, models):
    rows, settings = [], {}
    for name, (x, y) in datasets(n).items():
        if name not in models:
            continue
        worker = TorchWorker(name, n) if have_torch() else None
        try:
            best, tuning = tune(name, x[:tune_n], y[:tune_n], torch_compile, worker)
            classes = [Cnnkit, PlainKeras] + ([PyTorch] if worker else []) + best
            settings[name] = {cls.key: cls.setting for cls in best} | {"tuning_img_per_s": tuning}
            runners = [TorchProxy(cls, worker) if issubclass(cls, PyTorch) else cls(name, x, y) for cls in classes]
            train = {r.label: [] for r in runners}
            pred = {r.label: [] for r in runners}
            for i in range(rounds):
                for r in (runners if i % 2 == 0 else runners[::-1]):  # alternate within each round
                    train[r.label].append(len(x) / r.epoch())
                    pred[r.label].append(len(x) / r.predict_seconds())
        finally:
            if worker is not None:
                worker.close()
        for r in runners:
            rows.append((name, r.label, statistics.median(train[r.label]), min(train[r.label]),
                         max(train[r.label]), statistics.median(pred[r.label]), r.key))
    return rows, settings


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=12000, help="training images per epoch")
    ap.add_argument("--tune-n", type=int, default=6000, help="images per epoch while tuning the peers' settings")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--torch-compile", action="store_true",
                    help="also try torch.compile for PyTorch best (compiling takes minutes on 2 cores)")
    ap.add_argument("--cores", type=int, default=2, help="pin the process to this many CPU cores (default: 2)")
    ap.add_argument("--torch-worker", metavar="MODEL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args.torch_worker, args.n)
    import_tensorflow()
    tf.get_logger().setLevel("ERROR")  # each tuned setting is a new model: Keras' retracing warnings are expected
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    load0, start = os.getloadavg()[0], time.perf_counter()
    rows, settings = measure(args.rounds, args.n, args.tune_n, args.torch_compile, args.models)
    head = (f"Training throughput, images/s (median of {args.rounds} alternating rounds; batch {BATCH}, "
            f"Adam {LR}; {args.n} Fashion-MNIST images; peers' best settings tuned on {args.tune_n} images: "
            f"Keras over precision x steps_per_execution {sorted({s for _, s in KERAS_GRID})}, PyTorch over "
            f"float32/bf16 autocast x contiguous/channels-last{' (+ torch.compile)' if args.torch_compile else ''})")
    lines = [head, ""] + provenance(load0, os.getloadavg()[0]) + [command_line(time.perf_counter() - start),
             "| model | contestant | train img/s (median) | min | max | predict img/s |", "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {c} | {med:,.0f} | {lo:,.0f} | {hi:,.0f} | {p:,.0f} |" for m, c, med, lo, hi, p, _ in rows]
    lines.append("")
    for model in args.models:
        mine = [r for r in rows if r[0] == model and r[6] == "cnnkit"]
        for col, what in ((2, "training"), (5, "predict")):
            others = [(r[col], r[1]) for r in rows if r[0] == model and r[6] != "cnnkit"]
            if mine and others:
                best, label = max(others)
                ratio = mine[0][col] / best
                lines.append(f"- {model}, {what}: cnnkit / best of all others ({label}) = {ratio:.2f}x "
                             f"(goal >= 1.2x: {'met' if ratio >= 1.2 else 'NOT met'})")
    publish("\n".join(lines), RESULTS / "train_throughput.md")
    (RESULTS / "train_throughput.json").write_text(json.dumps(
        {"settings": settings, "rows": [dict(zip(("model", "contestant", "train", "train_min", "train_max",
                                                  "predict", "key"), r)) for r in rows]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
