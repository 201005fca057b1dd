"""Requests for unbounded work (tests/spec/bounds.json): a clear error naming the argument, the limit
and its environment variable -- or, at the limit, a correct result. Plus the limits table itself."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import _arg_checks as v
from conftest import ROOT, load_spec
from fuzz_runner import crafted_files

SPEC = load_spec("bounds")


def _call(case: dict, tmp_path):
    args = case["args"]
    if case["call"] == "augment_dataset":
        xa, ya = cnnkit.augment_dataset(np.zeros((4, 8, 8, 1), "float32"), np.arange(4),
                                        cnnkit.augmentation(flip="horizontal"), **args)
        assert len(xa) == len(ya)
        return len(xa)
    if case["call"] == "plot_augmentation":
        out = cnnkit.plot_augmentation(np.zeros((1, 8, 8, 1), "float32"), cnnkit.augmentation(flip="horizontal"),
                                       file=tmp_path / "aug.png", **args)
        return (tmp_path / "aug.png").is_file() and out.endswith("aug.png")
    files = crafted_files.good_images(tmp_path / "photos")
    if case["call"] == "image_folder":
        d = cnnkit.image_folder(tmp_path / "photos", **args)
        return list(next(iter(d["train"]))[0].shape[1:3])
    return list(cnnkit.load_images(files, **args).shape[1:3])


@pytest.mark.parametrize("case", SPEC["cases"], ids=lambda c: f"{c['call']}-{c['args']}-{c.get('env', '')}")
def test_request(case, tmp_path, monkeypatch):
    for k, value in case.get("env", {}).items():
        monkeypatch.setenv(k, value)
    if case["expect"] == "ok":
        assert _call(case, tmp_path) == case["result"]
        return
    with pytest.raises((ValueError, TypeError)) as err:
        _call(case, tmp_path)
    message = str(err.value)
    assert f"{case['call']}()" in message and case["names"] in message, message
    for fragment in case["match"]:
        assert fragment in message, message


@pytest.mark.parametrize("case", SPEC["epochs"], ids=lambda c: f"{c['value']}-{c.get('env', '')}")
def test_epochs_cap_for_the_training_functions(case, monkeypatch):
    """_arg_checks.epochs(): the check fit_classifier, train_classifier and fine_tune are to call."""
    for k, value in case.get("env", {}).items():
        monkeypatch.setenv(k, value)
    if case["expect"] == "ok":
        assert v.epochs(case["value"], "epochs") == int(case["value"])
        return
    with pytest.raises(ValueError) as err:
        v.epochs(case["value"], "epochs")
    assert "fit_classifier(): `epochs`" in str(err.value)
    for fragment in case["match"]:
        assert fragment in str(err.value), str(err.value)


def test_limits_table_matches_the_spec_and_the_environment(monkeypatch):
    table = cnnkit.limits()
    assert {k: row["default"] for k, row in table.items()} == SPEC["limits"]
    assert {k: row["env"] for k, row in table.items()} == SPEC["envs"]
    assert all(row["value"] == row["default"] for row in table.values())
    monkeypatch.setenv("CNNKIT_MAX_EPOCHS", "1_000")
    assert cnnkit.limits()["epochs"]["value"] == 1000
    monkeypatch.setenv("CNNKIT_MAX_EPOCHS", "-3")
    with pytest.raises(ValueError, match="CNNKIT_MAX_EPOCHS must be a positive whole number"):
        cnnkit.limits()


def test_limits_are_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for env in SPEC["envs"].values():
        assert env in readme, env
