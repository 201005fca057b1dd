"""Distributed training with ``tf.distribute``: one host with several devices, or several hosts.

``distribution_strategy("mirrored")`` picks the strategy from the environment:

- ``TF_CONFIG`` set: ``MultiWorkerMirroredStrategy`` over the workers it lists (each worker is one
  process running the same script; worker 0, or the ``chief``, is the chief).
- Inside a Slurm job step with more than one task (``srun`` sets ``SLURM_PROCID`` and
  ``SLURM_STEP_NUM_TASKS``): ``MultiWorkerMirroredStrategy`` with the cluster read from Slurm's
  variables (``tf.distribute.cluster_resolver.SlurmClusterResolver``); no ``TF_CONFIG`` needed. The
  workers listen on ``CNNKIT_PORT_BASE`` + local task index, default a port derived from
  ``SLURM_JOB_ID`` (so that two jobs sharing a node do not collide).
- Otherwise ``MirroredStrategy`` over the local GPUs (without GPUs: over the logical CPU devices).

TensorFlow can create a multi-worker strategy only *before* it runs any operation ("Collective ops
must be configured at program startup"), so a multi-worker script creates it first thing:
``cnnkit.distribution_strategy("mirrored")`` right after ``import cnnkit`` (R: right after
``library(cnnkit)``). The strategy is made once per process and reused by every later
``strategy="mirrored"``. ``cnnkit train --strategy mirrored`` does this for you.

Data parallelism: every worker reads the whole data set and keeps its share of each batch
(``tf.data`` auto-sharding); ``batch_size`` is the *global* batch: with W workers (replicas), each
computes ``batch_size / W`` images per step and the gradients are averaged. Only the chief writes the
run directory; the other workers write nothing there and print no results.

Keras 3 (up to at least 3.15) cannot ``fit()`` under ``MultiWorkerMirroredStrategy`` (keras-team/keras
#20585: the symbolic build and the metric reduction assume one worker). :func:`keras_multi_worker_fixes`
corrects both for the duration of one ``fit()`` under such a strategy (the code that touches Keras'
internals for it is in :mod:`cnnkit.keras_compat`); the multi-worker tests run real worker processes,
so a Keras release that changes this is noticed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any, Iterator

import keras

from . import _arg_checks as v
from . import keras_compat
from ._context import caller, public
from ._lang import code
from .keras_compat import initial_epoch, set_initial_epoch

STRATEGIES = (None, "mirrored")
COLLECTIVE_STARTUP = "Collective ops must be configured at program startup"

_CREATED: dict[str, Any] = {}  # "mirrored" -> the strategy made in this process


def _slurm_tasks() -> int:
    """The number of tasks of the current Slurm job step (0 outside Slurm's srun)."""
    if "SLURM_PROCID" not in os.environ:
        return 0
    try:
        return int(os.environ.get("SLURM_STEP_NUM_TASKS", "0"))
    except ValueError:
        return 0


def slurm_port_base() -> int:
    """The first port of this job's workers on each node: ``CNNKIT_PORT_BASE``, else one derived from
    ``SLURM_JOB_ID`` (15000-54999, a block of 8 ports per job), else 8888 (TensorFlow's default)."""
    if os.environ.get("CNNKIT_PORT_BASE"):
        return int(os.environ["CNNKIT_PORT_BASE"])
    job = os.environ.get("SLURM_JOB_ID", "")
    return 15000 + (int(job) % 5000) * 8 if job.isdigit() else 8888


def tasks_per_node(spec: str) -> list[int]:
    """Slurm's tasks per node, one number a node: ``"2(x3),1"`` -> ``[2, 2, 2, 1]`` (the format of
    ``SLURM_STEP_TASKS_PER_NODE``; what TensorFlow's private ``expand_tasks_per_node`` reads).

    Example:
        >>> tasks_per_node("2(x3),1")
        [2, 2, 2, 1]
    """
    out: list[int] = []
    for part in str(spec).split(","):
        m = re.fullmatch(r"\s*(\d+)(?:\(x(\d+)\))?\s*", part)
        if not m:
            raise ValueError(f"SLURM_STEP_TASKS_PER_NODE: {spec!r} is not Slurm's tasks-per-node format (e.g. 2(x3),1).")
        out += [int(m.group(1))] * int(m.group(2) or 1)
    return out


def slurm_cluster_resolver() -> Any:
    """A ``SlurmClusterResolver`` for this job step. On nodes without GPUs (no ``SLURM_GPUS_ON_NODE``
    or ``CUDA_VISIBLE_DEVICES``) TensorFlow's resolver would ask ``nvidia-smi`` and then allot no task
    at all; there every task gets a nominal device of its own and no GPU is assigned."""
    import tensorflow as tf

    port = slurm_port_base()
    gpus = os.environ.get("SLURM_GPUS_ON_NODE") or os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus:
        return tf.distribute.cluster_resolver.SlurmClusterResolver(port_base=port)
    per_node = max(tasks_per_node(os.environ.get("SLURM_STEP_TASKS_PER_NODE", "1")))
    return tf.distribute.cluster_resolver.SlurmClusterResolver(
        port_base=port, gpus_per_node=per_node, gpus_per_task=1, auto_set_gpu=False)


def cluster_source() -> str | None:
    """Where a multi-worker cluster comes from here: ``"TF_CONFIG"``, ``"slurm"`` or ``None``."""
    if os.environ.get("TF_CONFIG"):
        return "TF_CONFIG"
    if _slurm_tasks() > 1:
        return "slurm"
    return None


def _check_tf_config() -> None:
    try:
        cfg = json.loads(os.environ["TF_CONFIG"])
        workers = cfg["cluster"]["worker"]
        task = cfg["task"]
        assert isinstance(workers, list) and task["type"] in ("worker", "chief") and int(task["index"]) >= 0
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ValueError(
            f"{caller()}(): the environment variable TF_CONFIG is not a valid cluster description: "
            f"{os.environ['TF_CONFIG'][:200]!r}. Expected e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}.'
        ) from None


@public
def distribution_strategy(strategy: Any = "mirrored") -> Any:
    """The ``tf.distribute`` strategy that ``strategy`` names here (see the module notes).

    Args:
        strategy: ``None`` (no strategy), ``"mirrored"`` or a ``tf.distribute.Strategy`` (returned as
            it is).

    Returns:
        ``None``, ``MultiWorkerMirroredStrategy`` (``TF_CONFIG`` or a multi-task Slurm step) or
        ``MirroredStrategy``; made once per process.

    Example:
        >>> import cnnkit
        >>> strategy = cnnkit.distribution_strategy("mirrored")  # first thing in a multi-worker script
        >>> strategy.num_replicas_in_sync  # one per GPU; 1 on a CPU-only machine
        1
    """
    import tensorflow as tf

    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    v.choice(strategy, "strategy", choices=STRATEGIES)
    if strategy in _CREATED:
        return _CREATED[strategy]
    source = cluster_source()
    if source is None:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        made = tf.distribute.MirroredStrategy(devices)
    else:
        if source == "TF_CONFIG":
            _check_tf_config()
        resolver = slurm_cluster_resolver() if source == "slurm" else None
        try:
            made = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        except RuntimeError as e:
            if COLLECTIVE_STARTUP not in str(e):
                raise
            raise RuntimeError(
                f"{caller()}(): `strategy`='mirrored' with a cluster from {source} trains on several workers "
                "(MultiWorkerMirroredStrategy), which TensorFlow can only set up before it runs anything, "
                "and this process has already built a model or run TensorFlow. Create the strategy first "
                "thing in the script: " + code("cnnkit.distribution_strategy('mirrored') right after `import cnnkit`",
                                               'distribution_strategy("mirrored") right after library(cnnkit)') + "; "
                "`cnnkit train --strategy mirrored` does it for you.") from None
    _CREATED[strategy] = made
    return made


def is_multi_worker(strategy: Any) -> bool:
    """True for a strategy whose replicas span several processes (MultiWorkerMirroredStrategy with
    more than one worker)."""
    if strategy is None:
        return False
    return keras_compat.in_multi_worker_mode(strategy)


def worker(strategy: Any) -> tuple[int, int]:
    """``(index, count)`` of this process among the workers (``(0, 1)`` without several workers)."""
    if not is_multi_worker(strategy):
        return 0, 1
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    order = [(t, i) for t in ("chief", "worker") for i in range(len(spec.get(t, [])))]
    return order.index((resolver.task_type, int(resolver.task_id))), len(order)


def is_chief(strategy: Any) -> bool:
    """True where this process writes files: always, unless it is a non-chief worker of several."""
    return not is_multi_worker(strategy) or bool(strategy.extended.should_checkpoint)


# --- Keras 3 under MultiWorkerMirroredStrategy -----------------------------------------------------

@contextlib.contextmanager
def keras_multi_worker_fixes(model: keras.Model, strategy: Any) -> Iterator[None]:
    """For one ``fit()`` of ``model`` under a multi-worker ``strategy``: Keras' symbolic build with a
    local batch, and its per-step metric reduction averaging scalars across workers
    (:func:`cnnkit.keras_compat.multi_worker_fixes`); nothing under any other strategy."""
    if not is_multi_worker(strategy):
        yield
        return
    with keras_compat.multi_worker_fixes(model):
        yield


def broadcast_from_chief(model: keras.Model, strategy: Any, epoch: int | None = None) -> int | None:
    """Give every worker the chief's weights, optimizer state and (if given) epoch: one all-reduce in
    which only the chief's first replica contributes. Needed where workers may differ: after the chief
    alone restored a backup, when each worker built its model from its own random start, and at the
    end (BatchNormalization's moving statistics are updated from each worker's own batches)."""
    import tensorflow as tf

    variables = list(model.variables)
    if model.optimizer is not None and model.optimizer.built:
        variables += [x for x in model.optimizer.variables if all(x is not y for y in variables)]
    extra = [float(epoch or 0)] if epoch is not None else []

    @tf.function
    def step():
        ctx = tf.distribute.get_replica_context()
        first = tf.equal(ctx.replica_id_in_sync_group, 0)
        own = [tf.identity(x.value) for x in variables] + [tf.constant(e, tf.float64) for e in extra]
        # integers (the optimizer's step count) travel as float64, exact up to 2**53
        own = [tf.cast(t, tf.float64) if t.dtype.is_integer or t.dtype == tf.bool else t for t in own]
        masked = [tf.where(first, t, tf.zeros_like(t)) for t in own]
        out: list[Any] = [None] * len(masked)
        for dtype in {t.dtype for t in masked}:  # one all-reduce per dtype: it packs its tensors together
            idx = [i for i, t in enumerate(masked) if t.dtype == dtype]
            for i, t in zip(idx, ctx.all_reduce(tf.distribute.ReduceOp.SUM, [masked[i] for i in idx])):
                out[i] = t
        return out

    summed = strategy.experimental_local_results(strategy.run(step))[0]
    for var, value in zip(variables, summed):
        var.assign(tf.cast(value, var.dtype))
    return int(summed[-1].numpy()) if extra else None


class ChiefState(keras.callbacks.Callback):
    """At the start of training under a multi-worker strategy: every worker takes the chief's state
    (weights, optimizer, epoch reached), whatever the chief restored from its backup."""

    def __init__(self, strategy: Any):
        super().__init__()
        self.strategy = strategy

    def on_train_begin(self, logs: dict | None = None) -> None:
        epoch = broadcast_from_chief(self.model, self.strategy, epoch=initial_epoch(self.model) or 0)
        set_initial_epoch(self.model, epoch or None)


def describe(strategy: Any) -> str:
    """One line: the strategy, its replicas and this process's place among the workers."""
    if strategy is None:
        return "no distribution strategy"
    index, count = worker(strategy)
    where = f"; worker {index} of {count}{' (chief)' if is_chief(strategy) else ''}" if count > 1 else ""
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s){where}"


def task_label(strategy: Any) -> str:
    """``"worker 1 of 2"``: for messages of non-chief workers."""
    index, count = worker(strategy)
    return f"worker {index} of {count}"

