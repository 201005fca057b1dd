"""R/Python parity of the public API: for every function in ``cnnkit.__all__``, the R function of the
same name has the same arguments, in the same order, with the same defaults (written in R:
None = NULL, True = TRUE, (32, 32, 3) = c(32, 32, 3)); every R export has a Python function of that
name. The only exceptions are the tables in tests/spec/r_parity.json, each with its reason.

R's formals come from ONE Rscript call (``library(cnnkit)`` loads no Python; defaults are evaluated
in R's base environment, so only constants are); Python's from ``inspect.signature``. One test per
function; a failure names the function, the argument and both values.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import subprocess
from typing import Any

import pytest

import cnnkit
from conftest import ROOT, load_spec, r_env

pytestmark = pytest.mark.needs_r

SPEC = load_spec("r_parity")
RENAMED = {fn: {py: v["r"] for py, v in args.items() if py != "_about"}
           for fn, args in SPEC["renamed"].items() if fn != "_about"}
PYTHON_ONLY = {fn: set(args) for fn, args in SPEC["python_only"].items() if fn != "_about"}
R_ONLY = {name for name in SPEC["r_only"] if name != "_about"}

# Each export's formals as JSON: {name: {"kind": "function", "args": [{name, required, text, value}]}}.
# `value`: the evaluated default in a canonical form (kind + values); `text`: the default as written.
R_FORMALS = r"""
suppressMessages(library(cnnkit))
ns <- asNamespace("cnnkit")
canon <- function(x) {
  if (is.null(x)) return(list(kind = "NULL"))
  if (is.list(x)) return(list(kind = "list", values = lapply(unname(x), canon)))
  if (is.atomic(x) && !anyNA(x)) {
    return(list(kind = if (is.numeric(x)) "numeric" else typeof(x), values = as.list(unname(x))))
  }
  list(kind = "other")
}
out <- list()
for (name in sort(getNamespaceExports("cnnkit"))) {
  if (bindingIsActive(name, ns)) { out[[name]] <- list(kind = "active binding"); next }
  f <- get(name, envir = ns)
  if (!is.function(f)) { out[[name]] <- list(kind = class(f)[1]); next }
  fm <- formals(f)
  out[[name]] <- list(kind = "function", args = lapply(names(fm), function(a) {
    if (identical(fm[[a]], quote(expr = ))) return(list(name = a, required = TRUE))  # (never bind it)
    d <- fm[[a]]
    v <- tryCatch(canon(eval(d, baseenv())), error = function(e) list(kind = "other"))
    list(name = a, required = FALSE, text = paste(deparse(d), collapse = " "), value = v)
  }))
}
writeLines(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"), commandArgs(TRUE)[1])
"""


def namespace_exports() -> list[str]:
    """The R package's exports, from NAMESPACE (roxygen writes it from the @export tags)."""
    return re.findall(r"^export\(([^)]+)\)$", (ROOT / "NAMESPACE").read_text(), re.M)


@pytest.fixture(scope="module")
def r_formals(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("parity") / "formals.json"
    proc = subprocess.run(["Rscript", "--vanilla", "-e", R_FORMALS, str(out)], env=r_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"Rscript failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text())


# --- values in one canonical form: a kind (NULL, logical, character, numeric, list) and values ---

def canon_py(value: Any) -> dict:
    """A Python default in the form R's canon() gives the R default it should equal."""
    if value is None:
        return {"kind": "NULL"}
    if isinstance(value, bool):
        return {"kind": "logical", "values": [value]}
    if isinstance(value, str):
        return {"kind": "character", "values": [value]}
    if isinstance(value, (int, float)):
        return {"kind": "numeric", "values": [value]}
    if isinstance(value, (tuple, list)):
        return {"kind": "list", "values": [canon_py(v) for v in value]}
    return {"kind": "other"}


def flat(c: dict) -> dict:
    """R has no scalars and no tuples: a list of single values of one kind is the vector of them
    (list("accuracy") = c("accuracy") = ("accuracy",)), and every empty vector or list is one value."""
    if c["kind"] == "list":
        items = [flat(v) for v in c["values"]]
        if not items:
            return {"kind": "empty"}
        kinds = {i["kind"] for i in items}
        if len(kinds) == 1 and kinds <= {"logical", "character", "numeric"} and all(len(i["values"]) == 1 for i in items):
            return {"kind": kinds.pop(), "values": [i["values"][0] for i in items]}
        return {"kind": "list", "values": items}
    if c["kind"] in ("logical", "character", "numeric") and not c["values"]:
        return {"kind": "empty"}
    return c


def same_value(r: dict, py: dict) -> bool:
    r, py = flat(r), flat(py)
    if r["kind"] != py["kind"] or r["kind"] == "other":
        return False
    if r["kind"] in ("NULL", "empty"):
        return True
    if len(r["values"]) != len(py["values"]):
        return False
    if r["kind"] == "list":
        return all(same_value(a, b) for a, b in zip(r["values"], py["values"]))
    if r["kind"] == "numeric":
        return all(math.isclose(a, b, rel_tol=1e-12, abs_tol=0) for a, b in zip(r["values"], py["values"]))
    return r["values"] == py["values"]


def r_spelling(value: Any) -> str:
    """How R writes a Python default (for the failure message)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return f"c({', '.join(map(r_spelling, value))})" if value else "list()"
    return repr(value)


def show(value: Any) -> str:
    """A Python default, with its R spelling where that differs: ``(32, 32) (R: c(32, 32))``."""
    r = r_spelling(value)
    return repr(value) if r == repr(value) else f"{value!r} (R: {r})"


# --- the arguments of each side, as (R name, required, default) in order ---

def python_args(name: str) -> list[tuple[str, dict]]:
    renamed = RENAMED.get(name, {})
    args = []
    for p in inspect.signature(getattr(cnnkit, name)).parameters.values():
        if p.name in PYTHON_ONLY.get(name, ()):
            continue
        if p.kind is p.VAR_KEYWORD:
            args.append(("...", {"required": False, "dots": True, "repr": f"**{p.name}"}))
            continue
        required = p.default is inspect.Parameter.empty
        args.append((renamed.get(p.name, p.name), {
            "py_name": p.name, "required": required,
            "value": None if required else canon_py(p.default),
            "repr": "(no default)" if required else show(p.default)}))
    return args


def differences(name: str, r_fn: dict) -> list[str]:
    py = python_args(name)
    r = [(a["name"], a) for a in r_fn["args"]]
    problems = []
    py_names, r_names = [n for n, _ in py], [n for n, _ in r]
    for n in py_names:
        if n not in r_names:
            problems.append(f"{name}(): argument `{n}` is in Python ({dict(py)[n]['repr']}) but not in R")
    for n in r_names:
        if n not in py_names:
            text = dict(r)[n].get("text", "(no default)") if n != "..." else "..."
            problems.append(f"{name}(): argument `{n}` is in R (default {text}) but not in Python")
    common_py = [n for n in py_names if n in r_names]
    common_r = [n for n in r_names if n in py_names]
    if common_py != common_r:
        problems.append(f"{name}(): arguments in another order: Python {common_py}, R {common_r}")
    for n in common_py:
        p, a = dict(py)[n], dict(r)[n]
        if n == "...":
            continue
        if p["required"] != a["required"]:
            problems.append(f"{name}(): `{n}` is required in {'Python' if p['required'] else 'R'} only: "
                            f"Python {p['repr']}, R {a.get('text', '(no default)')}")
        elif not p["required"] and not same_value(a["value"], p["value"]):
            problems.append(f"{name}(): `{n}` has another default: Python {p['repr']}, R {a['text']}")
    return problems


ALL_NAMES = sorted(set(cnnkit.__all__) | set(namespace_exports()))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_r_and_python_agree(name, r_formals):
    in_py, in_r = name in cnnkit.__all__, name in r_formals
    if not in_py:
        assert in_r, f"{name} is in NAMESPACE but the installed R package does not export it (reinstall?)"
        assert name in R_ONLY, (f"R exports {name}() but cnnkit.__all__ has no function of that name: add one, "
                                "or list it with its reason under r_only in tests/spec/r_parity.json")
        return
    assert name not in R_ONLY, f"{name} is in cnnkit.__all__ and under r_only in tests/spec/r_parity.json"
    assert in_r, f"cnnkit.{name}() has no R function of that name (R/{name}.R or its module's file)"
    assert r_formals[name]["kind"] == "function", f"R's {name} is a {r_formals[name]['kind']}, not a function"
    problems = differences(name, r_formals[name])
    assert not problems, "\n".join(problems)


def test_the_exception_tables_name_real_things(r_formals):
    """A stale exception hides nothing: each names an R export or a Python argument that exists."""
    stale = [f"r_only: {n}" for n in R_ONLY if n not in r_formals or n in cnnkit.__all__]
    for table, entries in (("renamed", RENAMED), ("python_only", PYTHON_ONLY)):
        for fn, args in entries.items():
            params = inspect.signature(getattr(cnnkit, fn)).parameters if fn in cnnkit.__all__ else {}
            stale += [f"{table}: {fn}.{a}" for a in args if a not in params]
    assert not stale, f"entries of tests/spec/r_parity.json that match nothing: {stale}"


@pytest.mark.parametrize("r_default, py_default, same", [
    ({"kind": "numeric", "values": [32, 32, 3]}, (32, 32, 3), True),
    ({"kind": "numeric", "values": [60]}, 60.0, True),
    ({"kind": "list", "values": [{"kind": "character", "values": ["accuracy"]}]}, ("accuracy",), True),
    ({"kind": "character", "values": ["accuracy"]}, ("accuracy",), True),
    ({"kind": "character", "values": []}, (), True),
    ({"kind": "NULL"}, None, True),
    ({"kind": "logical", "values": [True]}, True, True),
    ({"kind": "numeric", "values": [1]}, True, False),
    ({"kind": "numeric", "values": [0.001]}, 0.003, False),
    ({"kind": "numeric", "values": [32, 32]}, (32, 32, 3), False),
    ({"kind": "character", "values": ["auto"]}, "Auto", False),
    ({"kind": "NULL"}, (), False),
    ({"kind": "other"}, "x", False),
])
def test_the_comparison_of_defaults(r_default, py_default, same):
    assert same_value(r_default, canon_py(py_default)) is same
