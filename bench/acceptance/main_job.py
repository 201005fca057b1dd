"""Benchmark of the main job: the default `cnnkit train` (fashion_cnn, 8 epochs, one-cycle learning rate,
all 60,000 Fashion-MNIST training images), evaluated on the 10,000 test images.

Target: >= 92 % test accuracy in <= 120 s of training on 2 CPU cores. This is a script that prints
figures, not a timed test: run it on a quiet machine, more than once (timings on a shared machine are
noisy; the load average before and after each run is printed so a disturbed run can be recognised).

    .venv/bin/python bench/acceptance/main_job.py                 # one run, pinned to 2 cores (= make bench)
    .venv/bin/python bench/acceptance/main_job.py --seeds 0 1 2   # several seeds
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2, help="pin the process to this many CPU cores (default: 2)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=None, help="default: the main job's")
    ap.add_argument("--precision", nargs="+", default=["auto"], choices=["auto", "float32", "mixed_bfloat16"],
                    help="one run per seed and precision (e.g. --precision auto float32)")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[: args.cores])  # before TensorFlow starts its thread pools

    import cnnkit
    from cnnkit.job import DEFAULTS

    epochs = args.epochs or DEFAULTS["epochs"]
    print(f"main job: {DEFAULTS['model']}, {epochs} epochs, batch {DEFAULTS['batch_size']}, "
          f"{DEFAULTS['schedule']} schedule, peak learning rate {DEFAULTS['learning_rate']}; "
          f"cores: {sorted(os.sched_getaffinity(0))} of {len(cpus)}", flush=True)
    results = []
    for seed, precision in [(s, p) for s in args.seeds for p in args.precision]:
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as run_dir:
            cpu0 = time.process_time()
            r = cnnkit.train_classifier(epochs=epochs, seed=seed, run_dir=run_dir, verbose=2, precision=precision)
            cpu = time.process_time() - cpu0
        row = {"seed": seed, "precision": precision, "accuracy": round(r["accuracy"], 4),
               "train_seconds": round(r["train_seconds"], 1),
               "cpu_seconds_whole_job": round(cpu, 1), "load_before": round(load_before, 2),
               "load_after": round(os.getloadavg()[0], 2),
               "target_met": r["accuracy"] >= 0.92 and r["train_seconds"] <= 120}
        results.append(row)
        print("RESULT " + json.dumps(row), flush=True)
    ok = all(r["target_met"] for r in results)
    verdict = (f"target (>= 92 % in <= 120 s of training): {'met' if ok else 'NOT met'} in "
               f"{sum(r['target_met'] for r in results)} of {len(results)} run(s)")
    print(verdict)
    from datetime import date

    from cnnkit.precision import fast_bfloat16
    from common import RESULTS, machine, publish

    lines = [f"Main job (`cnnkit train` defaults: {DEFAULTS['model']}, {epochs} epochs, batch {DEFAULTS['batch_size']}) "
             f"- {date.today()}, {machine()}, pinned to {args.cores} cores; fast bfloat16 here: {fast_bfloat16() or 'no'}",
             "", "| seed | precision | test accuracy | training s | CPU s (whole job) | load before / after |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['precision']} | {100 * r['accuracy']:.2f} % | {r['train_seconds']} | "
              f"{r['cpu_seconds_whole_job']} | "
              f"{r['load_before']} / {r['load_after']} |" for r in results]
    lines += ["", verdict]
    publish("\n".join(lines), RESULTS / "main_job.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
