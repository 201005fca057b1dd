"""LeNet-5 levers: what makes cnnkit's training and predict faster, against PyTorch at its best.

Issue 17 item 2: LeNet-5 >= 1.2x PyTorch's images/s in training and in predict at batch 128, same
optimisation (Adam 1e-3, batch 128, the same 12,000 Fashion-MNIST images as train_throughput.py).
Each lever is one contestant; contestants ALTERNATE inside each round and the median of the rounds
is reported, so load on the machine hits all of them alike (compare the ratios, not the figures).

Contestants run in worker processes (one per environment: TensorFlow as cnnkit sets it up,
TensorFlow with oneDNN off, TensorFlow with one inter-op thread, PyTorch), driven in turn by this
process; only one computes at a time. Training: images/s of the second epoch of a two-epoch fit
(tracing and torch.compile left out for all). Predict: images/s of one pass over the 12,000 images
after a warm-up pass. Then: final test accuracy of float32 against bfloat16 after a few epochs, the
machine's matmul peak in float32 and bfloat16 in both frameworks, and the fraction of that peak each
contestant reaches (LeNet-5's multiply-adds per image counted from its layer shapes).

    bash bench/run.sh defaults/lenet_levers.py            # full run: 9 min at load 0.5-3 on the 2-core VM
                                                 # (estimated 4-5 min quiet); --rounds 2 to shorten
    bash bench/run.sh defaults/lenet_levers.py --quick    # development: 1 round, fewer images, no torch.compile

Prints a table and writes bench/results/lenet_levers.md (--quick writes nothing unless --out).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BATCH, LR, CHUNK = 128, 1e-3, 1024
BENCH = Path(__file__).resolve().parents[1]  # bench/: common.py

# LeNet-5's multiply-adds per image (forward), from the layer shapes (32x32x1 input, 10 classes)
MACS = {"c1": 28 * 28 * 6 * 5 * 5 * 1, "c3": 10 * 10 * 16 * 5 * 5 * 6, "c5": 120 * 5 * 5 * 16,
        "f6": 84 * 120, "out": 10 * 84}
FWD_FLOPS = 2 * sum(MACS.values())
# training: forward + weight gradients (same count) + input gradients for every layer but c1
TRAIN_FLOPS = 3 * FWD_FLOPS - 2 * MACS["c1"]


# ============================================================================================
# TensorFlow worker
# ============================================================================================
def tf_worker(kind: str, n: int):
    import numpy as np

    if kind == "tf-inter1":
        import tensorflow as tf

        tf.config.threading.set_inter_op_parallelism_threads(1)
    import cnnkit  # quiet TensorFlow import
    # isort: split
    import keras
    import tensorflow as tf

    sys.path.insert(0, str(BENCH))
    from common import datasets, epoch_timer, read_fashion_mnist

    x, y = datasets(n)["lenet5"]

    def c1_filter_grad_trick(model):
        """c1's kernel gradient as one convolution with the batch as channels: x (1, 32, 32, B) with
        dy (28, 28, B, 6) as the filter -> (1, 5, 5, 6); the forward pass is the layer's own."""
        layer = model.get_layer("c1")

        def op(inputs, kernel):
            @tf.custom_gradient
            def conv(a, k):
                out = tf.nn.conv2d(a, k, 1, "VALID")

                def grad(dy):
                    dk = tf.nn.conv2d(tf.transpose(a, (3, 1, 2, 0)), tf.transpose(dy, (1, 2, 0, 3)), 1, "VALID")
                    dk = tf.transpose(dk, (1, 2, 0, 3))
                    da = tf.nn.conv2d_transpose(dy, k, tf.shape(a), 1, "VALID")  # pruned: nobody reads it
                    return da, dk
                return out, grad
            return conv(inputs, kernel)

        layer.convolution_op = op
        return model

    class Train:
        def __init__(self, **kw):
            self.kw = dict(kw)
            self.setup = self.kw.pop("setup", None)
            self.model = cnnkit.lenet5()
            if self.setup:
                self.setup(self.model)

        def __call__(self):
            timer = epoch_timer()
            cnnkit.fit_classifier(self.model, (x, y), epochs=2, batch_size=BATCH, learning_rate=LR, verbose=0,
                                  callbacks=[timer], **self.kw)
            return timer.seconds

    trained = cnnkit.lenet5()
    cnnkit.fit_classifier(trained, (x[:2048], y[:2048]), epochs=1, verbose=0)
    from cnnkit._execution import predictor

    def chunked(policy, size):
        f = predictor(trained, policy)

        def run():
            return np.concatenate([np.asarray(f(x[i:i + size])) for i in range(0, len(x), size)])
        return run

    def one_call(policy):
        """One traced call over the whole array: a while loop over batches of 128 inside TensorFlow."""
        f = predictor(trained, policy)
        full = len(x) // BATCH * BATCH

        @tf.function
        def loop(xs):
            b = tf.reshape(xs[:full], (-1, BATCH, *x.shape[1:]))
            p = tf.map_fn(f, b, fn_output_signature=tf.float32, parallel_iterations=1)
            return tf.reshape(p, (full, -1))

        def run():
            out = [loop(x).numpy()]
            if full < len(x):
                out.append(np.asarray(f(x[full:])))
            return np.concatenate(out)
        return run

    train, predict = {}, {}
    if kind == "tf":
        train = {
            "cnnkit defaults (float32)": Train(),
            "cnnkit mixed_bfloat16": Train(precision="mixed_bfloat16"),
            "cnnkit steps_per_execution=128": Train(steps_per_execution=128),
            "cnnkit c1 kernel-gradient trick": Train(setup=c1_filter_grad_trick),
            "cnnkit c1 trick + mixed_bfloat16": Train(setup=c1_filter_grad_trick, precision="mixed_bfloat16"),
        }
        predict = {
            "cnnkit predict_classes(batch_size=128) (chunks of 1024 since this branch)":
                lambda: cnnkit.predict_classes(trained, x, batch_size=BATCH),
            "predictor, batches of 128 (float32)": chunked("float32", BATCH),
            "predictor, batches of 128 (bfloat16)": chunked("mixed_bfloat16", BATCH),
            "one traced call, while loop over batches of 128": one_call("float32"),
            f"predictor, internal chunks of {CHUNK} (float32)": chunked("float32", CHUNK),
            f"predictor, internal chunks of {CHUNK} (bfloat16)": chunked("mixed_bfloat16", CHUNK),
        }
    else:
        label = {"tf-noonednn": "TF_ENABLE_ONEDNN_OPTS=0", "tf-inter1": "1 inter-op thread"}[kind]
        train = {f"cnnkit defaults, {label}": Train()}
        predict = {f"cnnkit predict_classes(128), {label}": lambda: cnnkit.predict_classes(trained, x, batch_size=BATCH)}

    def accuracy(epochs: int):
        xt, yt = read_fashion_mnist("test")
        xt = np.ascontiguousarray(np.pad(xt, ((0, 0), (2, 2), (2, 2))).astype("float32")[..., None] / 255.0)
        out = {}
        # (the c1 trick computes the same sums in another order: 0.8297/0.8285, as float32, on 2026-11-29)
        for name, kw in (("float32", {}), ("mixed_bfloat16", {"precision": "mixed_bfloat16"})):
            accs = []
            for seed in (1, 2):
                keras.utils.set_random_seed(seed)
                t = Train(**kw)
                cnnkit.fit_classifier(t.model, (x, y), epochs=epochs, batch_size=BATCH, verbose=0,
                                      **{k: v for k, v in kw.items() if k != "setup"})
                accs.append(_acc(t.model, xt, yt))
                if name == "float32":  # the float32-trained model predicting in bfloat16
                    out.setdefault("float32, predicted in bfloat16", []).append(_acc(t.model, xt, yt, "mixed_bfloat16"))
            out[name] = accs
        return out

    def _acc(model, xt, yt, policy="float32"):
        f = predictor(model, policy)
        p = np.concatenate([np.asarray(f(xt[i:i + CHUNK])) for i in range(0, len(xt), CHUNK)])
        return float(np.mean(p.argmax(1) == yt))

    def same_results():
        ref = chunked("float32", BATCH)()
        return {"one traced call": float(np.abs(one_call("float32")() - ref).max()),
                f"chunks of {CHUNK}": float(np.abs(chunked("float32", CHUNK)() - ref).max()),
                "bfloat16": float(np.abs(chunked("mixed_bfloat16", BATCH)() - ref).max())}

    def peak():
        out = {}
        for dtype in (tf.float32, tf.bfloat16):
            a = tf.cast(tf.random.normal((2048, 2048)), dtype)
            f = tf.function(lambda: tf.matmul(a, a))  # noqa: B023 - traced and timed in this iteration only
            f()
            t = time.perf_counter()
            for _ in range(10):
                f().numpy()
            out[dtype.name] = 10 * 2 * 2048 ** 3 / (time.perf_counter() - t)
        return out

    for f in predict.values():  # warm-up: tracing
        f()
    return {"train": train, "predict": predict, "accuracy": accuracy, "same": same_results, "peak": peak}


