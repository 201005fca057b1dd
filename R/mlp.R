#' The MLP baseline: flatten, one hidden layer, softmax output
#'
#' `Flatten -> Dense(units, relu) -> Dense(num_classes, softmax)`. On 64x64x3
#' images it has 3,146,498 parameters, against 28,097 for [simple_cnn()]: the
#' slides' case for weight sharing. `model$predict(x)` returns one row of class
#' probabilities per image.
#'
#' @param input_shape Image shape without the batch axis, e.g. `c(64, 64, 3)`.
#' @param units Hidden Dense units.
#' @param num_classes Number of classes (2 or more: softmax; 1: sigmoid).
#' @return An uncompiled Keras model.
#' @examplesIf cnnkit_available()
#' model <- mlp_classifier()
#' model  # prints the Keras summary: 3,146,498 parameters
#' model$predict(array(runif(64 * 64 * 3), c(1, 64, 64, 3)), verbose = 0L)
#' @export
mlp_classifier <- function(input_shape = c(64, 64, 3), units = 256, num_classes = 2) {
  args <- capture_args(list(input_shape = as_py_shape, units = as_py_int, num_classes = as_py_int))
  cnnkit_call("mlp_classifier", .args = args)
}
