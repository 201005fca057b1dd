"""No new ``Any`` in the public signatures: the annotations of each function in ``cnnkit.__all__``
(read from the source: no TensorFlow, and no module is imported) may hold no more ``Any`` than
tests/spec/public_any.json records. A signature that needs a new ``Any`` raises its count there, in
the same change, where a reviewer sees it; a count that goes down can be lowered there too.
(ruff and mypy run in scripts/lint.sh, in both tiers.)"""

from __future__ import annotations

import ast
import re

from conftest import ROOT, load_spec

PACKAGE = ROOT / "python" / "cnnkit"


def exports() -> dict[str, str]:
    """Public function -> its module (``import cnnkit`` loads no TensorFlow; the modules are not imported)."""
    import cnnkit

    return {name: cnnkit._WHERE[name] for name in cnnkit.__all__ if name in cnnkit._WHERE}


def any_count(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """How many times ``Any`` (bare or ``typing.Any``) appears in the parameter and return annotations."""
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(p for p in (a.vararg, a.kwarg) if p is not None)]
    annotations = [p.annotation for p in params if p.annotation is not None]
    if fn.returns is not None:
        annotations.append(fn.returns)
    return sum(len(re.findall(r"\bAny\b", ast.unparse(n))) for n in annotations)


def public_any_counts() -> dict[str, int]:
    counts, trees = {}, {}
    for name, module in exports().items():
        if module not in trees:
            trees[module] = ast.parse((PACKAGE / f"{module}.py").read_text())
        defs = [n for n in trees[module].body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and n.name == name]
        assert defs, f"cnnkit.{name}: no top-level function of that name in cnnkit/{module}.py"
        counts[name] = any_count(defs[-1])
    return counts


def test_no_new_any_in_public_signatures():
    baseline = load_spec("public_any")["counts"]
    counts = public_any_counts()
    grown = {name: f"{baseline.get(name, 0)} -> {n}" for name, n in counts.items() if n > baseline.get(name, 0)}
    assert not grown, (
        f"`Any` in public signatures grew (total {sum(baseline.values())} -> {sum(counts.values())}): {grown}. "
        "Give the arguments real types, or record the new counts in tests/spec/public_any.json")


def test_the_counter_counts(tmp_path):
    fn = ast.parse("def f(a: Any, b: dict[str, typing.Any] = None, *c: Anything, **d: 'Any') -> list[Any]: ...").body[0]
    assert any_count(fn) == 4  # Anything is not Any; a string annotation counts
