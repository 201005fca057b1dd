"""The R package's pure-R seam functions against their Python counterparts, in one process, through rpy2.

pytest embeds R (rpy2) and loads the installed R package (``library(cnnkit)`` from ``.rlib``, which
loads no Python), then checks, on cases Hypothesis generates, that what R hands to Python means what
R users mean:

- layer ranges: R's ``from``/``to`` (1-based, negative from the end, both ends included, or names)
  through ``as_py_range()`` and then Python's own ``freeze.layer_range()`` (which resolves names and
  checks range and order, in R's terms when called from R) against the reference meaning, on lists
  of names of every length 0..30; errors name the argument and R's value;
- ``as_py_index()``: a 1-based / negative R index, used as Python indexes a list;
- ``py_slice_positions(n, start, stop, step)`` against ``list(range(n))[start:stop:step]``;
- ``as_py_int()`` (R's integer coercion of doubles) against ``_arg_checks._is_intlike`` and ``MAX_INT``;
- ``py_for()``'s warning about ``x[-a:-b]``: what it says R does, against what R does.

Only R code that never touches reticulate runs here: reticulate 1.28 inside R embedded in Python
calling back into this Python aborts the process (reticulate issue 208; README, "rpy2 in the tests").
The last test checks that reticulate was never loaded.
"""

from __future__ import annotations

import math
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT

pytestmark = pytest.mark.needs_r

LENGTHS = range(0, 31)
SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class _NA:
    def __repr__(self) -> str:
        return "NA"


NA = _NA()  # R's NA (as NA_real_)


@pytest.fixture(scope="module")
def r():
    """R embedded in this process with the worktree's R package loaded; reticulate must stay unloaded."""
    os.environ["R_LIBS"] = str(ROOT / ".rlib")  # read by R when rpy2 starts it (scripts/test.sh sets it too)
    import rpy2.robjects as ro

    ro.r("suppressPackageStartupMessages(library(cnnkit))")
    where = ro.r('normalizePath(find.package("cnnkit"))')[0]
    assert where == str((ROOT / ".rlib" / "cnnkit").resolve()), f"cnnkit loaded from {where}, not .rlib"
    ro.r("""
    .seam <- function(f, ...) tryCatch(list(ok = TRUE, value = f(...)),
                                       error = function(e) list(ok = FALSE, message = conditionMessage(e)))
    .slice_warning <- function(n, a, b) {
      x <- as.list(seq_len(n))
      expr <- bquote(x[-.(a):-.(b)])
      kept <- eval(expr)
      message <- cnnkit:::r_negative_slice_message(expr, length(kept), environment())
      list(kept = as.integer(unlist(kept)), message = message)
    }
    """)
    yield ro
    assert not ro.r('"reticulate" %in% loadedNamespaces()')[0], \
        "reticulate was loaded inside the embedded R (it aborts this process: reticulate issue 208)"


def _r(ro, value):
    """A Python test value as R sees a user's value: numbers as doubles (R's literals), NULL, NA."""
    if value is None:
        return ro.NULL
    if value is NA:
        return ro.NA_Real
    if isinstance(value, str):
        return ro.StrVector([value])
    return ro.FloatVector([float(value)])


def _seam(ro, fn, *args):
    out = ro.r[".seam"](ro.r(f"cnnkit:::{fn}"), *args)
    out = dict(zip(out.names, out))
    if not out["ok"][0]:
        return False, out["message"][0]
    return True, out["value"]


def _scalar(x):
    """An R value returned through rpy2 -> None (NULL) or its one element (int, float or str)."""
    from rpy2.rinterface import NULL

    if x is NULL or x is None:
        return None
    assert len(x) == 1, list(x)
    return x[0]


# --- layer ranges: R's from/to -> Python's selection, against what R users mean -------------------

def _reference(names: list[str], frm, to):
    """R users' meaning of unfreeze(from =, to =): ('ok', the names selected), ('bad', the arguments
    that are bad on their own; none when the model has no layers) or ('order', ()): from after to."""
    n = len(names)

    def position(value, default):
        if value is None:
            return default
        if value is NA:
            return None
        if isinstance(value, str):
            return names.index(value) + 1 if value in names else None
        if not math.isfinite(value) or value != int(value) or value == 0 or abs(value) > n:
            return None
        return int(value) if value > 0 else n + int(value) + 1

    f, t = position(frm, 1), position(to, n)
    bad = tuple(arg for arg, p in (("from", f), ("to", t)) if p is None)
    if bad or n == 0:
        return "bad", bad
    if f > t:
        return "order", ()
    return "ok", names[f - 1:t]


