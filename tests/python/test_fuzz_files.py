"""Crafted files (tests/spec/fuzz_files.json) for every function that reads a file: each case ends
with a clear error naming the argument, a counted skip, or a correct result -- in bounded time, and
the bombs in bounded memory (run in a worker process whose address space is limited)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

import fuzz_runner
from conftest import record_subcases
from fuzz_runner import SPEC, case_id

CASES = [c for c in SPEC["cases"] if "python" in c.get("languages", ["python", "r"])]
BOMBS = [c for c in CASES if SPEC["files"][c["file"]]["bomb"]]
IN_PROCESS = [c for c in CASES if not SPEC["files"][c["file"]]["bomb"]]


def by_call(cases: list[dict]) -> dict[str, list[dict]]:
    """The cases of each function (or command), in the spec's order."""
    out: dict[str, list[dict]] = {}
    for c in cases:
        out.setdefault(c["call"], []).append(c)
    return out


def sample(cases: list[dict]) -> list[dict]:
    """The fast tier's share of a function's cases: the first of each expected outcome."""
    seen: set = set()
    return [c for c in cases if c["expect"] not in seen and not seen.add(c["expect"])]


FAST_BOMBS = ("load_images", "load_model")  # a decompression bomb and a model-file bomb


def chosen(config, cases: list[dict], bombs: bool = False) -> list[dict]:
    """All ``cases`` (--tier=full), or the fast tier's sample: ``sample()`` of each function's files but
    the command line's (a process each), and the first bomb of FAST_BOMBS's functions (the bombs' worker
    warms up each function it calls)."""
    if config.getoption("tier") != "fast":
        return cases
    if bombs:
        return [group[0] for call, group in by_call(cases).items() if call in FAST_BOMBS]
    return [] if cases and cases[0]["call"].startswith("cli_") else sample(cases)


class Timeout(Exception):
    pass


