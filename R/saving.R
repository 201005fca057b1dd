#' Save a model to a .keras file
#'
#' Written under a temporary name and renamed when complete, so an error never
#' leaves a half-written file. Class names are stored inside the file, so
#' [predict_classes()] on the loaded model shows them. The file loads in Python
#' too (`cnnkit.load_model()` or `keras.saving.load_model()`).
#'
#' @param model A Keras model.
#' @param file A path ending in `.keras`.
#' @param class_names Class names to store (default: those already attached).
#' @return The path written, invisibly.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 100)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' file <- save_model(model, tempfile(fileext = ".keras"), class_names = fm$class_names)
#' predict_classes(load_model(file), fm$x_train[1:2, , , , drop = FALSE])$label
#' @export
save_model <- function(model, file, class_names = NULL) {
  invisible(cnnkit_call("save_model", .args = capture_args(list(class_names = as_py_list))))
}

#' Load a model from a .keras file (Keras safe mode)
#'
#' Safe mode refuses files that carry Python code (a `Lambda` layer); pass
#' `safe_mode = FALSE` only for a file you trust. A missing, corrupt or
#' truncated file is a clear error. The file is checked before Keras extracts
#' anything: a zip that is not a Keras model, a zip bomb, weights or a config
#' declaring more than the `model_bytes` limit (4 GiB, `CNNKIT_MAX_MODEL_BYTES`;
#' see [limits()]) or a layer class Keras does not know are refused with an
#' error naming `file`.
#'
#' @param file The `.keras` file.
#' @param safe_mode Keep Keras' safe mode on.
#' @param compile Restore the optimizer and loss.
#' @return The Keras model.
#' @examplesIf cnnkit_available()
#' file <- save_model(lenet5(), tempfile(fileext = ".keras"))
#' model <- load_model(file)
#' model$count_params()
#' @export
load_model <- function(file, safe_mode = TRUE, compile = TRUE) {
  cnnkit_call("load_model", .args = capture_args())
}

# The class names stored with a model (NULL if none).
model_class_names <- function(model) {
  names <- py_cnnkit()$saving$class_names_of(model)
  if (is.null(names)) NULL else unlist(names)
}