def _python_selection(names, start, stop):
    from cnnkit import _lang
    from cnnkit._context import called
    from cnnkit.freeze import layer_range

    _lang.enter_r()  # as the R package does around each call (cnnkit_call())
    try:
        with called("unfreeze"):  # the function whose messages these are
            return True, [names[i] for i in layer_range(names, start, stop)]
    except (TypeError, ValueError) as err:
        return False, str(err)
    finally:
        _lang.leave_r()


def _bound(names):
    whole = st.integers(-35, 35).map(float)
    odd = st.sampled_from([0.5, -2.5, 1e12, -1e12, math.inf, -math.inf, math.nan, NA])
    known = st.sampled_from(names) if names else st.nothing()
    unknown = st.text("abc_1", min_size=0, max_size=4).filter(lambda s: s not in names)
    return st.one_of(st.none(), whole, whole, odd, known, known, unknown)


def _names(n):
    return st.lists(st.text("abcdefg_0123456789", min_size=1, max_size=8), min_size=n, max_size=n, unique=True)


@pytest.mark.parametrize("n", LENGTHS)
def test_from_to_select_what_r_users_mean(r, n):
    @SETTINGS
    @given(data=st.data())
    def check(data):
        names = data.draw(_names(n), label="names")
        frm = data.draw(_bound(names), label="from")
        to = data.draw(_bound(names), label="to")
        case = f"unfreeze(from = {frm!r}, to = {to!r}) over {n} layers {names}"
        ok, value = _seam(r, "as_py_range", _r(r, frm), _r(r, to), "unfreeze")
        want, expected = _reference(names, frm, to)
        if frm is None and to is None:  # no range: both bounds NULL, Python sees no selector
            assert ok and _scalar(value.rx2("start")) is None and _scalar(value.rx2("stop")) is None, case
            return
        if ok:
            start, stop = _scalar(value.rx2("start")), _scalar(value.rx2("stop"))
            assert start is not None, f"{case}: a range reached Python with start None (read as no range)"
            ok, got = _python_selection(names, start, stop)
            case += f" -> Python start={start!r}, stop={stop!r}"
        else:
            got = value
        if want == "ok":
            assert ok, f"{case}: error {got!r}, R users mean {expected}"
            assert got == expected, f"{case}: selects {got}, R users mean {expected}"
            return
        assert not ok, f"{case}: selects {got}, R users get an error ({want}: {expected})"
        assert got.startswith("unfreeze(): "), f"{case}: {got}"
        named = {arg for arg in ("from", "to") if f"`{arg}`" in got}
        if n == 0:  # no layer at all: any range is an error
            assert named or "no layers" in got, f"{case}: {got}"
            return
        if want == "order":
            assert named == {"from", "to"} and "comes after" in got, f"{case}: {got}"
            assert all(layer in got for layer in _named_layers(names, frm, to)), f"{case}: {got}"
            return
        assert named and named <= set(expected), f"{case}: names {sorted(named)}, the bad ones are {expected}: {got}"
        if len(named) == 1:
            (arg,) = named
            value = frm if arg == "from" else to
            if isinstance(value, float) and value.is_integer() and value:
                # an out-of-range position is shown as the R user wrote it, with R's positions for this model
                assert f"`{arg}` = {int(value)} is out of range: the model has {n} layer" in got, f"{case}: {got}"
                assert f"positions 1..{n} or -{n}..-1" in got, f"{case}: {got}"

    check()


def _named_layers(names, frm, to):
    n = len(names)
    pos = [names.index(v) if isinstance(v, str) else int(v) - 1 if v > 0 else n + int(v) for v in (frm, to)]
    return [f"layer {p + 1}, {names[p]}" for p in pos]


# --- as_py_index(): one R index -> Python's index of a list ----------------------------------------

@pytest.mark.parametrize("n", LENGTHS)
def test_as_py_index_is_python_indexing_of_the_r_position(r, n):
    @SETTINGS
    @given(i=st.one_of(st.integers(-35, 35).map(float), st.sampled_from([0.5, -1.5, math.nan, NA])))
    def check(i):
        names = [f"layer{k}" for k in range(n)]
        ok, value = _seam(r, "as_py_index", _r(r, i), "layer", "feature_maps")
        case = f"as_py_index({i!r}) over {n} layers"
        if i is NA or not math.isfinite(i) or not float(i).is_integer() or i == 0:
            assert not ok and "feature_maps(): `layer`" in value, f"{case}: {value}"
            return
        assert ok, f"{case}: {value}"
        j = _scalar(value)
        assert isinstance(j, int), f"{case}: {j!r} is not an integer"
        want = names[int(i) - 1] if 1 <= i <= n else names[n + int(i)] if -n <= i <= -1 else None
        try:
            got = names[j]
        except IndexError:
            got = None
        assert got == want, f"{case} -> Python index {j}: {got!r}, the R position means {want!r}"

    check()


