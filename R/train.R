#' Compile a classifier with the loss its output layer implies
#'
#' A 1-unit sigmoid output gets `binary_crossentropy`; an n-unit softmax output
#' gets `sparse_categorical_crossentropy` (integer labels `0..n-1`, as Keras
#' expects: R factors must be converted with `as.integer(f) - 1`).
#'
#' @param model A Keras model.
#' @param learning_rate Optimizer step size.
#' @param optimizer An optimizer name (`"adam"`, `"sgd"`, ...) or a Keras optimizer.
#' @param loss Override the loss.
#' @param metrics Metrics to track.
#' @param ... Passed to Keras' `compile()` (e.g. `steps_per_execution`).
#' @return The model, compiled (invisibly; it is modified in place).
#' @examples
#' \dontrun{
#' compile_classifier(simple_cnn(), learning_rate = 1e-3)
#' }
#' @export
compile_classifier <- function(model, learning_rate = 1e-3, optimizer = "adam", loss = NULL,
                               metrics = list("accuracy"), ...) {
  invisible(cnnkit_call("compile_classifier", model, learning_rate = learning_rate, optimizer = optimizer,
                        loss = loss, metrics = as.list(metrics), ...))
}
