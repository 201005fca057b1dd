# The set-up doctor (cnnkit_config(), the R side of python/cnnkit/config.py) and the one-paragraph
# message of cnnkit's first call when the Python in use cannot run cnnkit.

#' Check cnnkit's set-up: which Python, versions, CPU, GPUs, cache, limits
#'
#' The set-up doctor, like `reticulate::py_config()` and
#' `tensorflow::tf_config()`: R's side (R and reticulate versions, which Python
#' is in use and why it was chosen) and the Python report of `cnnkit.config()`
#' (the same as `cnnkit doctor` on the command line): the versions of Python,
#' TensorFlow, Keras and NumPy and whether they work together (Keras builds and
#' runs a model; this reticulate can exchange arrays with this NumPy: reticulate
#' before 1.36 cannot with NumPy 2), the CPU's AVX-512, AVX512_BF16 and AMX
#' units, the GPUs TensorFlow sees, what `precision = "auto"` picks on this
#' machine, the Keras cache and which backbones' ImageNet weights are in it, and
#' the limits in force ([limits()]). One screen, plain words; every problem
#' comes with its fix.
#'
#' It starts Python if it has not started (as any cnnkit function does), but
#' never fails for a missing package: it reports it.
#'
#' @return A `cnnkit_config` object, printed as the report: a list with `ok`
#'   (`TRUE` when cnnkit can build and train models here), `problems` (one
#'   sentence each), `facts` (the findings as values: versions, CPU flags, GPUs,
#'   cache, limits) and `text` (the report).
#' @examples
#' cnnkit_config()
#' @export
cnnkit_config <- function() {
  r_row <- paste0(format(getRversion()), ", reticulate ", utils::packageVersion("reticulate"),
                  if (utils::packageVersion("reticulate") < "1.36") " (exchanges arrays with NumPy < 2 only)")
  module <- tryCatch(py_cnnkit_module(), error = function(e) e)
  if (inherits(module, "error")) {
    rows <- c(config_row("R", r_row), config_row("Python", "none that cnnkit can use"))
    text <- paste(c(paste("cnnkit", utils::packageVersion("cnnkit"), "set-up"), rows, "Problems:",
                    paste0("  - ", conditionMessage(module))), collapse = "\n")
    return(structure(list(ok = FALSE, problems = conditionMessage(module), facts = list(), text = text),
                     class = "cnnkit_config"))
  }
  report <- reticulate::import("cnnkit.config", convert = FALSE)$config()
  use <- python_in_use()
  report$add("R", r_row, at = 0L)
  report$add("Chosen", use$why, at = 2L)
  versions <- reticulate::py_to_r(report$facts$get("versions"))
  numpy <- numpy_problem(versions$numpy)
  if (!is.null(versions$numpy)) {
    report$add("With R", if (is.null(numpy)) paste0("yes: reticulate exchanges arrays with NumPy ", versions$numpy)
               else "no: NumPy 2 with a reticulate older than 1.36",
               problem = if (!is.null(numpy)) sub("^it has", "this Python has", numpy), at = 5L)
  }
  if (!is.null(numpy) || !isTRUE(reticulate::py_to_r(report$facts$get("builds_model", FALSE)))) {
    report$add("Fix (R)", paste(strwrap(paste0(python_fix(), "."), 90), collapse = "\n"))
  }
  ok <- reticulate::py_to_r(report$ok)
  structure(list(ok = ok, problems = unlist(reticulate::py_to_r(report$problems)),
                 facts = reticulate::py_to_r(report$facts), text = reticulate::py_str(report)),
            class = "cnnkit_config")
}

#' @export
print.cnnkit_config <- function(x, ...) {
  cat(x$text, sep = "\n")
  invisible(x)
}

config_row <- function(title, text) sprintf("%-13s%s", title, text)

# The Python reticulate uses (or will use) and why it was chosen, in words.
python_in_use <- function() {
  cfg <- tryCatch(reticulate::py_config(), error = function(e) NULL)
  if (is.null(cfg)) return(list(python = "none found", why = "reticulate found no Python"))
  env <- cnnkit_envname()
  env_python <- cnnkit_env_python()
  forced <- cfg$forced %||% ""
  why <- if (!is.null(env_python) && same_python(cfg$python, env_python)) {
    paste0(env, ", the environment install_cnnkit() made",
           if (grepl("RETICULATE_PYTHON", forced)) " (RETICULATE_PYTHON points at it)" else " (found by cnnkit)")
  } else if (isTRUE(cfg$ephemeral)) {
    "reticulate's own environment, provisioned with uv from the requirements cnnkit declares (py_require())"
  } else if (nzchar(forced)) {
    paste0("chosen by ", if (identical(forced, "RETICULATE_PYTHON")) "the environment variable RETICULATE_PYTHON" else forced,
           if (identical(forced, "the current process")) " (Python was already running)")
  } else {
    "found by reticulate's search (no RETICULATE_PYTHON, no r-cnnkit)"
  }
  list(python = cfg$python, why = why)
}

