#' LeNet-5, as drawn in the slides
#'
#' `Conv 6@5x5 -> AvgPool -> Conv 16@5x5 -> AvgPool -> Conv 120@5x5 -> Dense 84
#' -> output`, tanh activations throughout. On a 32x32x1 input: 61,706
#' parameters with 10 classes. Pad 28x28 images (MNIST, Fashion-MNIST) to 32x32.
#'
#' @param input_shape `c(height, width, channels)`, at least 32x32.
#' @param num_classes Number of classes.
#' @return An uncompiled Keras model with layers `c1`, `s2`, `c3`, `s4`, `c5`, `f6`.
#' @examplesIf cnnkit_available()
#' lenet5()
#' @export
lenet5 <- function(input_shape = c(32, 32, 1), num_classes = 10) {
  cnnkit_call("lenet5", .args = capture_args(list(input_shape = as_py_shape, num_classes = as_py_int)))
}
