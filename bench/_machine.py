"""What the benchmark scripts print about the machine they ran on."""

from __future__ import annotations

import os
import platform


def machine() -> str:
    """``node, CPU model, cores, OS release`` for a results table's header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.node()}, {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
