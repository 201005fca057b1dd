#!/usr/bin/env bash
# make docs: regenerate the R package's help pages (man/*.Rd) and NAMESPACE from the roxygen comments
# in R/*.R, with roxygen2 (Debian's r-cran-roxygen2, installed here if missing: there is no CRAN).
# DESCRIPTION's RoxygenNote records the roxygen2 that wrote them (7.2.3, Debian 12's); a different
# roxygen2 updates it. tests/python/test_docs.py runs this script on a copy of the package and fails
# when man/ or NAMESPACE differ from what is committed.
#   bash scripts/docs.sh [package folder; default: this repository]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$(cd "${1:-$root}" && pwd)"
log() { printf '[docs] %s\n' "$*"; }
if ! dpkg-query -W -f='${Status}' r-cran-roxygen2 2>/dev/null | grep -q "install ok installed"; then
  log "installing r-cran-roxygen2 (Debian)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends r-cran-roxygen2 >/dev/null
fi
cd "$pkg"
# roxygen2 loads the package's R code (pkgload); library(cnnkit) loads no Python, so none is needed.
R_LD_LIBRARY_PATH=/usr/lib/R/lib Rscript --vanilla -e 'roxygen2::roxygenise(roclets = c("rd", "namespace"))'
log "man/ and NAMESPACE regenerated in $pkg (roxygen2 $(R_LD_LIBRARY_PATH=/usr/lib/R/lib Rscript -e 'cat(format(packageVersion("roxygen2")))'))"
