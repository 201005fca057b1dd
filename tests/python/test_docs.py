"""Every public Python function has a docstring; every exported R object has a help page; the R help
pages (man/) and NAMESPACE are what roxygen2 writes from the roxygen comments (`make docs`)."""

from __future__ import annotations

import inspect
import re
import subprocess

import pytest

import cnnkit
from conftest import ROOT, _r_source_copy, r_env


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


def _roxygen_files(pkg) -> dict[str, bytes]:
    """What roxygen2 writes (man/*.Rd, NAMESPACE, DESCRIPTION's RoxygenNote), by path, as bytes."""
    files = ["NAMESPACE", "DESCRIPTION", *(f"man/{p.name}" for p in (pkg / "man").iterdir() if p.is_file())]
    return {f: (pkg / f).read_bytes() for f in files}


@pytest.mark.needs_r
def test_man_and_namespace_are_what_make_docs_writes(tmp_path):
    """scripts/docs.sh (make docs) on a copy of the package changes nothing: every help page and
    NAMESPACE is what roxygen2 writes from the roxygen comments in R/, byte for byte, with the
    roxygen2 that DESCRIPTION's RoxygenNote names."""
    copy = _r_source_copy(tmp_path)
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "docs.sh"), str(copy)], env=r_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    committed, written = _roxygen_files(ROOT), _roxygen_files(copy)
    stale = sorted(f for f in committed.keys() & written.keys() if committed[f] != written[f])
    stale += sorted(f"{f} (roxygen2 writes it; missing here)" for f in written.keys() - committed.keys())
    stale += sorted(f"{f} (roxygen2 no longer writes it)" for f in committed.keys() - written.keys())
    if stale:
        note = re.search(r"^RoxygenNote: (.+)$", committed["DESCRIPTION"].decode(), re.M)
        version = re.search(r"roxygen2 ([\d.]+)\)", proc.stdout)
        pytest.fail(f"out of date with the roxygen comments in R/: {', '.join(stale)}. Run `make docs` and "
                    f"commit the result (RoxygenNote {note and note.group(1)}; roxygen2 here "
                    f"{version and version.group(1)}).")
