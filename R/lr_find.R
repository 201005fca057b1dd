#' Find a learning rate: Smith's range test
#'
#' Trains for up to `steps` steps while the learning rate grows exponentially
#' from `start_learning_rate` to `end_learning_rate`, records each step's loss,
#' smooths it (an exponential moving average) and stops once the smoothed loss
#' exceeds 4 times its lowest value. The suggested rate is a tenth of the rate
#' where the smoothed loss is lowest: where it still falls clearly. Training
#' goes through [fit_classifier()]'s engine (Keras' `fit()` with a callback that
#' sets the rate before each step). Afterwards the model is as before: its
#' weights, and its optimizer with its state if it was compiled (a fresh
#' optimizer of the same kind ran the test), or uncompiled if it was not, so
#' `fit_classifier(model, data, learning_rate = result$suggestion)` trains from
#' the same start at the suggested rate.
#'
#' @param model A Keras classifier.
#' @param data `list(x, y)` (images and labels) or a `tf.data` dataset of
#'   `(images, labels)` batches, as for [fit_classifier()].
#' @param start_learning_rate The rate of the first step.
#' @param end_learning_rate The rate of the last step (larger than the start).
#' @param steps The most steps to take (10 to 100,000).
#' @param batch_size Images per step (arrays; a dataset is already batched).
#' @param optimizer The kind of optimizer to test (a name such as `"adam"` or a
#'   Keras optimizer, whose settings are copied); `NULL`: the model's own kind
#'   if it is compiled, else Adam.
#' @param seed Seed the test's shuffling (and dropout); `NULL`: as it comes.
#'   The same seed gives the same losses on a CPU.
#' @return A `cnnkit_lr_find` list: `history` (a data frame: `step`,
#'   `learning_rate`, `loss`, `smoothed_loss`), `suggestion`, `minimum` (the
#'   rate with the lowest smoothed loss) and `diverged` (whether the test
#'   stopped early). Printing it shows the suggestion; [plot_lr_find()] (or
#'   `plot()`) draws the curve.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(pad = TRUE, n = 500, n_test = 8)
#' model <- lenet5()
#' result <- lr_find(model, list(fm$x_train, fm$y_train), steps = 40, batch_size = 32)  # default: 200 steps
#' result$suggestion
#' plot(result)
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, learning_rate = result$suggestion, verbose = 0)
#' @export
lr_find <- function(model, data, start_learning_rate = 1e-7, end_learning_rate = 10, steps = 200,
                    batch_size = 128, optimizer = NULL, seed = NULL) {
  args <- capture_args(list(data = as_py_data, steps = as_py_int, batch_size = as_py_int, seed = as_py_int))
  r <- cnnkit_call("lr_find", .args = args)
  history <- cbind(step = seq_along(r$loss), as_r_table(r[c("learning_rate", "loss", "smoothed_loss")], c(
    learning_rate = "numeric", loss = "numeric", smoothed_loss = "numeric")))
  structure(list(history = history, suggestion = r$suggestion, minimum = r$minimum, diverged = r$diverged),
            class = "cnnkit_lr_find")
}

#' Plot a learning-rate range test
#'
#' The loss and the smoothed loss against the learning rate (log scale), with
#' the suggested rate and the rate of the lowest smoothed loss marked.
#'
#' @param result What [lr_find()] returns.
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead (atomically).
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(pad = TRUE, n = 256, n_test = 8)
#' result <- lr_find(lenet5(), list(fm$x_train, fm$y_train), steps = 30, batch_size = 32)
#' plot_lr_find(result, file = tempfile(fileext = ".png"))
#' @export
plot_lr_find <- function(result, file = NULL) {
  if (inherits(result, "cnnkit_lr_find")) {
    result <- list(learning_rate = result$history$learning_rate, loss = result$history$loss,
                   smoothed_loss = result$history$smoothed_loss, suggestion = result$suggestion,
                   minimum = result$minimum)
  }
  cnnkit_plot("plot_lr_find", capture_args())
}

#' @export
print.cnnkit_lr_find <- function(x, ...) {
  cat(sprintf("learning-rate range test: %d steps from %.1e to %.1e%s\n", nrow(x$history),
              x$history$learning_rate[1], x$history$learning_rate[nrow(x$history)],
              if (isTRUE(x$diverged)) " (stopped: the loss diverged)" else ""))
  cat(sprintf("lowest smoothed loss at %.1e; suggested learning rate: %.1e\n", x$minimum, x$suggestion))
  invisible(x)
}

#' @export
plot.cnnkit_lr_find <- function(x, ...) {
  plot_lr_find(x, ...)
}
