"""Weight averaging: train with an exponential moving average (EMA) of the weights, keep the average.

After every training step the optimizer updates ``average = m * average + (1 - m) * weights``
(``m``, the momentum, e.g. 0.99: about the last ``1 / (1 - m)`` = 100 steps count); when
``fit()`` ends, the model's weights are replaced by their averages. This is Keras' own mechanism
(``keras.optimizers.Optimizer(use_ema=True, ema_momentum=m)``, finalized by ``Model.fit()``);
cnnkit only turns it on (``ema=`` in :func:`fit_classifier`, :func:`fine_tune`,
:func:`compile_classifier`, :func:`train_classifier`, ``cnnkit train --ema``).

An average of the last steps' weights sits nearer the middle of the valley the optimizer is
bouncing around in than the last step does; the fastest public training recipes use it for the
same reason (airbench, timm's ``ModelEmaV2``). What to expect:

- The per-epoch validation figures are those of the weights being trained, not of the average; the
  average is what the model holds after training (``model.weights.h5``), and what
  :func:`evaluate_classifier` measures. ``best.keras`` (the best epoch) holds trained weights.
- BatchNormalization's moving statistics are not weights: they follow the trained weights. cnnkit's
  ``recalibrate_bn`` re-estimates them after the average is in place (``"auto"``: short runs).
- Not with ``early_stopping``: Keras' early stopping restores the best epoch's trained weights after
  the average is put in, so the average would be lost (an error says so).
- A killed run resumes with its averages (they are part of the optimizer's state in the backup).
- Keras starts the average at the weights the run starts from and has no warm-up, so a short run's
  average still holds much of its start (``m ** steps`` of it: 0.99 over 100 steps keeps 37 %, which
  for a model trained from scratch is random weights). ``ema="auto"`` (the main job's default) picks
  the momentum from the phase's steps: 0.99 from 1,000 steps on, ``1 - 10 / steps`` from 20 (the
  start then weighs ``e**-10``), none below; a number that keeps more than 1 % of the start warns.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ._context import caller, warn
from ._lang import code

DEFAULT_MOMENTUM = 0.99  # ema=True; Keras' own default ema_momentum
MIN_MOMENTUM = 0.5  # below this the "average" is nearly the last step: a mistake (ema=0.1 meant as "10 %"?)


AUTO = "auto"
FORGET = 10.0  # "auto": average over at most steps / FORGET steps, so the start weighs e**-FORGET
MIN_STEPS = 20  # "auto": no average below this many steps (the momentum would fall under 0.5)
START_SHARE = 0.01  # a momentum that keeps more than this share of the starting weights warns


def check_ema(value: Any, arg: str = "ema") -> float | str:
    """``ema`` checked: ``0``, ``False`` or ``None`` (off: 0.0), ``True`` (0.99), ``"auto"`` (from
    the steps, see :func:`momentum_for`) or a momentum in [0.5, 1)."""
    if isinstance(value, str) and value == AUTO:
        return AUTO
    if value is None or value is False or isinstance(value, np.bool_) and not value:
        return 0.0
    if value is True or isinstance(value, np.bool_):
        return DEFAULT_MOMENTUM
    if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1 and len(value) == 1:
        value = value[0]  # an R vector of length one that came through as a list
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{caller()}(): `{arg}` must be a momentum in [{MIN_MOMENTUM}, 1) such as 0.99 (the weights "
                        f"are averaged over about 1 / (1 - {arg}) steps), {code('True', 'TRUE')} for 0.99, 'auto' (from the "
                        f"run's steps), or 0 for off; got "
                        f"{value!r} ({type(value).__name__}).")
    m = float(value)
    if m == 0:
        return 0.0
    if not np.isfinite(m) or not MIN_MOMENTUM <= m < 1:
        raise ValueError(f"{caller()}(): `{arg}` must be a momentum in [{MIN_MOMENTUM}, 1) such as 0.99 or 0.999 (the "
                         f"weights are averaged over about 1 / (1 - {arg}) steps), 'auto', or 0 for off; got {value!r}.")
    return m


def momentum_for(ema: float | str, steps: int | None) -> float:
    """The momentum a phase of ``steps`` optimizer steps averages with (``None``: a dataset of
    unknown length). ``"auto"``: 0.99 from ``FORGET / (1 - 0.99)`` = 1,000 steps on, else
    ``1 - FORGET / steps`` down to 20 steps, else none (and none for an unknown length). A number
    is used as it is, with a warning when the average would keep more than 1 % of the start."""
    if ema == AUTO:
        if steps is None or steps < MIN_STEPS:
            return 0.0
        return DEFAULT_MOMENTUM if steps >= FORGET / (1 - DEFAULT_MOMENTUM) else round(1 - FORGET / steps, 4)
    m = float(ema)
    if m and steps is not None and m ** steps > START_SHARE:
        share = m ** steps
        better = f"'auto' (here {momentum_for(AUTO, steps) or 'no average'})"
        warn(f"{caller()}(): `ema`={m} over {steps} training steps: the weight average still keeps "
             f"{100 * share:.0f} % of the weights the run started from (Keras starts the average there, with no "
             f"warm-up). Use ema={better}, a lower momentum, or more steps.", UserWarning)
    return m


def ema_of(optimizer: Any) -> float:
    """The EMA momentum ``optimizer`` averages the weights with (0.0: none, or no optimizer)."""
    if optimizer is None or not getattr(optimizer, "use_ema", False):
        return 0.0
    return float(optimizer.ema_momentum)


def optimizer_config(ema: float) -> dict[str, Any]:
    """The optimizer config entries that turn on the weight average (none for 0)."""
    return {"use_ema": True, "ema_momentum": ema} if ema else {}


def check_optimizer(optimizer: keras.optimizers.Optimizer, ema: float | str) -> None:
    """An optimizer object given with ``ema``: it must average with that momentum already (Keras
    sets averaging up when the optimizer is made, so cnnkit cannot add it to an object)."""
    if ema == AUTO:
        return  # an optimizer object is used as it is
    if ema and ema_of(optimizer) != ema:
        name = type(optimizer).__name__
        raise ValueError(f"{caller()}(): `ema`={ema} averages the weights through the optimizer, but `optimizer` is "
                         f"{name}(use_ema={getattr(optimizer, 'use_ema', False)}, "
                         f"ema_momentum={getattr(optimizer, 'ema_momentum', None)}): Keras sets averaging "
                         f"up when an optimizer is made. Pass the optimizer's name (e.g. 'adam') and `ema`, or make it "
                         f"with keras.optimizers.{name}(use_ema=True, ema_momentum={ema}).")


def check_with_early_stopping(ema: float | str, early_stopping: Any) -> None:
    """``ema`` and ``early_stopping`` exclude each other (Keras restores the best epoch's weights
    over the average)."""
    if ema and ema != AUTO and early_stopping:
        raise ValueError(f"{caller()}(): `ema`={ema} and `early_stopping`={early_stopping} cannot be used together: "
                         "Keras' early stopping restores the best epoch's trained weights at the end, which replaces "
                         "the weight average. Use one of them (ema=0 to turn averaging off).")
