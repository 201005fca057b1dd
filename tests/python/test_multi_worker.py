"""Multi-worker training that really runs: real worker processes on 127.0.0.1 (free ports chosen
here), each in a folder of its own, through the CLI, the Python API and R; the cluster from
TF_CONFIG or from Slurm's variables; a worker killed with SIGKILL and the job started again."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from cluster import CNNKIT, free_ports, rscript, start, tf_config, wait_all, worker_env

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

CHIEF_FILES = {"run.json", "history.csv", "model.weights.h5", "model.keras", "history.png", "confusion_matrix.png",
               "metrics.json"}
TIMEOUT = 240


def _folders(tmp_path: Path, n: int = 2) -> list[Path]:
    return [tmp_path / f"worker{i}" for i in range(n)]


def _tf_envs(n: int = 2, r: bool = False) -> list[dict[str, str]]:
    ports = free_ports(n)
    return [worker_env({"TF_CONFIG": tf_config(ports, i)}, r=r) for i in range(n)]


def _history(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


def test_cli_two_workers_train_and_only_the_chief_writes(tmp_path):
    folders = _folders(tmp_path)
    cmd = CNNKIT + ["train", "--strategy", "mirrored", "--subset", "1000", "--epochs", "2", "--run-dir", "run"]
    workers = start(cmd, folders, _tf_envs())
    codes = wait_all(workers, TIMEOUT)
    out = [w.output for w in workers]
    assert codes == [0, 0], out
    run = folders[0] / "run"
    assert CHIEF_FILES <= {p.name for p in run.iterdir()}, out[0]
    assert not (run / "backup").exists() and not (run / ".lock").exists()
    assert not (folders[1] / "run").exists(), "the non-chief worker wrote a run directory"
    assert list(folders[1].iterdir()) == [], "the non-chief worker wrote files"
    assert [r["epoch"] for r in _history(run / "history.csv")] == ["1", "2"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.5 < metrics["accuracy"] <= 1  # trained, not chance (10 classes)
    assert "test accuracy" in out[0] and "per-class" not in out[1] and "test accuracy" not in out[1]
    assert "worker 1 of 2 finished training" in out[1]
    assert "Epoch" not in out[1]  # no duplicate progress from the non-chief worker
    assert "Traceback" not in out[0] + out[1]
    stamp = (run / "model.keras").stat().st_mtime_ns
    again = start(cmd, folders, _tf_envs())  # the same job again: finished, so nothing to do on any worker
    assert wait_all(again, TIMEOUT) == [0, 0], [w.output for w in again]
    assert "holds a finished run" in again[0].output and "nothing to do" in again[0].output
    assert (run / "model.keras").stat().st_mtime_ns == stamp
    assert list(folders[1].iterdir()) == []


PY_WORKER = r"""
import sys, json
import cnnkit
strategy = cnnkit.distribution_strategy("mirrored")   # first thing, as the docs say
import numpy as np
d = cnnkit.load_fashion_mnist(n=600, seed=0)
model = cnnkit.fashion_cnn()            # each worker starts from its own random weights
h = cnnkit.fit_classifier(model, (d["x_train"], d["y_train"]), epochs=2, batch_size=64, strategy="mirrored",
                          run_dir="run", verbose=0)
w = model.get_weights()
np.save("../weights%s.npy" % sys.argv[1], np.concatenate([x.ravel() for x in w]))
print("RESULT", json.dumps({"epochs": h["epoch"], "replicas": strategy.num_replicas_in_sync,
                            "worker": cnnkit.distribute.worker(strategy)}))
"""


def test_python_api_workers_end_with_identical_weights(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(PY_WORKER)
    folders = _folders(tmp_path)
    workers = [start([CNNKIT[0], str(script), str(i)], [f], [env])[0]
               for i, (f, env) in enumerate(zip(folders, _tf_envs()))]
    codes = wait_all(workers, TIMEOUT)
    assert codes == [0, 0], [w.output for w in workers]
    results = [json.loads(w.output.split("RESULT ", 1)[1].splitlines()[0]) for w in workers]
    assert [r["replicas"] for r in results] == [2, 2]
    assert [r["worker"] for r in results] == [[0, 2], [1, 2]]
    assert all(r["epochs"] == [1, 2] for r in results)
    w0, w1 = (np.load(tmp_path / f"weights{i}.npy") for i in range(2))
    np.testing.assert_array_equal(w0, w1)  # synchronous training, BatchNorm statistics included
    assert {"run.json", "history.csv", "model.weights.h5"} <= {p.name for p in (folders[0] / "run").iterdir()}
    assert not (folders[1] / "run").exists()


R_WORKER = r"""
library(cnnkit)
distribution_strategy("mirrored")              # first thing, before any model
fm <- load_fashion_mnist(n = 600)               # factor labels
model <- fashion_cnn()
h <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 2, batch_size = 64,
                    strategy = "mirrored", run_dir = "run", verbose = 0)
