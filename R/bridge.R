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
#' @examplesIf cnnkit_available()
#' input <- keras$layers$Input(tuple(32L, 32L, 3L))
#' keras$layers$Conv2D(32L, tuple(3L, 3L), padding = "same")(input)
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
#' @examplesIf cnnkit_available()
#' tuple(32L, 32L, 3L)
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
  register_vignette_engine()
  # Which Python, and py_require(): set when reticulate loads (library(cnnkit) itself loads neither
  # reticulate nor Python), so they are in place before anything starts Python.
  setHook(packageEvent("reticulate", "onLoad"), function(...) python_preferences())
  if (isNamespaceLoaded("reticulate")) python_preferences()
}

# The value of `keras`: a reticulate delay-load proxy, made once, on first use.
keras_module <- function() {
  if (is.null(.cnnkit$keras)) {
    use_cnnkit_python()
    # Python already running: reticulate imports at once (no delay), so check the set-up first
    if (reticulate::py_available(initialize = FALSE)) py_cnnkit()
    .cnnkit$keras <- reticulate::import("keras", delay_load = list(
      before_load = function() py_cnnkit(),
      on_error = function(e) stop(python_problem_message(paste0("the Python module keras cannot be imported (",
                                                                 py_error_line(e), ")")), call. = FALSE)
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

# Run once, when reticulate is loaded (or at cnnkit's first call): the Python the user chose wins
# (RETICULATE_PYTHON, use_python(), ...); otherwise r-cnnkit, the environment install_cnnkit() made,
# where it exists (reticulate's optional preference, ahead of its own default environments); and, on
# reticulate >= 1.41, cnnkit's requirements for the environment reticulate provisions when there is
# no other (py_require(), as keras3 does).
python_preferences <- function() {
  if (isTRUE(.cnnkit$preferences_set)) return(invisible())
  .cnnkit$preferences_set <- TRUE
  .cnnkit$python_running_at_load <- reticulate::py_available(initialize = FALSE)
  env <- cnnkit_envname()
  if (!.cnnkit$python_running_at_load && is.null(user_python_choice()) && reticulate::virtualenv_exists(env)) {
    reticulate::use_virtualenv(env, required = FALSE)
    .cnnkit$preferred <- reticulate::virtualenv_python(env)
  }
  tryCatch(declare_requirements(), error = function(e) {
    .cnnkit$py_require_error <- conditionMessage(e)
  })
  invisible()
}

# Where the user chose a Python: how (a few words), else NULL.
user_python_choice <- function() {
  for (var in c("RETICULATE_PYTHON", "RETICULATE_PYTHON_ENV")) {
    if (nzchar(Sys.getenv(var))) return(paste0("the environment variable ", var))
  }
  required <- tryCatch(get(".globals", envir = asNamespace("reticulate"))$required_python_version,
                       error = function(e) NULL)
  if (!is.null(required)) return("reticulate::use_python() (or use_virtualenv(), use_condaenv())")
  # (once Python runs in a virtual environment, reticulate sets VIRTUAL_ENV itself)
  if (nzchar(Sys.getenv("VIRTUAL_ENV")) && !reticulate::py_available(initialize = FALSE)) {
    return("an activated virtual environment (VIRTUAL_ENV)")
  }
  NULL
}

# At cnnkit's first call: the preferences (if reticulate was loaded only now), and whether Python was
# already running then (started by something else, before cnnkit could choose).
use_cnnkit_python <- function() {
  if (is.null(.cnnkit$python_running_at_first_call)) {
    python_preferences()
    .cnnkit$python_running_at_first_call <- reticulate::py_available(initialize = FALSE)
  }
  invisible()
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
#' @examplesIf cnnkit_available()
#' py_cnnkit()$simple_cnn()$count_params()
#' @export
py_cnnkit <- function() {
  if (is.null(.cnnkit$module)) {
    module <- py_cnnkit_module()
    problem <- python_problem(module)
    if (!is.null(problem)) stop(python_problem_message(problem), call. = FALSE)
    .cnnkit$module <- module
  }
  .cnnkit$module
}

# The bundled Python package, imported (it needs no Keras to import), with no check of the set-up:
# for cnnkit_config(), which reports what is missing instead of failing.
py_cnnkit_module <- function() {
  if (is.null(.cnnkit$bare_module)) {
    use_cnnkit_python()
    path <- cnnkit_python_path()
    .cnnkit$bare_module <- tryCatch(
      reticulate::import_from_path("cnnkit", path = path),
      error = function(e) stop(python_problem_message(paste0("the bundled Python package cnnkit cannot be ",
                                                             "imported (", py_error_line(e), ")")), call. = FALSE)
    )
  }
  .cnnkit$bare_module
}

#' Is cnnkit's Python available?
#'
#' `TRUE` when cnnkit can really build a model: the Python in use has Keras,
#' TensorFlow and a NumPy this reticulate can exchange arrays with, and Keras
#' builds and runs a one-layer model there; `FALSE` otherwise (never an error;
#' [cnnkit_config()] says what is missing). It starts Python if it has
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
    if (is.null(.cnnkit$builds_model)) {
      .cnnkit$builds_model <- is.null(reticulate::import("cnnkit.config")$build_check())
    }
    .cnnkit$builds_model
  }, error = function(e) FALSE)
}
