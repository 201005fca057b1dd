# The bridge to Python: the lazily imported `keras` module, the bundled `cnnkit`
# Python package, and the environment that keeps TensorFlow quiet.

#' The Keras 3 Python module, imported lazily
#'
#' `keras` is the Python module `keras`, exactly as `reticulate::import("keras")`
#' returns it, so the workshop's code runs verbatim after `library(cnnkit)`:
#' `keras$layers$Conv2D(32L, tuple(3L, 3L), padding = "same")`. Nothing is
#' loaded when the package is attached (not even reticulate): the first use of
#' `keras` loads reticulate and makes a delay-load proxy, and Python starts when
#' a Keras function is first called. TensorFlow's start-up log lines are
#' filtered out of the console.
#'
#' Remember that Python wants integers where Keras expects sizes: write `32L`
#' (or use cnnkit's functions, which convert `32` for you) and `tuple()` for
#' shapes.
#'
#' @format A `python.builtin.module` (an active binding: created on first use).
#' @examples
#' \dontrun{
#' input <- keras$layers$Input(tuple(32L, 32L, 3L))
#' keras$layers$Conv2D(32L, tuple(3L, 3L), padding = "same")(input)
#' }
#' @export
keras <- NULL

#' Create a Python tuple
#'
#' `reticulate::tuple()`, re-exported so the slides' `tuple(3L, 3L)` works after
#' `library(cnnkit)` (loading reticulate only when it is first called).
#'
#' @param ... The tuple's elements (use integers such as `3L` for sizes).
#' @param convert Convert the result back to R when it is returned from Python?
#'   `TRUE` or `FALSE`.
#' @return A Python tuple.
#' @examples
#' \dontrun{
#' tuple(32L, 32L, 3L)
#' }
#' @export
tuple <- function(..., convert = FALSE) {
  if (!isTRUE(convert) && !isFALSE(convert)) {
    stop("tuple(): `convert` must be TRUE or FALSE, got ", paste(deparse(convert), collapse = " "), ".", call. = FALSE)
  }
  reticulate::tuple(..., convert = convert)
}

.cnnkit <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  python_env_defaults()
  ns <- topenv()
  rm("keras", envir = ns)
  makeActiveBinding("keras", keras_module, ns)
}

# The value of `keras`: a reticulate delay-load proxy, made once, on first use.
keras_module <- function() {
  if (is.null(.cnnkit$keras)) {
    use_cnnkit_python()
    .cnnkit$keras <- reticulate::import("keras", delay_load = list(
      before_load = function() py_cnnkit(),
      on_error = function(e) stop(python_missing_message("keras", e), call. = FALSE)
    ))
  }
  .cnnkit$keras
}

# Read once, when Python starts: set them before it does (a user's own settings win).
# - TF_CPP_MIN_LOG_LEVEL, KERAS_BACKEND: a quiet TensorFlow backend.
# - RETICULATE_REMAP_OUTPUT_STREAMS: route Python's print() (model$summary(), Keras progress
#   bars) through R's console, so sink(), capture.output() and knitr see it. reticulate 1.28
#   only does this on Windows by default; elsewhere the text bypasses R.
python_env_defaults <- function() {
  defaults <- c(TF_CPP_MIN_LOG_LEVEL = "2", KERAS_BACKEND = "tensorflow", RETICULATE_REMAP_OUTPUT_STREAMS = "1")
  unset <- defaults[!nzchar(Sys.getenv(names(defaults)))]
  if (length(unset)) do.call(Sys.setenv, as.list(unset))
  invisible()
}

# Prefer RETICULATE_PYTHON; otherwise the environment install_cnnkit() made.
use_cnnkit_python <- function() {
  if (nzchar(Sys.getenv("RETICULATE_PYTHON"))) return(invisible(FALSE))
  env <- cnnkit_envname()
  if (!reticulate::py_available(initialize = FALSE) && reticulate::virtualenv_exists(env)) {
    reticulate::use_virtualenv(env, required = FALSE)
    return(invisible(TRUE))
  }
  invisible(FALSE)
}

cnnkit_envname <- function() Sys.getenv("CNNKIT_ENVNAME", "r-cnnkit")

# The Python package carried inside the installed R package (same version).
cnnkit_python_path <- function() {
  path <- Sys.getenv("CNNKIT_PYTHON_PATH")
  if (!nzchar(path)) path <- system.file("python", package = "cnnkit")
  if (!nzchar(path) || !file.exists(file.path(path, "cnnkit", "__init__.py"))) {
    stop("The Python half of cnnkit was not found inside the installed R package ",
         "(expected <library>/cnnkit/python/cnnkit). Reinstall the R package from ",
         "the cnnkit source tree (R CMD INSTALL runs ./configure, which copies it), ",
         "or set CNNKIT_PYTHON_PATH to the folder that contains cnnkit/.", call. = FALSE)
  }
  normalizePath(path)
}

#' The cnnkit Python module
#'
#' Returns the Python package `cnnkit` bundled with this R package (imported on
#' first use, which starts Python). Every cnnkit R function calls into it; use
#' it directly for anything the R wrappers do not cover.
#'
#' @return The Python module `cnnkit` (a `python.builtin.module`).
#' @examples
#' \dontrun{
#' py_cnnkit()$simple_cnn()$count_params()
#' }
#' @export
py_cnnkit <- function() {
  if (is.null(.cnnkit$module)) {
    use_cnnkit_python()
    path <- cnnkit_python_path()
    module <- tryCatch(
      reticulate::import_from_path("cnnkit", path = path),
      error = function(e) stop(python_missing_message("cnnkit", e), call. = FALSE)
    )
    .cnnkit$module <- module
  }
  .cnnkit$module
}

python_missing_message <- function(module, e) {
  python <- tryCatch(reticulate::py_config()$python, error = function(e2) "none found")
  paste0(
    "Could not import the Python module '", module, "' (Python: ", python, ").\n",
    "cnnkit needs Python with keras, tensorflow and numpy. Either run ",
    "cnnkit::install_cnnkit() once and restart R, or set RETICULATE_PYTHON to a ",
    "Python that has them.\nPython said: ", conditionMessage(e)
  )
}

#' Is cnnkit's Python available?
#'
#' `TRUE` when the Python half of cnnkit (with keras, tensorflow and numpy) can
#' be imported, `FALSE` otherwise (never an error). It starts Python if it has
#' not started yet. The help pages' examples run only when it is `TRUE`
#' (`@examplesIf cnnkit_available()`), so `R CMD check` on a machine without
#' cnnkit's Python skips them cleanly; run [install_cnnkit()] once, or set
#' `RETICULATE_PYTHON`, to make it `TRUE`.
#'
#' @return `TRUE` or `FALSE`.
#' @examples
#' cnnkit_available()
#' @export
cnnkit_available <- function() {
  tryCatch({
    py_cnnkit()
    TRUE
  }, error = function(e) FALSE)
}
