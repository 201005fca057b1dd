"""cnnkit's modules import one another without a cycle, and each imports on its own.

An import cycle is what made modules import each other inside functions (``train`` <-> ``_checks``
through ``output_kind``, issue 16); the graph here counts those function-level imports too, so a
cycle cannot hide behind a lazy import. The package's own ``__init__`` (PEP 562 lazy exports) and
``cli`` (it imports the heavy modules on demand, so that ``cnnkit --help`` starts without
TensorFlow; nothing imports it) are leaves and stay out of the graph.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cnnkit

PACKAGE = Path(cnnkit.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))


def _imports(module: str) -> set[str]:
    """The cnnkit modules ``module`` imports anywhere in its file (module level or inside functions)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            found.update(n for n in names if n in MODULES)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnnkit."):
            found.add(node.module.split(".")[1])
    return found - {"cli"}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path that ends where it starts), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_cnnkit_modules():
    graph = {m: _imports(m) for m in MODULES if m != "cli"}
    assert graph["train"] and graph["job"], "the import graph is empty: the parser missed the imports"
    cycle = _cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_each_module_imports_on_its_own():
    """Each module as the first cnnkit module imported (in one fresh interpreter, TensorFlow loaded
    once): no module depends on another having been imported before it."""
    script = (
        "import importlib, sys, traceback\n"
        f"failed = []\n"
        f"for m in {MODULES!r}:\n"
        "    for k in [k for k in sys.modules if k == 'cnnkit' or k.startswith('cnnkit.')]:\n"
        "        del sys.modules[k]\n"
        "    try:\n"
        "        importlib.import_module('cnnkit.' + m)\n"
        "    except Exception:\n"
        "        failed.append(m + ': ' + traceback.format_exc().strip().splitlines()[-1])\n"
        "print('\\n'.join(failed) or 'ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "ok", proc.stdout


def test_import_cnnkit_and_its_cli_load_no_tensorflow():
    proc = subprocess.run([sys.executable, "-c", "import sys, cnnkit, cnnkit.cli; "
                           "print('tensorflow' in sys.modules, 'keras' in sys.modules)"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["False", "False"]


def test_what_the_bench_scripts_import_from_cnnkit_exists():
    """bench/**/*.py are not run by the tests (they time things), but their imports from cnnkit must
    follow the package when a name moves (lenet_levers.py once imported predictor from precision), and
    no script imports another script: what they share is in bench/common.py (data, machine, report)
    and bench/peers/nets.py (the peers' hand-written models)."""
    import importlib
    import importlib.util

    from conftest import ROOT

    scripts = sorted((ROOT / "bench").glob("*/*.py"))
    libraries = {"common", "nets"}
    script_names = {s.stem for s in scripts} - libraries
    assert {"main_job", "train_throughput", "batchnorm_fused"} <= script_names, script_names
    missing, cross = [], []
    for script in [*scripts, *(ROOT / "bench").glob("*.py")]:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cnnkit":
                module = importlib.import_module(node.module)
                missing += [f"{script.name}: from {node.module} import {a.name}" for a in node.names
                            if not hasattr(module, a.name)
                            and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
            imported = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            cross += [f"{script.relative_to(ROOT)} imports {m}" for m in imported if m.split(".")[0] in script_names]
    assert not missing, "\n".join(missing)
    assert not cross, "\n".join(cross)