def _run_with_alarm(case: dict, folder: Path) -> dict:
    """fuzz_runner.run() in this process, interrupted (a failure) past max_seconds."""
    def alarm(signum, frame):
        raise Timeout(f"{case_id(case)} took more than {SPEC['max_seconds']} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SPEC["max_seconds"] * (4 if case["call"].startswith("cli_") else 1))
    try:
        return fuzz_runner.run(case, folder)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def bomb_outcomes(tmp_path_factory, pytestconfig) -> dict[str, dict]:
    """Run every bomb case (the fast tier: one per function) in one worker process with RLIMIT_AS =
    its size + the headroom; the outcomes by ``case_id``."""
    bombs = chosen(pytestconfig, BOMBS, bombs=True)
    folder = tmp_path_factory.mktemp("bombs")
    (folder / "cases.json").write_text(json.dumps(bombs))
    out = folder / "outcomes.jsonl"
    proc = subprocess.run([sys.executable, str(Path(fuzz_runner.__file__)), str(folder / "cases.json"), str(folder),
                           str(out), str(SPEC["address_space_headroom_mb"])],
                          capture_output=True, text=True, timeout=120 + SPEC["max_seconds"] * len(bombs),
                          env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    assert proc.returncode == 0 and len(done) == len(bombs), (
        f"the worker stopped (exit {proc.returncode}) after {len(done)} of {len(bombs)} bomb cases; next: "
        f"{case_id(bombs[len(done)]) if len(done) < len(bombs) else '-'}\n{proc.stderr[-3000:]}")
    return {case_id(bombs[o["index"]]): o for o in done}


def check(case: dict, outcome: dict) -> None:
    """Compare an outcome with the case's expectation (the spec's `expect`)."""
    label = f"{case_id(case)}: {outcome}"
    assert outcome["seconds"] < SPEC["max_seconds"] * (4 if case["call"].startswith("cli_") else 1), label
    expect = case["expect"]
    if expect == "error":
        assert outcome["status"] == "error", label
        assert outcome["error_type"] in ("ValueError", "TypeError", "ImageFileError", "ModelFileError"), label
        assert f"{case['call']}()" in outcome["message"], label
        assert case["names"] in outcome["message"], label
        assert case["match"] in outcome["message"], label
        return
    assert outcome["status"] == "ok", label
    result = outcome["result"]
    if expect == "skipped":
        name = fuzz_runner.crafted_files.IMAGE_NAMES.get(case["file"], case["file"] + ".png")
        assert result["skipped"] == [name], label
        assert result["num_train"] == 4 and result["images"] == 4 and result["finite"], label
        assert len(outcome["warnings"]) == 1, label
        assert "skipped 1 file(s)" in outcome["warnings"][0] and case["match"] in outcome["warnings"][0], label
    elif expect == "exit":
        assert result["returncode"] == case["status"], label
        assert case["match"] in result["stderr"], label
        assert "Traceback" not in result["stderr"] + result["stdout"], label
        if case["status"] != 0:
            assert len(result["stderr"].strip().splitlines()) == 1, label
    else:  # ok: a correct result
        tol = SPEC["files"][case["file"]].get("tolerance")
        call = case["call"]
        if call == "load_images":
            assert result["max_abs_diff"] <= tol, label
        elif call == "image_folder":
            assert result["num_train"] == 5 and result["images"] == 5 and result["skipped"] == [] and result["finite"], label
            assert outcome["warnings"] == [], label
        elif call == "predict_classes":
            assert result["label"][0] in ("cat", "dog") and abs(result["total"] - 1) < 1e-4, label
        elif call == "feature_maps":
            assert result["shape"] == [16, 16, 4], label
        elif call == "plot_feature_maps":
            assert result["written"], label
        elif call == "classify_image":
            assert result["classes"] == case["args"]["top"], label
        elif call == "load_model":
            assert result["class_names"] == ["cat", "dog"], label
        else:
            assert result["params"] > 0, label


@pytest.mark.parametrize("call", sorted(by_call(IN_PROCESS)))
def test_crafted_files(call, tmp_path, subtests, request):
    """One item per function (or command), each crafted file a sub-test named by ``case_id``."""
    cases = by_call(IN_PROCESS)[call]
    run = chosen(request.config, cases)
    for i, case in enumerate(run):
        with subtests.test(case_id(case)):
            check(case, _run_with_alarm(case, tmp_path / str(i)))
    record_subcases(request, len(run), len(cases))


@pytest.mark.parametrize("call", sorted(by_call(BOMBS)))
def test_bombs_in_bounded_memory(call, bomb_outcomes, subtests, request):
    """One item per function, each bomb (run by the ``bomb_outcomes`` worker) a sub-test."""
    cases = by_call(BOMBS)[call]
    run = [c for c in cases if case_id(c) in bomb_outcomes]
    for case in run:
        outcome = bomb_outcomes[case_id(case)]
        with subtests.test(case_id(case)):
            check(case, outcome)
            assert outcome["rss_growth_mb"] < SPEC["max_rss_growth_mb"], f"{case_id(case)}: {outcome}"
    record_subcases(request, len(run), len(cases))


def test_every_file_reading_function_has_cases():
    """The spec covers each public function that reads a file, in both outcomes that apply."""
    calls = {c["call"] for c in SPEC["cases"]}
    assert {"image_folder", "load_images", "predict_classes", "feature_maps", "plot_feature_maps", "classify_image",
            "load_model", "backbone", "transfer_model", "efficientnet_lite0", "efficientnet_lite0_weights",
            "load_fashion_mnist", "cli_predict_model", "cli_predict_image", "cli_evaluate_model",
            "cli_evaluate_data"} <= calls
    assert set(SPEC["files"]) == {c["file"] for c in SPEC["cases"]}
    for call in calls - {"efficientnet_lite0_weights", "load_fashion_mnist"} - {c for c in calls if c.startswith("cli_")}:
        kinds = {c["expect"] for c in SPEC["cases"] if c["call"] == call}
        assert "error" in kinds and ("ok" in kinds or call == "efficientnet_lite0"), (call, kinds)


def test_the_bombs_are_real(tmp_path):
    """The crafted bombs are what they claim: small files declaring what a decoder would allocate."""
    from PIL import Image

    made = fuzz_runner.crafted_files.make("png_13000", tmp_path)
    assert Path(made["path"]).stat().st_size < 22_000
    with pytest.warns(Image.DecompressionBombWarning), Image.open(made["path"]) as img:  # Pillow only warns
        assert img.size == (13000, 13000)
        decoded = zlib.decompressobj()  # the IDAT really inflates to 13000 rows
        data = Path(made["path"]).read_bytes()
        idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
        assert len(decoded.decompress(idat)) == 13000 * (1 + (13000 + 7) // 8)
    bomb = fuzz_runner.crafted_files.make("keras_zip_bomb", tmp_path)
    with zipfile.ZipFile(bomb["path"]) as z:
        info = z.getinfo("model.weights.h5")
        assert info.file_size == 200 << 20 and info.compress_size < 300_000


def test_counting_a_config_leaves_no_deferred_variables(tmp_path):
    """load_model() counts a config's variables in a StatelessScope that defers them; none may stay
    registered, or Keras would allocate them (20 GB for the config bomb) at the next scope exit."""
    import keras
    from keras.src.backend.common import global_state

    import cnnkit

    for kind in ("keras_good", "keras_config_bomb"):
        path = fuzz_runner.crafted_files.make(kind, tmp_path)["path"]
        try:
            cnnkit.load_model(path)
        except ValueError:
            assert kind == "keras_config_bomb"
        assert not global_state.get_global_attribute("uninitialized_variables", None)
    with keras.StatelessScope():  # exiting initialises whatever was left deferred: nothing
        pass