w <- unlist(lapply(model$get_weights(), as.numeric))
cat("EPOCHS", h$epoch, "\n")
cat("CHECKSUM", sprintf("%.10f", sum(w * seq_along(w) %% 7)), "\n")
cat("CLASSES", as.character(predict_classes(model, fm$x_train[1:2, , , , drop = FALSE])$label), "\n", sep = "|")
"""


def test_r_workers_train_together_from_rscript(tmp_path):
    folders = _folders(tmp_path)
    workers = start(rscript(R_WORKER), folders, _tf_envs(r=True))
    codes = wait_all(workers, TIMEOUT)
    out = [w.output for w in workers]
    assert codes == [0, 0], out
    for o in out:
        assert "EPOCHS 1 2" in o, o
    sums = [o.split("CHECKSUM ", 1)[1].split()[0] for o in out]
    assert sums[0] == sums[1], out  # identical weights on both workers
    labels = out[0].split("CLASSES|", 1)[1].split("|")[:2]
    assert set(labels) <= set(FASHION), labels  # the factor's levels, remembered as the model's class names
    assert {"run.json", "history.csv", "model.weights.h5"} <= {p.name for p in (folders[0] / "run").iterdir()}
    assert not (folders[1] / "run").exists()


LATE = r"""
import cnnkit
m = cnnkit.simple_cnn()                 # TensorFlow has run: too late for a multi-worker strategy
try:
    cnnkit.fit_classifier(m, (__import__("numpy").zeros((4, 32, 32, 3)), [0, 1, 0, 1]), epochs=1,
                          strategy="mirrored")
except RuntimeError as e:
    print("ERROR", e)
"""


def test_strategy_after_tensorflow_ran_is_a_clear_error(tmp_path):
    script = tmp_path / "late.py"
    script.write_text(LATE)
    w = start([CNNKIT[0], str(script)], [tmp_path], [_tf_envs()[0]])[0]
    assert wait_all([w], 120) == [0], w.output
    assert "ERROR fit_classifier(): `strategy`='mirrored'" in w.output
    assert "distribution_strategy('mirrored') right after `import cnnkit`" in w.output
    assert "Collective ops" not in w.output


def test_r_strategy_after_a_model_is_a_clear_error(tmp_path):
    script = ('library(cnnkit); m <- simple_cnn(); '
              'r <- tryCatch(fit_classifier(m, list(array(0, c(4, 32, 32, 3)), c(0, 1, 0, 1)), epochs = 1, '
              'strategy = "mirrored"), error = function(e) conditionMessage(e)); cat("ERROR", r, "\\n")')
    w = start(rscript(script), [tmp_path], [_tf_envs(r=True)[0]])[0]
    assert wait_all([w], 120) == [0], w.output
    assert 'distribution_strategy("mirrored") right after library(cnnkit)' in w.output, w.output


def test_bad_tf_config_is_a_clear_error(tmp_path):
    env = worker_env({"TF_CONFIG": "{not json"})
    w = start(CNNKIT + ["train", "--strategy", "mirrored", "--subset", "100", "--epochs", "1"], [tmp_path], [env])[0]
    assert wait_all([w], 120) == [2], w.output
    assert "TF_CONFIG is not a valid cluster description" in w.output and "Traceback" not in w.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_killed_worker_then_the_job_resumes_from_the_last_epoch(tmp_path):
    folders = _folders(tmp_path)
    envs = _tf_envs()
    cmd = CNNKIT + ["train", "--strategy", "mirrored", "--subset", "6000", "--epochs", "4", "--batch-size", "64",
                    "--run-dir", "run", "--precision", "float32"]
    run = folders[0] / "run"
    workers = start(cmd, folders, envs)
    deadline = time.time() + TIMEOUT
    meta = run / "backup" / "training_metadata.json"
    while time.time() < deadline and not meta.exists():
        assert all(w.proc.poll() is None for w in workers), [w.output for w in workers]
        time.sleep(0.1)
    assert meta.exists(), [w.output for w in workers]
    workers[1].kill()  # SIGKILL a worker mid-training (epoch 2 under way)
    try:
        workers[0].proc.wait(timeout=90)  # the chief notices the lost peer and stops, or is stopped
    except Exception:  # noqa: BLE001
        pass
    workers[0].kill()
    first = [w.output for w in workers]
    done = json.loads(meta.read_text())["epoch"]
    assert 1 <= done < 4, first
    rows_before = _history(run / "history.csv")
    assert len(rows_before) >= done
    assert not (run / "metrics.json").exists() and not (run / "model.keras").exists()
    assert "Traceback" not in first[0]

    workers = start(cmd, folders, envs)  # the same command again, on every worker
    codes = wait_all(workers, TIMEOUT)
    out = [w.output for w in workers]
    assert codes == [0, 0], out
    rows = _history(run / "history.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[:done] == rows_before[:done]  # the completed epochs are kept, not re-run
    assert f"Epoch {done + 1}/4" in out[0] and "Epoch 1/4" not in out[0]
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 4
    assert not (folders[1] / "run").exists()


SLURM_CHECK = r"""
import json, cnnkit.distribute as d
r = d.slurm_cluster_resolver()
print(json.dumps({"spec": r.cluster_spec().as_dict(), "task": [r.task_type, r.task_id],
                  "source": d.cluster_source(), "cuda": __import__("os").environ.get("CUDA_VISIBLE_DEVICES")}))