# The Python of the environment install_cnnkit() makes, where it exists; else NULL.
cnnkit_env_python <- function() {
  env <- cnnkit_envname()
  if (!reticulate::virtualenv_exists(env)) return(NULL)
  reticulate::virtualenv_python(env)
}

# Two paths of one environment's Python (a venv's bin/python is a link to the base Python: compare the
# folders, not the resolved files).
same_python <- function(a, b) {
  identical(normalizePath(dirname(a), mustWork = FALSE), normalizePath(dirname(b), mustWork = FALSE))
}

# What stops the Python in use (with the cnnkit module imported) from running cnnkit: a phrase, or NULL.
python_problem <- function(module) {
  versions <- reticulate::import("cnnkit.config", convert = TRUE)$versions()
  needed <- c(TensorFlow = "tensorflow", Keras = "keras", NumPy = "numpy")
  missing <- names(needed)[vapply(needed, function(m) is.null(versions[[m]]), logical(1))]
  if (length(missing)) {
    names <- if (length(missing) == 1) missing else
      paste(paste(missing[-length(missing)], collapse = ", "), "and", missing[length(missing)])
    return(paste("it has no", names))
  }
  numpy_problem(versions$numpy)
}

# reticulate before 1.36 cannot exchange arrays with NumPy 2 (install_cnnkit() pins NumPy < 2 there).
numpy_problem <- function(numpy, reticulate = utils::packageVersion("reticulate")) {
  if (is.null(numpy) || !grepl("^[0-9]+", numpy)) return(NULL)
  major <- as.integer(sub("^([0-9]+).*", "\\1", numpy))
  if (package_version(reticulate) >= "1.36" || major < 2) return(NULL)
  paste0("it has NumPy ", numpy, ", and reticulate ", reticulate, " cannot exchange arrays with NumPy 2 ",
         "(update reticulate to 1.36 or newer, or use a Python with NumPy < 2)")
}

# The one paragraph for the first call: what is wrong, which Python (and why), how to fix it.
python_problem_message <- function(what) {
  use <- python_in_use()
  paste0("cnnkit cannot run on this Python: ", what, ". Python in use: ", use$python, " (", use$why,
         "). To fix it: ", python_fix(), ". cnnkit_config() shows the whole set-up.")
}

python_fix <- function() {
  env <- cnnkit_envname()
  env_python <- cnnkit_env_python()
  choice <- user_python_choice()
  use <- python_in_use()
  using_env <- !is.null(env_python) && same_python(use$python, env_python)
  started_before <- isTRUE(.cnnkit$python_running_at_first_call) && is.null(choice) && !using_env
  if (using_env) return(paste0("repair the environment ", env, " with cnnkit::install_cnnkit(force = TRUE), then restart R"))
  if (!is.null(choice)) {
    return(paste0("you chose this Python with ", choice, ": install TensorFlow, Keras and NumPy into it, or ",
                  if (is.null(env_python)) paste0("unset that and run cnnkit::install_cnnkit() once (it creates ", env, ")")
                  else paste0("choose cnnkit's environment ", env, " (", env_python, ") instead"), ", and restart R"))
  }
  if (started_before && !is.null(env_python)) {
    return(paste0("Python was already running when cnnkit was first called (something else started it, such as ",
                  "reticulate::import() before library(cnnkit)), so cnnkit could not switch to its environment ",
                  env, " (", env_python, "). Restart R and run library(cnnkit) before anything that starts Python, ",
                  "or call reticulate::use_virtualenv(\"", env, "\") first"))
  }
  paste0(if (started_before) "Python was already running when cnnkit was first called (something else started it); ",
         "run cnnkit::install_cnnkit() once and restart R: it creates the environment ", env,
         ", which cnnkit then uses by itself",
         if (utils::packageVersion("reticulate") >= "1.41") paste0(
           " (or put uv on the PATH, pip install uv, and restart R: reticulate then provisions what cnnkit ",
           "declares with py_require() itself)"))
}

# The first line of a Python error as reticulate reports it.
py_error_line <- function(e) {
  lines <- strsplit(conditionMessage(e), "\n", fixed = TRUE)[[1]]
  lines <- trimws(lines[nzchar(trimws(lines))])
  if (!length(lines)) return("no message")
  lines[1]
}
