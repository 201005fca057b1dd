"""Real multi-worker runs on this machine: worker processes on 127.0.0.1, ports chosen free by the
test, each worker in a folder of its own, every process bounded in time."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import r_env

CNNKIT = [sys.executable, "-m", "cnnkit"]


def free_ports(n: int, consecutive: bool = False) -> list[int]:
    """``n`` ports nobody listens on now (``consecutive``: a block, as Slurm's port base + task index)."""
    for _ in range(200):
        socks = []
        try:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            base = s.getsockname()[1]
            for i in range(1, n):
                t = socket.socket()
                t.bind(("127.0.0.1", base + i if consecutive else 0))
                socks.append(t)
            return [t.getsockname()[1] for t in socks]
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free ports")


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


class Worker:
    """One worker process; its output collected by a thread (so that a full pipe never blocks it)."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str]):
        cwd.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")),
                                       daemon=True)
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"worker did not finish within {timeout} s:\n{self.output}") from None
        self.reader.join(timeout=10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=10)


def worker_env(extra: dict[str, str] | None = None, r: bool = False) -> dict[str, str]:
    env = r_env() if r else dict(os.environ)
    env.pop("TF_CONFIG", None)
    env.update(OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    env.update(extra or {})
    return env


def start(cmd: list[str], folders: list[Path], envs: list[dict[str, str]]) -> list[Worker]:
    return [Worker(cmd, cwd, env) for cwd, env in zip(folders, envs)]


def wait_all(workers: list[Worker], timeout: float) -> list[int]:
    deadline = time.time() + timeout
    try:
        return [w.wait(max(1.0, deadline - time.time())) for w in workers]
    finally:
        for w in workers:
            w.kill()


def rscript(script: str) -> list[str]:
    return ["Rscript", "--vanilla", "-e", script]