"""


def _slurm_env(tmp_path: Path, procid: int, nodelist: str, tasks_per_node: str, ntasks: int,
               extra: dict | None = None) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    scontrol = bin_dir / "scontrol"  # a stand-in, as on a cluster's nodes
    scontrol.write_text("#!/bin/sh\n[ \"$1 $2\" = \"show hostnames\" ] && echo \"$3\" | tr ',' '\\n'\n")
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IEXEC)
    env = worker_env({"SLURM_PROCID": str(procid), "SLURM_STEP_NUM_TASKS": str(ntasks), "SLURM_NTASKS": str(ntasks),
                      "SLURM_STEP_NODELIST": nodelist, "SLURM_STEP_TASKS_PER_NODE": tasks_per_node,
                      "SLURM_JOB_ID": "4242", "PATH": f"{bin_dir}:{os.environ['PATH']}", **(extra or {})})
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.pop("SLURM_GPUS_ON_NODE", None)
    return env


@pytest.mark.parametrize("nodelist,tasks,procid,expect_task", [
    ("node[01-02]", "2(x2)", 3, 3),
    ("gpu7", "1", 0, 0),
])
def test_slurm_variables_map_to_the_cluster(tmp_path, nodelist, tasks, procid, expect_task):
    import subprocess
    import sys

    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import expand_tasks_per_node

    n = sum(expand_tasks_per_node(tasks))
    env = _slurm_env(tmp_path, procid, nodelist, tasks, n)
    proc = subprocess.run([sys.executable, "-c", SLURM_CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    base = 15000 + 4242 % 5000 * 8  # from SLURM_JOB_ID: jobs sharing a node do not collide
    if nodelist == "gpu7":
        assert r["spec"] == {"worker": [f"gpu7:{base}"]}
        assert r["source"] is None  # one task: no cluster to form
    else:
        assert r["spec"] == {"worker": [f"node01:{base}", f"node01:{base + 1}", f"node02:{base}", f"node02:{base + 1}"]}
        assert r["source"] == "slurm"
    assert r["task"] == ["worker", expect_task]
    assert r["cuda"] is None  # a CPU node: no GPU assigned, and nvidia-smi never asked


def test_slurm_step_with_two_tasks_trains_without_tf_config(tmp_path):
    base = free_ports(2, consecutive=True)[0]
    folders = _folders(tmp_path)
    envs = [_slurm_env(tmp_path, i, "localhost", "2", 2, {"CNNKIT_PORT_BASE": str(base)}) for i in range(2)]
    cmd = CNNKIT + ["train", "--strategy", "mirrored", "--subset", "500", "--epochs", "1", "--run-dir", "run"]
    workers = start(cmd, folders, envs)
    codes = wait_all(workers, TIMEOUT)
    out = [w.output for w in workers]
    assert codes == [0, 0], out
    assert "worker 1 of 2 finished training" in out[1]
    assert CHIEF_FILES <= {p.name for p in (folders[0] / "run").iterdir()}
    assert not (folders[1] / "run").exists()
