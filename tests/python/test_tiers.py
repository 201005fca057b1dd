"""The test tiers (conftest.py): every entry of slow_tests.txt names a test module, function or
parametrized item that exists, so that a renamed test does not silently join the fast tier."""

from __future__ import annotations

import ast

from conftest import SLOW_LIST, slow_tests


def test_every_slow_entry_names_a_test():
    here = SLOW_LIST.parent
    missing = []
    for entry in sorted(slow_tests()):
        module, _, name = entry.partition("::")
        path = here / module
        if not path.is_file():
            missing.append(entry)
            continue
        if name:
            function = name.split("[", 1)[0]
            defined = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
            if function not in defined:
                missing.append(entry)
    assert not missing, f"tests/python/slow_tests.txt names tests that do not exist (renamed?): {missing}"
