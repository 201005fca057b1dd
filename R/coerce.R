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

# An R layer index (1-based; negative counts from the end: -1 is the last) -> Python's 0-based
# index. Names pass through. 0, fractions and NA are errors that name the argument.
as_py_index <- function(i, arg = "layer", fn = "cnnkit") {
  if (is.character(i) || is.null(i)) return(i)
  if (!is.numeric(i) || length(i) != 1 || is.na(i) || i != trunc(i) || i == 0) {
    stop(fn, "(): `", arg, "` must be a layer name or a whole-number index (1 is the first layer, ",
         "-1 the last; 0 is not an index in R), got ", deparse(i), ".", call. = FALSE)
  }
  if (i > 0) as.integer(i - 1) else as.integer(i)
}
