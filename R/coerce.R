# Coercion at the R/Python seam. R numbers are doubles; Keras wants int sizes.
# Whole numbers become integers here; anything else is passed on unchanged so
# the Python side rejects it with a message that names the argument.

# 32 -> 32L, c(3, 3) -> c(3L, 3L) (a Python list); 2.5, "a", NULL unchanged.
as_py_int <- function(x) {
  if (is.numeric(x) && !is.object(x) && length(x) > 0 && is.null(dim(x)) &&
      all(is.finite(x)) && all(x == trunc(x)) && all(abs(x) <= .Machine$integer.max)) {
    return(as.integer(x))
  }
  x
}

# A shape such as c(32, 32, 3) -> tuple(32L, 32L, 3L); bad entries go to Python as they are.
as_py_shape <- function(x) {
  x <- as_py_int(x)
  if (is.numeric(x) && length(x) >= 1) return(do.call(reticulate::tuple, as.list(x)))
  x
}

# Call a function of the Python package and turn a Python exception into a
# short R error: the Python message (which names the argument) without the
# reticulate call and traceback. The R session is never at risk.
cnnkit_call <- function(.fn, ...) {
  fun <- py_cnnkit()[[.fn]]
  tryCatch(fun(...), error = function(e) stop(py_error_message(e), call. = FALSE))
}

py_error_message <- function(e) {
  msg <- conditionMessage(e)
  msg <- sub("\n*Detailed traceback:.*$", "", msg)
  msg <- sub("\n*Run `reticulate::py_last_error\\(\\)` for details\\.?\\s*$", "", msg)
  trimws(msg)
}

# Labels at the seam: class ids are 0-based in Keras. The rule: a factor's levels, in order, are
# classes 0, 1, 2, ... (as.integer(f) - 1); logicals become 0/1; whole numbers are taken as given
# (already 0-based ids) and become integers; anything else goes to Python to be rejected.
as_py_labels <- function(y) {
  if (is.factor(y)) return(as.integer(y) - 1L)
  if (is.logical(y) && !anyNA(y)) return(as.integer(y))
  if (is.numeric(y) && !is.object(y) && length(y) > 0 && all(is.finite(y)) && all(y == trunc(y)) &&
      all(abs(y) <= .Machine$integer.max)) {
    d <- dim(y)
    y <- as.integer(y)
    if (!is.null(d) && length(d) > 1) dim(y) <- d
    return(y)
  }
  y
}

# Training data at the seam: list(x, y) (or list(x = , y = )) -> a Python tuple with 0-based labels;
# a Python object (a tf.data.Dataset from image_folder()) passes through. R arrays are handed to
# reticulate as they are: it converts column-major R arrays to NumPy correctly (never transpose).
as_py_data <- function(data) {
  if (is.null(data) || inherits(data, "python.builtin.object")) return(data)
  if (is.list(data) && !is.data.frame(data) && length(data) == 2) {
    if (all(c("x", "y") %in% names(data))) data <- data[c("x", "y")]
    return(reticulate::tuple(data[[1]], as_py_labels(data[[2]])))
  }
  data
}

# Keras' display: "auto" means a progress bar in an interactive session and one line per epoch
# (verbose = 2) otherwise (Rscript, knitr, R CMD check), where a carriage-return bar would fill the
# log with partial lines.
as_py_verbose <- function(verbose) {
  if (identical(verbose, "auto")) {
    return(if (interactive() && !isTRUE(getOption("knitr.in.progress"))) 1L else 2L)
  }
  as_py_int(verbose)
}

# A Python dict of equal-length lists (a history, a per-class table) -> data.frame.
as_r_data_frame <- function(x) {
  x <- lapply(x, function(col) if (is.list(col)) unlist(col) else col)
  as.data.frame(x, stringsAsFactors = FALSE, check.names = FALSE)
}

# Class ids (0-based) -> a factor whose levels are the class names.
as_r_factor <- function(ids, class_names) {
  factor(class_names[as.integer(ids) + 1L], levels = class_names)
}

# An R vector -> a Python list (length-one vectors too); NULL stays NULL (Python None, not []).
as_py_list <- function(x) if (is.null(x)) NULL else as.list(x)
