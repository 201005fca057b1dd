#!/usr/bin/env bash
# Lint and type checks, part of both test tiers (scripts/test.sh runs this before pytest: make check and
# make test): ruff over the package, its tests and the benchmarks; mypy over the package. Their settings
# are [tool.ruff] and [tool.mypy] in python/pyproject.toml, the tools pinned in python/requirements-lint.txt.
# Runs both, prints the seconds each took, exits non-zero if either fails. Needs the .venv of scripts/setup.sh.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
now() { date +%s.%N; }
status=0
t0=$(now)
.venv/bin/ruff check --config python/pyproject.toml python/cnnkit tests/python tests/spec bench || status=1
t1=$(now)
.venv/bin/mypy --config-file python/pyproject.toml || status=1
t2=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v s="$status" 'BEGIN {
  printf "[lint] ruff %.1f s, mypy %.1f s%s\n", b - a, c - b, (s == 0 ? "" : ": FAILED (fix what is listed above)") }'
exit "$status"