# ============================================================================================
# PyTorch worker
# ============================================================================================
def torch_worker(kind: str, n: int, compile_: bool):
    import numpy as np
    import torch
    from torch import nn

    sys.path.insert(0, str(BENCH))
    from common import datasets  # NumPy and cnnkit's data module only: no TensorFlow

    torch.set_num_threads(os.cpu_count() or 2)
    x, y = datasets(n)["lenet5"]
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    y = torch.from_numpy(y)

    def lenet():
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))

    class Train:
        def __init__(self, bf16=False, comp=False):
            self.model = lenet()
            self.run = torch.compile(self.model) if comp else self.model
            self.bf16 = bf16
            self.loss = nn.CrossEntropyLoss()
            self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
            self()  # the first epoch: warm-up (and compilation)

        def __call__(self):
            start = time.perf_counter()
            self.model.train()
            perm = torch.randperm(len(x))
            for i in range(0, len(x), BATCH):
                idx = perm[i:i + BATCH]
                self.opt.zero_grad(set_to_none=True)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                    loss = self.loss(self.run(x[idx]), y[idx])
                loss.backward()
                self.opt.step()
            return time.perf_counter() - start

    class Predict:
        def __init__(self, bf16=False, comp=False, size=BATCH):
            self.model = lenet().eval()
            self.run = torch.compile(self.model) if comp else self.model
            self.bf16, self.size = bf16, size
            self()

        def __call__(self):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                return [self.run(x[i:i + self.size]) for i in range(0, len(x), self.size)]

    train = {"PyTorch eager float32": Train(), "PyTorch eager bf16 autocast": Train(bf16=True)}
    predict = {"PyTorch eager float32, batch 128": Predict(), "PyTorch bf16 autocast, batch 128": Predict(bf16=True),
               f"PyTorch eager float32, chunks of {CHUNK}": Predict(size=CHUNK)}
    if compile_:
        try:
            train["PyTorch torch.compile float32"] = Train(comp=True)
            predict["PyTorch torch.compile float32, batch 128"] = Predict(comp=True)
        except Exception as e:  # noqa: BLE001 -- a compiler missing here is a finding, not a crash
            print(f"torch.compile failed: {type(e).__name__}: {e}", file=sys.stderr)

    def peak():
        out = {}
        for dtype in (torch.float32, torch.bfloat16):
            a = torch.randn(2048, 2048).to(dtype)
            a @ a
            t = time.perf_counter()
            for _ in range(10):
                a @ a
            out[str(dtype).replace("torch.", "")] = 10 * 2 * 2048 ** 3 / (time.perf_counter() - t)
        return out

    return {"train": train, "predict": predict, "peak": peak, "version": torch.__version__}


