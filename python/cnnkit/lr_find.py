"""What learning rate? Smith's learning-rate range test (Smith, 2017; fastai's ``lr_find``).

Train for a few hundred steps while the learning rate grows exponentially from tiny to huge, and
watch the loss: at first nothing happens, then the loss falls, then it blows up. A good rate lies
where the loss still falls clearly, about ten times below the rate where the (smoothed) loss is
lowest. :func:`lr_find` runs the test through :func:`fit_classifier`'s engine (Keras' ``fit`` with a
callback that sets the rate before each step and stops when the loss diverges) and puts the model
back as it was: its weights, and its optimizer (with its state) if it was compiled, or uncompiled if
it was not, so that ``fit_classifier(model, data, learning_rate=suggestion)`` then trains from the
same start with the suggested rate. :func:`plot_lr_find` draws the curve.
"""

from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, public, warn
from ._data_checks import check_data
from ._plot import check_target, finish, new_figure
from .engine import FitPlan, fit_phase, steps_per_epoch
from .engine import _optimizer as by_name
from .keras_compat import compiled_state
from .train import compile_classifier, model_classes

LAG = 20          # the smoothed loss (an exponential moving average, bias-corrected) lags about steps / LAG steps
DIVERGE = 4.0     # stop when the smoothed loss exceeds 4 times its lowest value
MIN_STEPS = 10    # ... but not in the first 10 steps (also the fewest steps to ask for)
MAX_STEPS = 100_000


def smoothing(steps: int) -> float:
    """The moving average's factor: ``1 - LAG / steps`` (0.9 for 200 steps), between 0.5 and 0.98. A fixed
    0.98 (fastai's) lags 50 steps behind, two of eight decades of rates at 200 steps, and moves the
    lowest point of the curve, and so the suggestion, to rates already too high."""
    return min(0.98, max(0.5, 1 - LAG / steps))


class RangeTest(keras.callbacks.Callback):
    """Sets the learning rate before each training step (exponentially from ``start`` to ``end`` over
    ``steps`` steps), records each step's loss, and stops after ``steps`` or when the loss diverges."""

    def __init__(self, start: float, end: float, steps: int):
        super().__init__()
        self.rates = [start * (end / start) ** (i / max(steps - 1, 1)) for i in range(steps)]
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged = False
        self._avg = 0.0
        self.beta = smoothing(steps)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.reset_metrics()  # the logged loss is then this step's, not the epoch's running mean
        self.model.optimizer.learning_rate = self.rates[len(self.losses)]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = float(np.asarray((logs or {}).get("loss", np.nan)))
        i = len(self.losses)
        self.losses.append(loss)
        self._avg = self.beta * self._avg + (1 - self.beta) * loss
        self.smoothed.append(self._avg / (1 - self.beta ** (i + 1)))
        best = min(self.smoothed)
        if not math.isfinite(loss) or (i >= MIN_STEPS and self.smoothed[-1] > DIVERGE * best):
            self.diverged = True
            self.model.stop_training = True
        elif len(self.losses) >= len(self.rates):
            self.model.stop_training = True


def _restorer(model: keras.Model):
    """A function that puts back the weights and the compiled state (optimizer object included) as now."""
    weights = model.get_weights()
    compiled = compiled_state(model)  # the same optimizer object: its state is not touched

    def restore() -> None:
        model.set_weights(weights)
        compiled()
    return restore


def _optimizer(model: keras.Model, optimizer: Any, start: float) -> keras.optimizers.Optimizer:
    """A fresh optimizer at ``start``: of the kind ``optimizer`` names, else the model's own kind, else Adam."""

    if optimizer is None:
        own = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
        if own is None:
            return by_name("adam", start)
        config = own.get_config()
        config["learning_rate"] = start
        return own.__class__.from_config(config)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = optimizer.get_config()
        config["learning_rate"] = start
        return optimizer.__class__.from_config(config)
    return by_name(optimizer, start)


