#' A Keras model summary as text
#'
#' The table `model$summary()` prints, returned as one string (Python's
#' `cnnkit.summary_text()`). `print()` and `summary()` of a Keras model in R
#' show it.
#'
#' @param model A Keras model.
#' @param show_trainable Add the "Trainable" column.
#' @param expand_nested Expand nested models (e.g. a backbone).
#' @return A character string.
#' @examplesIf cnnkit_available()
#' cat(summary_text(simple_cnn()))
#' @export
summary_text <- function(model, show_trainable = FALSE, expand_nested = FALSE) {
  cnnkit_call("summary_text", .args = capture_args())
}

#' Print or summarise a Keras model
#'
#' Shows the Keras summary table (layers, output shapes, parameter counts)
#' instead of reticulate's one-line description of the Python object.
#'
#' @param x,object A Keras model.
#' @param ... Passed to [summary_text()] (`show_trainable`, `expand_nested`).
#' @return The model, invisibly.
#' @name print.keras_model
#' @examplesIf cnnkit_available()
#' model <- simple_cnn()
#' model                              # same as print(model)
#' summary(model, show_trainable = TRUE)
#' @export
print.keras.src.models.model.Model <- function(x, ...) {
  if (reticulate::py_is_null_xptr(x)) {   # readRDS() of a saved model: say so rather than fail in Python
    cat("<an empty Keras model object: restored from an R file, which Python objects do not survive; use",
        "save_model() and load_model()>\n")
    return(invisible(x))
  }
  cat(summary_text(x, ...))
  invisible(x)
}

#' @rdname print.keras_model
#' @export
summary.keras.src.models.model.Model <- function(object, ...) {
  cat(summary_text(object, ...))
  invisible(object)
}