def worker_main(kind: str, n: int, compile_: bool):
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed by libraries goes to stderr, the pipe carries only replies
    w = torch_worker(kind, n, compile_) if kind == "torch" else tf_worker(kind, n)
    reply.write(json.dumps({"train": list(w["train"]), "predict": list(w["predict"])}) + "\n")
    reply.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["do"] == "train":
            out = w["train"][cmd["name"]]()
        elif cmd["do"] == "predict":
            t = time.perf_counter()
            w["predict"][cmd["name"]]()
            out = time.perf_counter() - t
        elif cmd["do"] == "accuracy":
            out = w["accuracy"](cmd["epochs"])
        else:
            out = w[cmd["do"]]()
        reply.write(json.dumps(out) + "\n")
        reply.flush()


# ============================================================================================
# driver
# ============================================================================================
class Worker:
    def __init__(self, kind: str, n: int, compile_: bool, env: dict | None = None):
        self.kind = kind
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--n", str(n)]
        if not compile_:
            cmd.append("--no-compile")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, **(env or {})})
        self.names = None

    def ready(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.kind} died while setting up (see its messages above)")
        self.names = json.loads(line)
        return self

    def ask(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.kind} died on {cmd}")
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3, --quick 1)")
    ap.add_argument("--n", type=int, default=None, help="training images (default 12000, --quick 4096)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs of the accuracy check (default 5, --quick 1)")
    ap.add_argument("--quick", action="store_true", help="development: 1 round, 4,096 images, no torch.compile")
    ap.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    ap.add_argument("--out", default=None, help="results file (default bench/results/lenet_levers.md; "
                    "--quick writes none unless given)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    n = args.n or (4096 if args.quick else 12000)
    epochs = args.epochs or (1 if args.quick else 5)
    compile_ = not (args.no_compile or args.quick)
    if args.worker:
        return worker_main(args.worker, n, compile_)

    sys.path.insert(0, str(BENCH))
    from common import RESULTS, command_line, machine, publish

    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    specs = [("tf", {}), ("tf-noonednn", {"TF_ENABLE_ONEDNN_OPTS": "0"}), ("tf-inter1", {})]
    try:
        import torch  # noqa: F401

        specs.append(("torch", {}))
    except ImportError:
        print("torch is not installed (.venv/bin/pip install torch==2.13.0): PyTorch skipped", file=sys.stderr)
    workers = []
    for kind, env in specs:  # one at a time: set-up (imports, tracing, compilation) is not timed
        workers.append(Worker(kind, n, compile_, env).ready())
    train = {(w, c): [] for w in workers for c in w.names["train"]}
    pred = {(w, c): [] for w in workers for c in w.names["predict"]}
    for r in range(rounds):
        for (w, c), v in train.items():
            v.append(n / w.ask(do="train", name=c))
        for (w, c), v in pred.items():
            v.append(n / w.ask(do="predict", name=c))
        print(f"round {r + 1}/{rounds} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    tfw = workers[0]
    same = tfw.ask(do="same")
    peaks = {"TensorFlow": tfw.ask(do="peak")}
    torchw = next((w for w in workers if w.kind == "torch"), None)
    if torchw:
        peaks["PyTorch"] = torchw.ask(do="peak")
    acc = tfw.ask(do="accuracy", epochs=epochs)
    for w in workers:
        w.close()
    import resource

    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)

    med = lambda v: statistics.median(v)  # noqa: E731
    best_torch_train = max((med(v), c) for (w, c), v in train.items() if w.kind == "torch") if torchw else None
    best_torch_pred = max((med(v), c) for (w, c), v in pred.items() if w.kind == "torch"
                          and "chunks" not in c) if torchw else None
    best_peak = {d: max(p.get(d, 0) for p in peaks.values()) for d in ("float32", "bfloat16")}

    def row(c, v, best, flops):
        ratio = f"{med(v) / best[0]:.2f}x" if best else ""
        frac = med(v) * flops / best_peak["float32"]
        return f"| {c} | {med(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} | {ratio} | {frac:.1%} |"

    lines = ["# LeNet-5 levers (issue 17 item 2): cnnkit against PyTorch at its best", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"- machine: {machine()}; load average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after",
             f"- data: {n} Fashion-MNIST images 32x32x1 (train_throughput.py's), batch {BATCH}, Adam {LR}; "
             f"median of {rounds} rounds, contestants alternating inside each round",
             command_line(time.perf_counter() - t0).rstrip() + f" (CPU time of the workers {cpu.ru_utime + cpu.ru_stime:.0f} s)",
             "", "## Training (images/s of the second epoch)", "",
             "| contestant | median | min | max | / best PyTorch | of fp32 matmul peak |", "|---|---|---|---|---|---|"]
    lines += [row(c, v, best_torch_train, TRAIN_FLOPS) for (w, c), v in train.items()]
    lines += ["", f"## Predict (images/s of one pass over the {n} images)", "",
              "| contestant | median | min | max | / best PyTorch at batch 128 | of fp32 matmul peak |",
              "|---|---|---|---|---|---|"]
    lines += [row(c, v, best_torch_pred, FWD_FLOPS) for (w, c), v in pred.items()]
    if best_torch_train:
        lines += ["", f"Best PyTorch: training '{best_torch_train[1]}', predict '{best_torch_pred[1]}'."]
    lines += ["", "## Same results?", "",
              "Largest absolute difference of the probabilities from the predictor's batches of 128 (float32): "
              + "; ".join(f"{k} {v:.1e}" for k, v in same.items()) + ".",
              "", f"Test accuracy (10,000 Fashion-MNIST test images) after {epochs} epochs on the {n} images, "
              "seeds 1 and 2: " + "; ".join(f"{k} {', '.join(f'{a:.4f}' for a in v)}" for k, v in acc.items()) + ".",
              "", "## The machine's limit", "",
              f"LeNet-5 does {FWD_FLOPS / 1e6:.3f} MFLOP per image forward and {TRAIN_FLOPS / 1e6:.3f} MFLOP per "
              "image in training (forward, weight gradients, input gradients for all layers but c1).", "",
              "| framework | float32 matmul 2048^3 GFLOP/s | bfloat16 GFLOP/s |", "|---|---|---|"]
    lines += [f"| {k} | {p['float32'] / 1e9:,.0f} | {p['bfloat16'] / 1e9:,.0f} |" for k, p in peaks.items()]
    lines += ["", "The 'of fp32 matmul peak' columns: images/s x FLOP per image / the best float32 matmul "
              "GFLOP/s above."]
    out = args.out or (None if args.quick else RESULTS / "lenet_levers.md")
    publish("\n".join(lines), out)


if __name__ == "__main__":
    main()
