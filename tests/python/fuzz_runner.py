"""Run one case of tests/spec/fuzz_files.json: craft its file, call the function, report what happened.

Used by test_fuzz_files.py in-process, and by the same file's worker subprocess for the bombs (run
under an address-space limit). ``run(case, folder)`` never raises for what the called function does:
it returns an outcome dict that the test compares with the case's expectation.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "spec"))
import crafted_files  # noqa: E402

SPEC = json.loads((ROOT / "tests" / "spec" / "fuzz_files.json").read_text())
LUMA = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)  # tf.image.rgb_to_grayscale


def case_id(case: dict) -> str:
    gray = "-grayscale" if case.get("args", {}).get("color_mode") == "grayscale" else ""
    return f"{case['call']}-{case['file']}{gray}" + (f"-{case['id']}" if "id" in case else "")


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _model(folder: Path):
    """The small model the image cases predict or take feature maps with (saved once per folder)."""
    import cnnkit

    return cnnkit.load_model(crafted_files.good_model(folder))


def _compare(x: np.ndarray, reference: np.ndarray | None, color_mode: str) -> float | None:
    if reference is None:
        return None
    ref = reference @ LUMA if color_mode == "grayscale" else reference
    ref = ref[..., None] if ref.ndim == 2 else ref
    return float(np.abs(x - ref).max())


def _call(case: dict, folder: Path, made: dict) -> dict:
    """Call the case's function on the crafted path; return a summary of a successful result."""
    import cnnkit

    call, args, path = case["call"], dict(case.get("args", {})), made["path"]
    if call == "load_images":
        x = cnnkit.load_images([path], **args)
        return {"shape": list(x.shape), "max_abs_diff": _compare(x[0], made["reference"], args.get("color_mode", "rgb"))}
    if call == "image_folder":
        root = folder / "photos"
        crafted_files.good_images(root)
        os.replace(path, root / "a" / Path(path).name)
        d = cnnkit.image_folder(root, **args)
        batches = [(b[0].numpy(), b[1].numpy()) for b in d["train"]]  # the pipeline decodes every file
        return {"num_train": d["num_train"], "skipped": [Path(p).name for p in d["skipped"]],
                "images": int(sum(len(b[1]) for b in batches)), "finite": bool(all(np.isfinite(b[0]).all() for b in batches))}
    if call == "predict_classes":
        p = cnnkit.predict_classes(_model(folder), [path], **args)
        return {"label": p["label"], "total": float(p["probabilities"].sum())}
    if call in ("feature_maps", "plot_feature_maps"):
        model = _model(folder)
        if call == "feature_maps":
            return {"shape": list(cnnkit.feature_maps(model, path, "block1_conv").shape)}
        out = cnnkit.plot_feature_maps(model, path, "block1_conv", file=folder / "maps.png")
        return {"written": Path(out).is_file()}
    if call == "classify_image":
        return {"classes": len(cnnkit.classify_image(path, **args))}
    if call == "load_model":
        return {"class_names": cnnkit.saving.class_names_of(cnnkit.load_model(path, **args))}
    if call in ("backbone", "transfer_model", "efficientnet_lite0"):
        return {"params": getattr(cnnkit, call)(weights=path, **args).count_params()}
    if call == "efficientnet_lite0_weights":
        return {"file": cnnkit.efficientnet_lite0_weights(source=path, cache_dir=str(folder / "cache"), **args)}
    if call == "load_fashion_mnist":
        import cnnkit.data as data_mod

        data_mod._read_folder.cache_clear()
        old = data_mod.DEBIAN_DIR
        data_mod.DEBIAN_DIR = path
        try:
            return {"n": len(cnnkit.load_fashion_mnist(**args)["y_train"])}
        finally:
            data_mod.DEBIAN_DIR = old
            data_mod._read_folder.cache_clear()
    if call.startswith("cli_"):
        return _cli(case, folder, path)
    raise KeyError(call)


def _cli(case: dict, folder: Path, path: str) -> dict:
    """Run ``python -m cnnkit`` on the crafted file; an exit status, stdout and stderr come back."""
    good_model = str(crafted_files.good_model(folder))
    good_image = crafted_files.make("png_rgb", folder)["path"]
    argv = {"cli_predict_model": ["predict", path, good_image],
            "cli_predict_image": ["predict", good_model, path],
            "cli_evaluate_model": ["evaluate", path],
            "cli_evaluate_data": ["evaluate", good_model, "--data", str(folder / "photos")]}[case["call"]]
    if case["call"] == "cli_evaluate_data":
        crafted_files.good_images(folder / "photos")
        os.replace(path, folder / "photos" / "a" / Path(path).name)
    proc = subprocess.run([sys.executable, "-m", "cnnkit", *argv], capture_output=True, text=True,
                          timeout=SPEC["max_seconds"] * 3, cwd=folder, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def run(case: dict, folder: Path) -> dict:
    """Craft the case's file in ``folder``, call its function, time it; return the outcome."""
    folder = Path(folder)
    made = crafted_files.make(case["file"], folder)
    old_env = {k: os.environ.get(k) for k in case.get("env", {})}
    os.environ.update(case.get("env", {}))
    rss = maxrss_mb()
    start = time.perf_counter()
    out: dict = {"status": "ok"}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out["result"] = _call(case, folder, made)
        out["warnings"] = [str(w.message) for w in caught if str(w.message).startswith(case["call"])]
    except Exception as e:  # noqa: BLE001 - the outcome is what the test checks
        out = {"status": "error", "error_type": type(e).__name__, "message": str(e)}
    finally:
        for k, value in old_env.items():
            if value is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = value
    out["seconds"] = time.perf_counter() - start
    out["rss_growth_mb"] = maxrss_mb() - rss
    return out


def worker(cases_file: str, folder: str, out_file: str, headroom_mb: int) -> None:
    """Subprocess: warm up, then run each bomb case with the address space limited to the current
    size plus ``headroom_mb``; outcomes go to ``out_file`` as JSON lines, written as they finish."""
    cases = json.loads(Path(cases_file).read_text())
    warm = Path(folder) / "warm-up"
    for call in sorted({c["call"] for c in cases if not c["call"].startswith("cli_")}):  # each function once
        kind = {"load_model": "keras_lambda", "backbone": "h5_text", "transfer_model": "h5_text",
                "efficientnet_lite0": "h5_text", "load_fashion_mnist": "idx_text"}.get(call, "png_rgb")
        run({"call": call, "file": kind, "args": next(c for c in cases if c["call"] == call).get("args", {})},
            warm / call)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open(out_file, "w") as out:
        for i, case in enumerate(cases):
            vm = int(Path("/proc/self/status").read_text().split("VmSize:")[1].split()[0]) * 1024
            resource.setrlimit(resource.RLIMIT_AS, (vm + headroom_mb * 2**20, hard))
            try:
                outcome = run(case, Path(folder) / str(i))
            finally:
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
            out.write(json.dumps({"index": i, **outcome}) + "\n")
            out.flush()


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
