"""Every example in cnnkit's docstrings runs, as written, and shows what it says (issue 13).

Each module's docstrings run as doctests in a fresh temporary folder (examples that write files write
there), with cnnkit's public names, ``np`` and ``keras`` available as they are after
``from cnnkit import *``. No example is skipped: one that needs a download uses what is installed
offline (EfficientNet-Lite0's weights, ``weights=None``) instead. Kept small: the whole file runs in
about a minute."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

import cnnkit

MODULES = sorted(m.name for m in pkgutil.iter_modules(cnnkit.__path__, "cnnkit.") if m.name != "cnnkit.__main__")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_no_example_is_skipped():
    skipped = [name for name in MODULES + ["cnnkit"]
               if "doctest: +SKIP" in (importlib.import_module(name).__file__ and
                                      open(importlib.import_module(name).__file__).read())]
    assert not skipped, skipped


@pytest.mark.parametrize("name", ["cnnkit"] + MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    globs = {**{n: getattr(cnnkit, n) for n in cnnkit.__all__}, "np": np, "keras": keras, "cnnkit": cnnkit}
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name, globs=globs)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    examples = 0
    for test in tests:
        test.globs = {**vars(module), **globs}
        runner.run(test)
        examples += len(test.examples)
    plt.close("all")
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
