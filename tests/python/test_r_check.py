"""R CMD build + R CMD check --no-manual: no ERROR and no WARNING (tests and vignettes are run
elsewhere in this suite, so check skips them here)."""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT, r_env


def test_r_cmd_check_has_no_errors_or_warnings(tmp_path):
    env = r_env()
    env["_R_CHECK_FORCE_SUGGESTS_"] = "false"
    build = subprocess.run(["R", "CMD", "build", "--no-build-vignettes", "--no-manual", str(ROOT)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(tmp_path.glob("cnnkit_*.tar.gz"))
    check = subprocess.run(["R", "CMD", "check", "--no-manual", "--no-tests", "--ignore-vignettes",
                            "--no-build-vignettes", tarball.name],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    out = check.stdout + check.stderr
    status = re.search(r"Status: (.*)", out)
    assert status, out
    assert "ERROR" not in status.group(1) and "WARNING" not in status.group(1), out