@public
def lr_find(
    model: keras.Model,
    data: Any,
    start_learning_rate: float = 1e-7,
    end_learning_rate: float = 10.0,
    steps: int = 200,
    batch_size: int = 128,
    optimizer: Any = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Smith's learning-rate range test: the loss while the rate grows from tiny to huge, and a rate to use.

    The model trains for up to ``steps`` steps (as many epochs over ``data`` as that takes), the
    learning rate growing exponentially from ``start_learning_rate`` to ``end_learning_rate``; the
    loss of each step is recorded and smoothed (an exponential moving average whose lag is a twentieth
    of ``steps``: factor 0.9 for 200 steps), and the test
    stops early once the smoothed loss exceeds 4 times its lowest value (divergence). Afterwards the
    model's weights are restored, and its compiled state: the same optimizer with its state (a fresh
    optimizer of the same kind ran the test), or no compilation if it had none.

    Args:
        model: a Keras classifier.
        data: ``(x, y)`` arrays, a dict with ``x`` and ``y``, or a ``tf.data.Dataset`` of ``(images,
            labels)`` batches (see :func:`fit_classifier`).
        start_learning_rate: the rate of the first step.
        end_learning_rate: the rate of the last step (larger than the start).
        steps: the most steps to take.
        batch_size: images per step (arrays; a dataset is already batched).
        optimizer: the kind of optimizer to test (a name such as ``"adam"`` or an optimizer object,
            whose settings are copied); ``None``: the model's own kind if it is compiled, else Adam.
        seed: seed the test's shuffling (and dropout) with ``keras.utils.set_random_seed(seed)``;
            ``None``: as it comes. The same seed gives the same losses on a CPU.

    Returns:
        A dict: ``learning_rate``, ``loss`` and ``smoothed_loss`` (one entry per step taken),
        ``suggestion`` (a tenth of the rate where the smoothed loss is lowest: where it still falls
        clearly), ``minimum`` (that rate) and ``diverged`` (whether the test stopped early).

    Example:
        >>> d = load_fashion_mnist(pad=True, n=256, n_test=8)
        >>> result = lr_find(lenet5(), (d["x_train"], d["y_train"]), steps=40, batch_size=32)  # doctest: +ELLIPSIS
        ...
        >>> sorted(result)
        ['diverged', 'learning_rate', 'loss', 'minimum', 'smoothed_loss', 'suggestion']
        >>> model = lenet5()
        >>> history = fit_classifier(model, (d["x_train"], d["y_train"]), epochs=1, verbose=0,
        ...                          learning_rate=result["suggestion"])
    """

    model_classes(model)
    start = v.learning_rate(start_learning_rate, "start_learning_rate")
    end = v.learning_rate(end_learning_rate, "end_learning_rate")
    if not end > start:
        raise ValueError(f"{caller()}(): `end_learning_rate` ({end:g}) must be larger than `start_learning_rate` "
                         f"({start:g}); the test sweeps from the start up to the end, e.g. 1e-7 to 10.")
    steps = v.positive_int(steps, "steps", minimum=MIN_STEPS, maximum=MAX_STEPS)
    batch_size = v.positive_int(batch_size, "batch_size")
    seed = None if seed is None else v.positive_int(seed, "seed", minimum=0)
    opt = _optimizer(model, optimizer, start)
    data = check_data(model, data, "data")
    per_epoch = steps_per_epoch(data, batch_size)
    epochs = math.ceil(steps / per_epoch) if per_epoch else 1  # a dataset of unknown length: one pass
    test = RangeTest(start, end, steps)
    restore = _restorer(model)
    try:
        compile_classifier(model, optimizer=opt, loss=model.loss if getattr(model, "compiled", False) else None)
        plan = FitPlan(epochs=epochs, batch_size=batch_size, verbose=0, checkpoint=False, recalibrate_bn=False,
                       cache_features=False, precision="auto", seed=seed)
        fit_phase(model, data, None, plan, None, None, [test])
    finally:
        restore()
    return _result(test)


def _result(test: RangeTest) -> dict[str, Any]:
    n = len(test.losses)
    rates, smoothed = test.rates[:n], test.smoothed
    finite = [i for i in range(n) if math.isfinite(smoothed[i])]
    if not finite:
        raise ValueError(f"{caller()}(): the loss was not a number from the first step on; check the data (labels, "
                         "NaN pixels) or lower `start_learning_rate`.")
    best = min(finite, key=lambda i: smoothed[i])
    if not test.diverged and best >= n - max(2, n // 20):
        warn(f"{caller()}(): the smoothed loss was still falling at the last rate tried ({rates[n - 1]:.1e}, "
                      f"{n} steps): the lowest point and the suggestion are not reliable. Raise `steps` (a few "
                      "hundred) or `end_learning_rate`.", UserWarning)
    return {"learning_rate": rates, "loss": test.losses, "smoothed_loss": smoothed,
            "suggestion": rates[best] / 10, "minimum": rates[best], "diverged": test.diverged}


@public
def plot_lr_find(result: dict[str, Any], file: str | os.PathLike | None = None):
    """Draw the range test: the (smoothed) loss against the learning rate, log scale, with the suggestion.

    Args:
        result: what :func:`lr_find` returns.
        file: an image file to write (``.png``, ``.pdf``, ``.svg``, ``.jpg``; atomically); ``None``
            returns the matplotlib ``Figure``.

    Returns:
        The path written (``file`` given) or the matplotlib ``Figure``.

    Example:
        >>> d = load_fashion_mnist(pad=True, n=256, n_test=8)
        >>> result = lr_find(lenet5(), (d["x_train"], d["y_train"]), steps=40, batch_size=32)  # doctest: +ELLIPSIS
        ...
        >>> plot_lr_find(result, file="lr_find.png")
        'lr_find.png'
    """
    target = check_target(file)
    keys = ("learning_rate", "loss", "smoothed_loss", "suggestion", "minimum")
    if not isinstance(result, dict) or any(k not in result for k in keys):
        raise TypeError(f"{caller()}(): `result` must be what lr_find() returns (a dict with "
                        f"{', '.join(keys)}), got {type(result).__name__}.")
    lr = np.asarray(result["learning_rate"], dtype="float64")
    raw = np.asarray(result["loss"], dtype="float64")
    smooth = np.asarray(result["smoothed_loss"], dtype="float64")
    if lr.ndim != 1 or not len(lr) or raw.shape != lr.shape or smooth.shape != lr.shape or (lr <= 0).any():
        raise ValueError(f"{caller()}(): `result` must hold equal-length, non-empty lists of positive learning rates and "
                         "losses, as lr_find() returns.")
    fig = new_figure(6.0, 4.0, file)
    ax = fig.add_subplot()
    ax.plot(lr, raw, color="lightgray", lw=1, label="loss")
    ax.plot(lr, smooth, color="C0", lw=2, label="smoothed loss")
    ax.axvline(float(result["suggestion"]), color="C2", ls="--", label=f"suggestion {float(result['suggestion']):.1e}")
    ax.axvline(float(result["minimum"]), color="C3", ls=":", label=f"lowest loss {float(result['minimum']):.1e}")
    ax.set_xscale("log")
    finite = smooth[np.isfinite(smooth)]
    low = np.concatenate([finite, raw[np.isfinite(raw)]])
    if finite.size:  # from the lowest loss up to twice the first: the divergence would squash the curve
        ax.set_ylim(low.min() - 0.05 * abs(low.min()), min(finite.max(), 2 * finite[0] + 1e-9) * 1.05)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title("Learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return finish(fig, target)