# --- py_slice_positions(): R's implementation of Python's slice ------------------------------------

@pytest.mark.parametrize("n", LENGTHS)
def test_py_slice_positions_is_pythons_slice(r, n):
    bound = st.one_of(st.none(), st.integers(-40, 40))

    @SETTINGS
    @given(start=bound, stop=bound, step=st.one_of(st.just(1), st.integers(-5, 5).filter(bool)))
    def check(start, stop, step):
        rv = lambda v: r.NULL if v is None else r.IntVector([v])  # noqa: E731 - as py_slice() passes them
        got = r.r("cnnkit:::py_slice_positions")(r.IntVector([n]), rv(start), rv(stop), r.IntVector([step]))
        want = list(range(n))[start:stop:step]
        assert [p - 1 for p in got] == want, f"py_slice_positions({n}, {start}, {stop}, {step}) - 1: {list(got)}, " \
                                             f"Python's list(range({n}))[{start}:{stop}:{step}]: {want}"

    check()


# --- as_py_int(): R's integer coercion of doubles vs Python's whole-number check ------------------

def test_as_py_int_agrees_with_pythons_whole_number_check(r):
    from cnnkit import _arg_checks

    assert r.r(".Machine$integer.max")[0] == _arg_checks.MAX_INT
    number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**33, 2**33).map(float),
                       st.sampled_from([0.0, -0.0, 2.0**31 - 1, 2.0**31, -(2.0**31 - 1), -(2.0**31), 2.5, 1e-300]))

    @SETTINGS
    @given(xs=st.lists(number, min_size=1, max_size=4))
    def check(xs):
        got = r.r("cnnkit:::as_py_int")(r.FloatVector(xs))
        whole = all(_arg_checks._is_intlike(x) and abs(x) <= _arg_checks.MAX_INT for x in xs)
        case = f"as_py_int(c({', '.join(map(repr, xs))}))"
        assert (r.r("is.integer")(got)[0]) == whole, f"{case}: R integer: {not whole}, Python whole number: {whole}"
        if whole:
            assert list(got) == [int(x) for x in xs], f"{case}: {list(got)}"
        else:
            assert [repr(v) for v in got] == [repr(x) for x in xs], f"{case}: changed to {list(got)}"

    check()


# --- py_for()'s warning about x[-a:-b]: its claims against R's and Python's results ---------------

@pytest.mark.parametrize("n", LENGTHS)
def test_negative_slice_warning_says_what_r_does(r, n):
    @SETTINGS
    @given(a=st.integers(0, 35), b=st.integers(0, 35))
    def check(a, b):
        out = r.r[".slice_warning"](r.IntVector([n]), r.FloatVector([a]), r.FloatVector([b]))
        out = dict(zip(out.names, out))
        kept = list(out["kept"])  # R's actual x[-a:-b] of x = list(1, ..., n): the elements kept
        message = out["message"][0]
        case = f"x[-{a}:-{b}] of {n} elements"
        dropped = sorted(set(range(1, n + 1)) - set(kept))
        claim = re.search(r"it DROPS (?:elements (\d+) to (\d+)|element (\d+)|(no element) \(none of them exists\)) "
                          r"and keeps the other (\d+) of (\d+); Python's \[-(\d+):-(\d+)\] would select (\d+) elements", message)
        assert claim, f"{case}: {message}"
        lo, hi, one, none, k, total, pa, pb, py = claim.groups()
        said = [] if none else [int(one)] if one else list(range(int(lo), int(hi) + 1))
        assert said == dropped, f"{case}: the warning says R drops {said}, R drops {dropped}: {message}"
        assert (int(k), int(total)) == (len(kept), n), f"{case}: {message}"
        assert (int(pa), int(pb)) == (a, b), f"{case}: {message}"
        assert int(py) == len(list(range(n))[-a:-b]), f"{case}: Python's slice has {len(list(range(n))[-a:-b])}"
        fix = f"py_slice(x, -{a}, -{b})"
        assert fix in message, f"{case}: {message}"
        assert [p - 1 for p in r.r("cnnkit:::py_slice_positions")(n, -a, -b)] == list(range(n))[-a:-b], case

    check()


def test_reticulate_was_never_loaded_in_the_embedded_r(r):
    """The guard, as a test of its own (the fixture checks it again when the module ends)."""
    assert not r.r('"reticulate" %in% loadedNamespaces()')[0]
    assert r.r('is.null(get(".cnnkit", asNamespace("cnnkit"))$module)')[0]  # cnnkit's Python never imported
