"""Keep TensorFlow's start-up log lines out of the user's console (Python, R, Quarto, the CLI).

TensorFlow 2.21 writes absl lines such as "oneDNN custom operations are on" straight to file
descriptor 2 while it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. We capture fd 2 during the
import only, drop the lines known to be noise and write everything else back, so a real error or
warning is never lost. Set ``CNNKIT_VERBOSE_TF=1`` to see everything.

``import cnnkit`` itself does not import TensorFlow (``cnnkit --help`` answers at once): it installs
an import hook, and whichever comes first -- a cnnkit function, ``import keras`` or ``import
tensorflow`` -- loads TensorFlow through this filter.

On a machine without an NVIDIA driver, the full ``tensorflow`` build (the one ``pip install
tensorflow`` gives on Linux, which can use a GPU) logs ``failed call to cuInit`` as an *error* the
first time it looks for devices, after the import. There it means nothing (no GPU, none expected),
so on such a machine the devices are listed once inside the same filter and that line is dropped
too. Where a driver is present, a failing ``cuInit`` is a real problem and is shown.
"""

from __future__ import annotations

import importlib.abc
import logging
import os
import re
import sys
import tempfile
from typing import Any, Callable

NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
    r"cpu_feature_guard|To enable the following instructions|rebuild TensorFlow with the appropriate|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|Could not find cuda drivers|cuda_executor|This TensorFlow binary is optimized"
)
# Noise only where no NVIDIA driver is installed (see the module notes).
NO_DRIVER_NOISE = re.compile(r"failed call to cuInit")
BACKEND_MODULES = ("tensorflow", "keras")


def quiet_environment() -> None:
    """Set the environment variables that must be in place before TensorFlow starts, and drop
    TensorFlow's retracing warning (:class:`RetracingNoise`)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logger = logging.getLogger("tensorflow")  # TensorFlow's Python logger (tf.get_logger()), made now or later
    if not any(isinstance(f, RetracingNoise) for f in logger.filters):
        logger.addFilter(RetracingNoise())


class RetracingNoise(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <function ...> triggered tf.function
    retracing" warning. Every model cnnkit trains or predicts with gets its own traced functions, so
    comparing a few models in a loop (the workshop's exercises, compare_runs()) trips it, and its
    advice (define the function outside the loop) is not the user's to follow. Other warnings pass."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        return "triggered tf.function retracing" not in record.getMessage()


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver (Linux: ``/proc/driver/nvidia``; elsewhere: assumed)."""
    if not sys.platform.startswith("linux"):
        return True  # TensorFlow has no CUDA build there: nothing to filter, nothing to decide
    return os.path.exists("/proc/driver/nvidia/version")


def keep_lines(text: str, driver: bool, extra: re.Pattern[str] | None = None) -> list[str]:
    """The captured lines that are not noise (``driver``: an NVIDIA driver is installed; ``extra``:
    more lines that are noise where they were captured)."""
    return [line for line in text.splitlines()
            if line.strip() and not NOISE.search(line) and (driver or not NO_DRIVER_NOISE.search(line))
            and not (extra and extra.search(line))]


def _filtered(run: Callable[[], Any], extra: re.Pattern[str] | None = None) -> Any:
    """Run ``run()`` with fd 2 captured; write back what is not noise (``extra``: more noise); return its result."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some notebook front ends): nothing to filter
        return run()
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            return run()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = keep_lines(tmp.read().decode("utf-8", "replace"), nvidia_driver_present(), extra)
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


# What TensorFlow's converters (TFLite's, and the graph optimiser tf2onnx runs) log on every model they
# convert: absl INFO and WARNING lines ("Reading SavedModel from ...", "Ignored output_format") and the
# interpreter's "Created TensorFlow Lite XNNPACK delegate". Errors (E lines) are kept.
CONVERTER_NOISE = re.compile(r"^[IW]\d{4} \d\d:\d\d:\d\d|^INFO: Created TensorFlow Lite")


def converting_quietly(run: Callable[[], Any], *, all_lines: bool = False) -> Any:
    """Run a TensorFlow converter (``run()``) with its routine log lines dropped from fd 2 (see
    ``CONVERTER_NOISE``; ``CNNKIT_VERBOSE_TF=1`` shows them); anything else it writes is kept, unless
    ``all_lines``: a first attempt whose failure is handled (its diagnostics would only alarm)."""
    if os.environ.get("CNNKIT_VERBOSE_TF") == "1":
        return run()
    return _filtered(run, re.compile("") if all_lines else CONVERTER_NOISE)


def _probe_devices() -> None:
    """Where no driver is installed, let TensorFlow look for devices now (inside the filter), so that
    its ``cuInit`` error is logged here rather than at the first model. Listing physical devices
    does not initialise the runtime: a multi-worker strategy can still be created afterwards."""
    if nvidia_driver_present():
        return
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return
    try:
        tf.config.list_physical_devices()
    except Exception:  # noqa: BLE001 - a stand-in module, or a build without devices: nothing to do
        pass


def _wanted() -> bool:
    return os.environ.get("CNNKIT_VERBOSE_TF") != "1" and os.environ.get("KERAS_BACKEND") == "tensorflow"


def import_backend_quietly() -> None:
    """Import TensorFlow with its start-up noise filtered out of stderr (idempotent)."""
    quiet_environment()
    if "tensorflow" in sys.modules or not _wanted():
        return

    def load() -> None:
        import tensorflow  # noqa: F401

        _probe_devices()

    _filtered(load)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` or ``keras`` inside the filter, then steps aside."""

    def __init__(self, loader: Any):
        self.loader = loader

    def create_module(self, spec):  # noqa: D102
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: D102
        spec = module.__spec__
        spec.loader = module.__loader__ = self.loader  # introspection sees the real loader

        def load() -> None:
            self.loader.exec_module(module)
            if "tensorflow" in sys.modules:
                _probe_devices()

        _filtered(load)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """The first import of ``tensorflow`` or ``keras`` (whichever comes first) goes through the filter."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if fullname not in BACKEND_MODULES:
            return None
        remove_import_hook()
        if "tensorflow" in sys.modules or not _wanted():
            return None
        return wrapped_spec(fullname, path, target, _QuietLoader)


def wrapped_spec(fullname: str, path: Any, target: Any, wrap: Callable[[Any], Any]) -> Any:
    """The spec the other finders on ``sys.meta_path`` give for ``fullname``, its loader wrapped by
    ``wrap`` (for a one-shot finder that has already taken itself off the path); ``None`` if none."""
    for finder in list(sys.meta_path):
        find = getattr(finder, "find_spec", None)
        spec = find(fullname, path, target) if find else None
        if spec is not None:
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = wrap(spec.loader)
            return spec
    return None


_HOOK = _QuietFinder()


def install_import_hook() -> None:
    """Filter TensorFlow's start-up lines whenever it is first imported (idempotent)."""
    quiet_environment()
    if "tensorflow" in sys.modules or _HOOK in sys.meta_path:
        return
    sys.meta_path.insert(0, _HOOK)


def remove_import_hook() -> None:
    """Take the hook out again (done by the hook itself once it has been used)."""
    while _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)
