"""What the benchmark scripts share: the data (Fashion-MNIST, read by cnnkit's own reader), the machine
they ran on, the provenance lines of a report, and printing a table while writing it to
``bench/results/``. The one helper module of bench/: no script imports another script.

A script in a sub-folder (``bench/acceptance/``, ``bench/defaults/``, ``bench/peers/``) puts bench/ on
``sys.path`` first::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
    from common import RESULTS, publish

NumPy and cnnkit's data module only: TensorFlow is imported inside the functions that need it, so the
PyTorch worker processes never load it."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


# -- the data -------------------------------------------------------------------------------------
def read_fashion_mnist(split: str = "train"):
    """``(images (n, 28, 28) uint8, labels (n,) uint8)`` of Fashion-MNIST's ``"train"`` or ``"test"``
    split (``"t10k"`` is the test split too), read by cnnkit's own reader (``cnnkit.data``: Debian's
    files, else the Keras cache). Read-only arrays, shared between calls."""
    from cnnkit.data import fashion_mnist_raw

    part = "train" if split == "train" else "test"
    raw, _ = fashion_mnist_raw()
    return raw[f"x_{part}"], raw[f"y_{part}"]


def datasets(n: int):
    """The first ``n`` training images for each model train_throughput.py compares: ``small_cnn``
    (32x32x3, T-shirt vs trouser, float labels), ``lenet5`` (32x32x1) and ``fashion_cnn`` (28x28x1),
    values 0-1, as ``{name: (x, y)}``."""
    import numpy as np

    x, y = read_fashion_mnist()
    x = np.pad(x, ((0, 0), (2, 2), (2, 2))).astype("float32")[..., None] / 255.0
    keep = np.isin(y, (0, 1))
    xb, yb = np.repeat(x[keep], 3, axis=-1)[:n], y[keep][:n].astype("float32")
    return {
        "small_cnn": (np.ascontiguousarray(xb), yb),
        "lenet5": (np.ascontiguousarray(x[:n]), y[:n].astype("int64")),
        "fashion_cnn": (np.ascontiguousarray(x[:n, 2:30, 2:30]), y[:n].astype("int64")),
    }


def load_split(kind: str, n: int, seed: int):
    """A class-balanced sample of ``n`` images (28x28 uint8) and labels (int32) from one split
    (``"train"``, or ``"t10k"``/``"test"``)."""
    import numpy as np

    images, labels = read_fashion_mnist(kind)
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), n // 10, replace=False) for c in range(10)])
    rng.shuffle(idx)
    return images[idx], labels[idx].astype("int32")


def to_rgb(images, size: int):
    """28x28 grey -> size x size x 3 (bilinear), float32 0-255 (imports Keras)."""
    import keras
    import numpy as np

    x = keras.ops.image.resize(images[..., None].astype("float32"), (size, size), interpolation="bilinear")
    return np.repeat(np.clip(keras.ops.convert_to_numpy(x), 0, 255), 3, axis=-1)


# -- the machine and the report -------------------------------------------------------------------


def machine() -> str:
    """``node, CPU model, cores, OS release`` for a results table's header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.node()}, {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def provenance(load_before: float, load_after: float) -> list[str]:
    """A report's ``- date``, ``- machine`` (with the load around the run) and ``- versions`` lines."""
    import keras
    import numpy as np

    return [f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
            f"- machine: {machine()}; load average (1 min) {load_before:.2f} before, {load_after:.2f} after "
            "(the machine was shared with other jobs: timings are noisy, compare them loosely)",
            f"- versions: Python {platform.python_version()}, keras {keras.__version__} ({keras.backend.backend()}), "
            f"numpy {np.__version__}"]


def command_line(total: float) -> str:
    """A report's ``- command`` line: how the script was called and how long it took."""
    script = Path(sys.argv[0]).resolve()
    where = script.relative_to(BENCH.parent) if script.is_relative_to(BENCH.parent) else script.name
    return f"- command: `python {where} {' '.join(sys.argv[1:])}`; total {total:.0f} s\n"


def publish(text: str, path: str | os.PathLike | None) -> None:
    """Print a report and, with a ``path``, write it there (the folder is made if needed)."""
    print(text)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n")


def epoch_timer():
    """A Keras callback whose ``.seconds`` is the last epoch's duration (fit two epochs and read it: the
    second leaves tracing out). Keras is imported here, so this module stays free of TensorFlow for the
    PyTorch worker processes."""
    import time

    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    return EpochTimer()


def per_step(f, steps: int = 40, rounds: int = 5, warmup: int = 10) -> float:
    """Milliseconds per call of ``f``: the median over ``rounds`` rounds of ``steps`` calls, after
    ``warmup`` calls."""
    import statistics
    import time

    for _ in range(warmup):
        f()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(steps):
            f()
        times.append((time.perf_counter() - t) / steps)
    return statistics.median(times) * 1e3


def run_and_publish(run, report, args) -> None:
    """Time ``run(args)`` and publish ``report(rows, args, (load before, load after), seconds)`` to
    ``args.out`` (``"-"``: print it only)."""
    import time

    start, load0 = time.perf_counter(), os.getloadavg()[0]
    rows = run(args)
    publish(report(rows, args, (load0, os.getloadavg()[0]), time.perf_counter() - start),
            None if args.out == "-" else args.out)


def tf_step_parts(model, x, y, timer=per_step) -> dict[str, float]:
    """Milliseconds per call (``timer``) of a Keras model's training step in parts, each one
    tf.function: the forward pass, forward + gradients, and the whole step with Adam (1e-3) on sparse
    categorical cross-entropy. Call it inside any precision or BatchNormalization context the model
    should train in. TensorFlow is imported here (the PyTorch workers never load it)."""
    import keras
    import tensorflow as tf

    opt = keras.optimizers.Adam(1e-3)
    opt.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def forward():
        return model(x, training=True)

    @tf.function
    def grads():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    return {"forward": timer(forward), "forward + gradients": timer(grads), "whole step (+ Adam)": timer(step)}
