"""Keep TensorFlow's start-up log lines out of the user's console (Python, R, Quarto).

TensorFlow 2.21 writes absl lines such as "oneDNN custom operations are on" straight to file
descriptor 2 while it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. We capture fd 2 during the
import only, drop the lines known to be noise and write everything else back, so a real error or
warning is never lost. Set ``CNNKIT_VERBOSE_TF=1`` to see everything.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
    r"cpu_feature_guard|To enable the following instructions|rebuild TensorFlow with the appropriate|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|Could not find cuda drivers|cuda_executor|This TensorFlow binary is optimized"
)


def quiet_environment() -> None:
    """Set the environment variables that must be in place before TensorFlow starts."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_backend_quietly() -> None:
    """Import TensorFlow with its start-up noise filtered out of stderr (idempotent)."""
    quiet_environment()
    if "tensorflow" in sys.modules or os.environ.get("CNNKIT_VERBOSE_TF") == "1":
        return
    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some notebook front ends): nothing to filter
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode("utf-8", "replace").splitlines()
                    if line.strip() and not NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()
