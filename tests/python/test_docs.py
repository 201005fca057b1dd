"""Every public Python function has a docstring; every exported R object has a help page."""

from __future__ import annotations

import inspect
import re

import cnnkit
from conftest import ROOT


def test_public_python_functions_have_docstrings():
    missing = [n for n in cnnkit.__all__ if not inspect.getdoc(getattr(cnnkit, n))]
    assert not missing


def test_r_exports_have_help_pages_and_mirror_python():
    namespace = (ROOT / "NAMESPACE").read_text()
    exports = set(re.findall(r"^export\((.+?)\)$", namespace, re.M))
    aliases = set()
    for rd in (ROOT / "man").glob("*.Rd"):
        aliases |= set(re.findall(r"\\alias\{(.+?)\}", rd.read_text()))
    assert exports and not (exports - aliases), exports - aliases
    # every public Python function has an R function of the same name
    assert not (set(cnnkit.__all__) - exports), set(cnnkit.__all__) - exports
