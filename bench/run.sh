#!/usr/bin/env bash
# Run one benchmark script in the project's environment (set-up first, idempotent).
#   bash bench/run.sh acceptance/r_bridge_transfer.R   # R scripts run with Rscript
#   bash bench/run.sh acceptance/main_job.py           # Python scripts with the .venv's Python
#   bash bench/run.sh main_job.py                      # a script's name alone: found in bench/*/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh >/dev/null
export R_LD_LIBRARY_PATH=/usr/lib/R/lib RETICULATE_PYTHON="$root/.venv/bin/python" R_LIBS="$root/.rlib"
script="bench/$1"; shift
if [ ! -f "$script" ]; then
  found=(bench/*/"$(basename "$script")")
  if [ ! -f "${found[0]}" ]; then echo "bench/run.sh: no such script: $script" >&2; exit 2; fi
  script="${found[0]}"
fi
case "$script" in
  *.R) exec Rscript --vanilla "$script" "$@" ;;
  *.py) exec .venv/bin/python "$script" "$@" ;;
  *) echo "bench/run.sh: unknown script type: $script" >&2; exit 2 ;;
esac
