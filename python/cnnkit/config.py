"""The set-up doctor: what cnnkit runs on, and whether it fits together, in plain words on one screen.

``cnnkit.config()`` (Python), ``cnnkit doctor`` (the command line) and ``cnnkit_config()`` (R, which
adds R's side: R, reticulate, which Python and why) show the same report, as
``reticulate::py_config()`` and ``tensorflow::tf_config()`` do for theirs: the versions of Python,
TensorFlow, Keras and NumPy and whether Keras really builds a model with them; the CPU's vector and
matrix units (AVX-512, AVX512_BF16, AMX) and the GPUs TensorFlow sees; what ``precision="auto"``
picks here (asked of :mod:`cnnkit.precision`); the Keras cache and which backbones' ImageNet weights
are in it (:mod:`cnnkit.backbones`); the limits in force (:mod:`cnnkit.limits`).

A doctor reports what it finds: a missing or broken package is a line of the report (and one of its
``problems``), never an exception. TensorFlow is imported through cnnkit's filter, so its start-up
log lines stay out of the report.

Example:
    >>> report = config()
    >>> report.ok, "Keras" in str(report)
    (True, True)
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ._context import public

# Where each package's version is read (the first distribution that is installed): TensorFlow comes
# as several distributions of one module.
DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"),
                 "keras": ("keras",), "numpy": ("numpy",)}
CPU_FLAGS = (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX512_BF16"),
             ("avx512_vnni", "AVX512_VNNI"), ("amx_bf16", "AMX-BF16"), ("amx_tile", "AMX"))


@dataclass
class Config:
    """The doctor's report: ``str()`` (and ``print()``) gives the screen, the attributes the facts.

    Attributes:
        sections: ``(title, text)`` rows in the order shown.
        problems: one sentence per thing that stops cnnkit (or a part of it) from working here.
        facts: the same findings as plain values (versions, CPU flags, GPUs, cache, limits).
    """

    sections: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """``True`` when nothing stops cnnkit from building and training models here."""
        return not self.problems

    def add(self, title: str, text: str, problem: str | None = None, at: int | None = None) -> "Config":
        """Add a row (and a problem, if any): at the end, or at position ``at`` (0: the top). Returns
        the report (R's ``cnnkit_config()`` adds its own rows this way)."""
        self.sections.insert(len(self.sections) if at is None else int(at), (title, text))
        if problem:
            self.problems.append(problem)
        return self

    def __str__(self) -> str:
        width = max([len(t) for t, _ in self.sections] + [8]) + 2
        lines = [f"cnnkit {self.facts.get('cnnkit', '')} set-up".rstrip()]
        for title, text in self.sections:
            body = text.splitlines() or [""]
            lines.append(f"{title:<{width}}{body[0]}")
            lines.extend(f"{'':<{width}}{more}" for more in body[1:])
        if self.problems:
            lines.append("Problems:")
            lines.extend(f"  - {p}" for p in self.problems)
        else:
            lines.append("Verdict: cnnkit can build and train models here.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def installed_version(module: str) -> str | None:
    """The installed version of ``module``'s distribution (without importing it), or ``None``."""
    for dist in DISTRIBUTIONS.get(module, (module,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict[str, str | None]:
    """``{module: version or None}`` for TensorFlow, Keras and NumPy, found without importing them;
    ``None`` where the module cannot be imported at all. (R's first call asks this.)

    Example:
        >>> sorted(versions())
        ['keras', 'numpy', 'tensorflow']
    """
    out: dict[str, str | None] = {}
    for module in DISTRIBUTIONS:
        # PathFinder, not importlib.util.find_spec: that would use up cnnkit's one-shot import hook
        # (cnnkit._quiet), and TensorFlow's start-up lines would reach the console
        found = module in sys.modules or importlib.machinery.PathFinder.find_spec(module) is not None
        out[module] = (installed_version(module) or "unknown version") if found else None
    return out


def missing_message(missing: list[str], python: str = sys.executable) -> str:
    """The sentence for packages cnnkit needs that this Python lacks."""
    names = " and ".join(", ".join(missing).rsplit(", ", 1))
    return (f"this Python ({python}) has no {names}, which cnnkit needs: pip install "
            f"\"cnnkit\" (or: pip install tensorflow keras) into it, or use a Python that has them.")


def build_check() -> str | None:
    """Build and run a one-layer Keras model: ``None`` where that works, else why not (one line)."""
    try:
        import keras

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.predict(__import__("numpy").zeros((1, 4), "float32"), verbose=0)
    except Exception as e:  # noqa: BLE001 - the doctor reports any failure
        first = (str(e).strip().splitlines() or [""])[0]
        return f"Keras cannot build a model here: {type(e).__name__}: {first}"
    return None


def _python_rows(report: Config) -> None:
    found = versions()
    report.facts.update(python=sys.executable, python_version=platform.python_version(), versions=found)
    report.add("Python", f"{platform.python_version()}  {sys.executable}")
    text = ", ".join(f"{name} {found[key] or 'MISSING'}" for name, key in
                     (("TensorFlow", "tensorflow"), ("Keras", "keras"), ("NumPy", "numpy")))
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    report.add("Packages", f"{text}; Keras backend {backend}")
    missing = [name for name, key in (("TensorFlow", "tensorflow"), ("Keras", "keras"), ("NumPy", "numpy"))
               if found[key] is None]
    if missing:
        report.add("Together", "no: missing packages", missing_message(missing))
        return
    started = time.perf_counter()
    problem = build_check()
    report.facts["builds_model"] = problem is None
    if problem:
        report.add("Together", "no", problem)
        return
    text = f"yes: Keras built and ran a model ({time.perf_counter() - started:.1f} s, TensorFlow included)"
    untested = _untested(found)
    report.add("Together", text + (f"\n{untested}" if untested else ""))


def _untested(found: dict[str, str | None]) -> str:
    """A note where TensorFlow or Keras is a release cnnkit's tests have not run on."""
    try:
        from .keras_compat import TESTED
    except Exception:  # noqa: BLE001 - keras_compat imports Keras; reported by build_check
        return ""
    notes = [f"{m} {found[m]} (tested: {', '.join(TESTED[m])})" for m in TESTED
             if found.get(m) and not any(str(found[m]).startswith(t + ".") or found[m] == t for t in TESTED[m])]
    return f"not a tested release: {', '.join(notes)}" if notes else ""


def cpu_facts(cpuinfo: str = "/proc/cpuinfo") -> dict[str, Any]:
    """The CPU's model name, logical cores and the flags that decide speed here (``lscpu`` style).

    Example:
        >>> sorted(cpu_facts())
        ['cores', 'flags', 'model']
    """
    model, flags = platform.processor() or platform.machine(), set[str]()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count() or 1,
            "flags": {label: flag in flags for flag, label in CPU_FLAGS}}


def _cpu_rows(report: Config) -> None:
    cpu = cpu_facts()
    report.facts["cpu"] = cpu
    has = ", ".join(f"{label} {'yes' if on else 'no'}" for label, on in cpu["flags"].items())
    report.add("CPU", f"{cpu['model']}, {cpu['cores']} logical cores\n{has}")


def _gpu_rows(report: Config) -> None:
    from ._quiet import nvidia_driver_present

    gpus: list[dict[str, Any]] = []
    try:
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            gpus.append({"name": details.get("device_name", gpu.name),
                         "compute_capability": details.get("compute_capability")})
    except Exception as e:  # noqa: BLE001 - no TensorFlow: reported under Packages
        report.facts["gpus"] = []
        report.add("GPUs", f"not known (TensorFlow does not load: {type(e).__name__})")
        return
    report.facts["gpus"] = gpus
    if gpus:
        text = "; ".join(f"{g['name']} (compute capability {'.'.join(map(str, g['compute_capability'] or ()))})"
                         for g in gpus)
    else:
        text = "none seen by TensorFlow" + ("" if nvidia_driver_present() else " (no NVIDIA driver)")
    report.add("GPUs", text)


def _precision_rows(report: Config) -> None:
    try:
        from .precision import AUTO_MIXED_MIN_FLOPS, fast_bfloat16

        fast = fast_bfloat16()
    except Exception:  # noqa: BLE001 - needs Keras and TensorFlow (reported above)
        report.add("precision", '"auto": not known (needs Keras and TensorFlow)')
        return
    report.facts["fast_bfloat16"] = fast
    big = f"models with >= {AUTO_MIXED_MIN_FLOPS / 1e6:g}M convolution multiply-adds per image"
    if fast == "gpu":  # each line fits the report's 130 columns (tests/python/test_config.py)
        text = f'"auto" picks mixed_bfloat16 for {big}\n(a GPU of compute capability 8.0+), float32 otherwise'
    elif fast == "cpu":
        text = f'"auto" picks mixed_bfloat16 for {big}\nwithout depthwise convolutions (AMX-BF16 CPU), float32 otherwise'
    else:
        text = '"auto" picks float32: no AMX-BF16 CPU and no GPU of compute capability 8.0+ (bfloat16 is no faster)'
    report.add("precision", text)


def _cache_rows(report: Config) -> None:
    from ._files import keras_home

    try:
        from .backbones import cache_dir, list_backbones

        folder, rows = cache_dir(), list_backbones()
    except Exception:  # noqa: BLE001 - the registry needs Keras: show the folder only
        folder, rows = str(keras_home("models", writable=False)), []
    cached = [r["name"] for r in rows if r["cached"]]
    report.facts.update(keras_cache=folder, cached_weights=cached)
    if not rows:
        report.add("Keras cache", f"{folder} (backbones not known without Keras)")
        return
    have = ", ".join(cached) if cached else "none"
    report.add("Keras cache", f"{folder}\nImageNet weights here for {len(cached)} of {len(rows)} backbones: {have}")


def _amount(name: str, value: int) -> str:
    if value >= 2 ** 62:
        return "none"
    if name.endswith(("_bytes", "_cache")) and value >= 1 << 20:
        return f"{value / (1 << 30):g} GiB" if value >= 1 << 30 else f"{value / (1 << 20):g} MiB"
    return f"{value:,}"


def _limit_rows(report: Config) -> None:
    from .limits import limits

    try:
        now = limits()
    except ValueError as e:
        report.add("limits", "a limit's environment variable is not a number", str(e))
        return
    report.facts["limits"] = {name: v["value"] for name, v in now.items()}
    cells = [f"{n} {_amount(n, v['value'])}" + (f" ({v['env']})" if v["value"] != v["default"] else "")
             for n, v in now.items()]
    changed = sum(v["value"] != v["default"] for v in now.values())
    half = (len(cells) + 1) // 2
    head = "defaults" if not changed else f"{changed} changed by environment variable"
    report.add("limits", f"{', '.join(cells[:half])},\n{', '.join(cells[half:])} ({head}; cnnkit.limits())")


@public
def config() -> Config:
    """The set-up doctor: versions, whether they work together, CPU and GPUs, what ``precision="auto"``
    picks, the Keras cache and the limits in force, in plain words (``print()`` it).

    Returns:
        A :class:`Config`: ``str()`` is the report (one screen), ``problems`` lists what stops cnnkit
        here (empty: all is well, ``ok`` is ``True``), ``facts`` holds the findings as values.

    Example:
        >>> print(config())
        cnnkit ... set-up
        Python ...
        ...
        Verdict: cnnkit can build and train models here.
    """
    from . import __version__

    report = Config(facts={"cnnkit": __version__})
    _python_rows(report)
    _cpu_rows(report)
    _gpu_rows(report)
    _precision_rows(report)
    _cache_rows(report)
    _limit_rows(report)
    return report
