"""Argument fuzz suite (tests/spec/fuzz_args.json, shared with tests/testthat/test-fuzz-args.R).

Generated from the public API: every function in ``cnnkit.__all__``, every argument of its signature,
every bad value of the spec, each (function, argument, value) called once with tiny models and data.
The contract: a clear TypeError/ValueError whose message names the function and the argument, or (for
the values the spec lists as valid for that kind of argument) a result -- never a raw TensorFlow or
Keras error, a hang or a silently accepted wrong value. New functions and arguments are picked up
from the signatures; an argument the spec does not classify fails ``test_every_argument_has_a_kind``.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import re
import signal
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit._arg_checks import _same
from conftest import load_spec, record_subcases

SPEC = load_spec("fuzz_args")
PUBLIC = sorted(n for n in cnnkit.__all__ if callable(getattr(cnnkit, n)))
SECONDS = 120  # per call: a hang fails the case instead of the run
TINY = "fuzz_tiny"


def params(fn: str) -> list[inspect.Parameter]:
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in inspect.signature(getattr(cnnkit, fn)).parameters.values() if p.kind not in skip]


def arg_spec(fn: str, arg: str) -> dict | None:
    entry = SPEC["arguments"].get(f"{fn}.{arg}", SPEC["arguments"].get(arg))
    if entry is None:
        return None
    return {"kind": entry} if isinstance(entry, str) else dict(entry)


def expected(fn: str, arg: str, value: str) -> tuple[str, list[str]]:
    """``("ok", [])`` or ``("error", names)``: what the spec wants for this case in Python."""
    a = arg_spec(fn, arg)
    kind = SPEC["kinds"][a["kind"]]
    valid = a.get("valid", kind["valid"])
    return ("ok", []) if value in valid else ("error", a.get("names", kind.get("names", [arg])))


def py_value(value_id: str, fx: "Fixtures"):
    v = SPEC["values"][value_id]
    if "py" in v:
        return copy.deepcopy(v["py"])
    return {
        "nan": lambda: float("nan"), "inf": lambda: float("inf"), "empty": lambda: [],
        "complex": lambda: 1 + 2j, "dict": lambda: {"a": 1}, "none": lambda: None,
        "matrix": lambda: np.zeros((2, 3)), "regressor": fx.regressor,
    }[v["special"]]()


def is_default(value, default) -> bool:
    if default is inspect.Parameter.empty or isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return len(value) == len(default) and all(_same(a, b) for a, b in zip(value, default))
    return _same(value, default)


def cases() -> dict[str, list[tuple[str, str, str | None]]]:
    """Each public function's cases, ``(argument, value id, reason)``: the reason of a known failure
    (the spec's ``known_failures``, which must still fail) or None."""
    failing = {(k["call"], k["arg"], value): k["reason"] for k in SPEC["known_failures"]
               if k.get("lang", "both") in ("py", "both") for value in k["values"]}
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    for fn in PUBLIC:
        for p in params(fn):
            a = arg_spec(fn, p.name)
            if a is None or a["kind"] == "skip":
                continue
            for vid, v in SPEC["values"].items():
                if v.get("lang") == "r":
                    continue
                if "py" in v and is_default(v["py"], p.default):
                    continue
                if v.get("special") == "none" and p.default is None:
                    continue
                out.setdefault(fn, []).append((p.name, vid, failing.get((fn, p.name, vid))))
    return out


def sample(fn_cases: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """The fast tier's share of a function's cases: one value for each argument (a different one
    from argument to argument, so the sample covers many kinds of value), and every known failure."""
    by_arg: dict[str, list[tuple[str, str, str | None]]] = {}
    for case in fn_cases:
        by_arg.setdefault(case[0], []).append(case)
    picked = {arg_cases[i % len(arg_cases)] for i, arg_cases in enumerate(by_arg.values())}
    return [c for c in fn_cases if c in picked or c[2] is not None]


CASES = cases()


# --- fixtures: tiny models and data ---------------------------------------------------------------

def tiny_factory(include_top=True, weights=None, input_shape=None, pooling=None, classes=1000, **kwargs):
    """A two-convolution backbone with the keras.applications call convention ("imagenet": random)."""
    inputs = keras.Input(tuple(input_shape or (16, 16, 3)))
    x = keras.layers.Conv2D(4, 3, padding="same", name="block1_conv")(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", name="block2_conv")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    elif pooling in ("avg", "max"):
        pool = keras.layers.GlobalAveragePooling2D if pooling == "avg" else keras.layers.GlobalMaxPooling2D
        x = pool(name="pool")(x)
    return keras.Model(inputs, x, name=TINY)


class Fixtures:
    """The '@name' values of the spec's base arguments; models are fresh where a call changes them."""

    def __init__(self, root):
        self.root = root
        rng = np.random.default_rng(0)
        self._images = rng.random((8, 16, 16, 1), dtype="float32")
        self._rgb = rng.random((8, 16, 16, 3), dtype="float32")
        self._model = self.fresh_model()
        self._regressor = None
        self._fit_model = None
        self._shared_model = None
        self._aug = cnnkit.augmentation(rotate=0.1, seed=1)
        self._folder = None

    def tensor(self):
        return keras.Input((16, 16, 3))

    def fresh_model(self):
        return cnnkit.simple_cnn((16, 16, 1), blocks=1, filters=2, units=4, num_classes=3)

    def model(self):
        return self._model

    def shared_model(self):
        """For calls that change a model (freeze, compile, save) but whose checks do not depend on it."""
        if self._shared_model is None:
            self._shared_model = self.fresh_model()
        return self._shared_model

    def fit_model(self):
        if self._fit_model is None:
            self._fit_model = cnnkit.compile_classifier(self.fresh_model())
        return self._fit_model

    def regressor(self):
        if self._regressor is None:
            inputs = keras.Input((16, 16, 1))
            x = keras.layers.Conv2D(2, 3, padding="same", name="block1_conv")(inputs)
            x = keras.layers.GlobalAveragePooling2D()(x)
            self._regressor = keras.Model(inputs, keras.layers.Dense(3, activation="relu")(x), name="regressor")
        return self._regressor

    def images(self):
        return self._images.copy()

    def labels(self):
        return np.arange(8) % 3

    def data(self):
        return self.images(), self.labels()

    def rgb_data(self):
        return self._rgb.copy(), np.arange(8) % 3

    def rgb_images(self):
        return np.full((1, 32, 32, 3), 128.0, dtype="float32")

    def image(self):
        return self._images[0].copy()

    def photo(self):
        return np.random.default_rng(1).random((40, 40, 3)) * 255

    def preds(self):
        p = np.random.default_rng(2).random((2, 1000))
        return p / p.sum(1, keepdims=True)

    def aug(self):
        return self._aug

    def tiny_backbone_name(self):
        return TINY

    def tiny_factory(self):
        return tiny_factory

    def identity(self):
        return lambda x: x

    def transfer_model(self):
        return cnnkit.transfer_model(TINY, (16, 16, 3), num_classes=3, weights=None)

    def history(self):
        return {"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]}

    def counts(self):
        return np.array([[3, 1, 0], [0, 2, 1], [1, 0, 4]])

    def scores(self):  # what evaluate_classifier() keeps for plot_roc_curves()
        p = np.random.default_rng(3).random((8, 3))
        return {"y_true": np.arange(8) % 3, "probabilities": p / p.sum(1, keepdims=True), "class_names": ["a", "b", "c"]}

    def lr_result(self):
        return {"learning_rate": [1e-5, 1e-4, 1e-3], "loss": [2.0, 1.5, 3.0], "smoothed_loss": [2.0, 1.8, 2.2],
                "suggestion": 1e-5, "minimum": 1e-4, "diverged": True}

    def image_file(self):
        path = self.root / "img.png"
        if not path.exists():
            Image.fromarray((self._rgb[0] * 255).astype("uint8")).save(path)
        return str(path)

    def runs(self):  # a folder of two run directories, as fit_classifier(run_dir=) leaves them
        root = self.root / "runs"
        if not root.exists():
            for i, lr in enumerate((0.001, 0.003)):
                run = root / f"run{i}"
                run.mkdir(parents=True)
                (run / "run.json").write_text(json.dumps({"fit": {"settings": {"epochs": 1, "learning_rate": lr},
                                                                  "status": "finished", "epochs": 1}}))
                (run / "history.csv").write_text("epoch,loss,accuracy\n1,1.0,0.5\n")
        return str(root)

    def run(self):  # one of them
        return str(Path(self.runs()) / "run0")

    def folder(self):
        if self._folder is None:
            self._folder = self.root / "folder"
            for c, name in enumerate(("cat", "dog")):
                (self._folder / name).mkdir(parents=True)
                for i in range(3):
                    Image.fromarray((self._rgb[3 * c + i] * 255).astype("uint8")).save(self._folder / name / f"{i}.png")
        return str(self._folder)

    def table(self):
        files = sorted(Path(self.folder()).glob("*/*.png"))
        return {"file": [str(f) for f in files], "label": [f.parent.name for f in files]}

    def keras_file(self):
        path = self.root / "model.keras"
        if not path.exists():
            cnnkit.save_model(self.fresh_model(), path)
        return str(path)

    def resolve(self, value):
        if isinstance(value, str) and value.startswith("@"):
            return getattr(self, value[1:])()
        return copy.deepcopy(value)


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    cnnkit.register_backbone(TINY, tiny_factory, lambda x: x, min_size=8, last_block="block2", overwrite=True)
    yield Fixtures(tmp_path_factory.mktemp("fuzz-fixtures"))
    cnnkit.backbones.REGISTRY.pop(TINY, None)


@contextlib.contextmanager
def time_limit(seconds: int):
    def stop(signum, frame):
        raise TimeoutError(f"the call ran for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def call(fn: str, arg: str, value_id: str, fx: Fixtures):
    """``("ok", result)``, ``("error", exception)`` (TypeError/ValueError) or ``("raw", exception)``."""
    base = SPEC["functions"].get(fn, {}).get("base", {})
    args = {k: fx.resolve(v) for k, v in base.items()}
    args[arg] = py_value(value_id, fx)
    registry = dict(cnnkit.backbones.REGISTRY)
    try:
        with time_limit(SECONDS):
            return "ok", getattr(cnnkit, fn)(**args)
    except (TypeError, ValueError) as e:
        return "error", e
    except Exception as e:  # noqa: BLE001 - what the suite looks for
        return "raw", e
    finally:  # register_backbone() cases must not leave entries behind
        cnnkit.backbones.REGISTRY.clear()
        cnnkit.backbones.REGISTRY.update(registry)


def names_argument(message: str, fn: str, names: list[str]) -> bool:
    return f"{fn}()" in message and any(re.search("`" + re.escape(n) + "[` ]", message) for n in names)


# --- the suite ------------------------------------------------------------------------------------

def test_every_argument_has_a_kind():
    missing = [f"{fn}.{p.name}" for fn in PUBLIC for p in params(fn) if arg_spec(fn, p.name) is None]
    assert not missing, f"classify these arguments in tests/spec/fuzz_args.json (`arguments`): {missing}"
    unknown = {a["kind"] for fn in PUBLIC for p in params(fn) if (a := arg_spec(fn, p.name))} - set(SPEC["kinds"])
    assert not unknown, f"kinds used in `arguments` but not defined in `kinds`: {unknown}"


def test_every_function_with_required_arguments_has_base_arguments():
    missing = [fn for fn in PUBLIC if any(p.default is inspect.Parameter.empty for p in params(fn))
               and fn not in SPEC["functions"]]
    assert not missing, f"give these functions `base` arguments in tests/spec/fuzz_args.json: {missing}"


def test_the_base_arguments_work(fx, tmp_path, monkeypatch):
    """Each function's base call succeeds, so an error in a case comes from the value under test."""
    monkeypatch.chdir(tmp_path)
    failed = {}
    for fn in PUBLIC:
        base = SPEC["functions"].get(fn, {})
        if base.get("lang", "py") != "py":
            continue
        try:
            with time_limit(SECONDS):
                getattr(cnnkit, fn)(**{k: fx.resolve(v) for k, v in base.get("base", {}).items()})
        except Exception as e:  # noqa: BLE001
            failed[fn] = f"{type(e).__name__}: {e}"
    assert not failed, failed


def check_case(fn: str, arg: str, value_id: str, fx: Fixtures) -> None:
    """One (function, argument, value) case: a result for a valid value, else a clear error."""
    want, names = expected(fn, arg, value_id)
    outcome, got = call(fn, arg, value_id, fx)
    what = f"{fn}({arg}={SPEC['values'][value_id].get('py', value_id)!r})"
    if want == "ok":
        assert outcome == "ok", f"{what} should work but raised {type(got).__name__}: {got}"
        return
    assert outcome != "ok", f"{what} was accepted (returned {type(got).__name__}); it should be an error naming `{arg}`"
    assert outcome == "error", f"{what} raised a raw {type(got).__name__}: {got}"
    assert names_argument(str(got), fn, names), f"{what}: the message does not name {fn}() and `{arg}`: {got}"


@pytest.mark.parametrize("fn", sorted(CASES))
def test_bad_values_are_clear_errors_or_results(fn, fx, tmp_path, monkeypatch, subtests, request):
    """One item per public function, each (argument, value) case a sub-test named ``fn-arg-value``
    (a failing case fails the item and is listed as SUBFAILED with its name). The fast tier
    (``--tier=fast``) runs ``sample()`` of the cases; the sub-case counts are printed at the end."""
    chosen = sample(CASES[fn]) if request.config.getoption("tier") == "fast" else CASES[fn]
    for i, (arg, value_id, known_failure) in enumerate(chosen):
        folder = tmp_path / str(i)  # a fresh working folder per case: relative paths such as "abc" land here
        folder.mkdir()
        monkeypatch.chdir(folder)
        with subtests.test(f"{fn}-{arg}-{value_id}"):
            if known_failure is None:
                check_case(fn, arg, value_id, fx)
            else:  # strict: the case must still fail, or the spec's entry is stale
                try:
                    check_case(fn, arg, value_id, fx)
                except Exception:  # noqa: BLE001 - any failure is the known one
                    pytest.xfail(known_failure)
                pytest.fail(f"[XPASS(strict)] {fn}-{arg}-{value_id} passes: remove it from known_failures "
                            f"in tests/spec/fuzz_args.json ({known_failure})")
    record_subcases(request, len(chosen), len(CASES[fn]))
