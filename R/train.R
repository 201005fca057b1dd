#' Compile a classifier with the loss its output layer implies
#'
#' A 1-unit sigmoid output gets `binary_crossentropy`; an n-unit softmax output
#' gets `sparse_categorical_crossentropy` (integer labels `0..n-1`, as Keras
#' expects; [fit_classifier()] converts R factor labels for you).
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
                        loss = loss, metrics = as_py_list(metrics), ...))
}

#' Train a classifier, with defaults that work
#'
#' The one training engine: [fine_tune()], [train_classifier()] and the
#' command line's `cnnkit train` all train through it. Compiles the model if
#' it is not yet (loss from the output layer), checks the data against the
#' model before any work (image size and channels, class ids, NaN), and shows
#' Keras' progress.
#'
#' With `run_dir`: a run that is killed resumes from its last completed epoch
#' when called again with the same `run_dir` and settings (other settings are
#' an error that lists them); a finished run is not trained again (its final
#' weights are loaded, with a warning) unless `overwrite = TRUE`; the folder
#' keeps `history.csv`, `best.keras`, the final weights (`model.weights.h5`)
#' and the settings (`run.json`); a second R session or process on the same
#' folder gets a clear error.
#'
#' Labels: a factor's levels, in order, are classes 0, 1, 2, ... (so
#' [load_fashion_mnist()]'s factors work as they are), and the levels are
#' remembered on the model as its class names, so [predict_classes()],
#' [evaluate_classifier()] and [save_model()] use them; logicals are 0/1;
#' numbers must already be 0-based class ids (a 1-based vector is rejected
#' with a hint). R arrays `(n, height, width, channels)` are passed to NumPy by
#' reticulate (never transpose them by hand).
#'
#' Progress: `verbose = "auto"` shows Keras' progress bar in an interactive R
#' session and one line per epoch (`verbose = 2`) under `Rscript`, knitr and
#' other non-interactive sessions, where a carriage-return bar would fill the
#' log with partial lines.
#'
#' Short runs: Keras' BatchNormalization moving averages need thousands of
#' steps to settle; after a short run (`recalibrate_bn = "auto"`: fewer than
#' 2,000 steps) they are re-estimated on up to 10,000 training images, so the
#' test accuracy matches the training accuracy.
#'
#' @param model A Keras classifier.
#' @param data `list(x, y)` (images and labels) or a `tf.data` dataset from
#'   [image_folder()].
#' @param epochs Passes over the data in this call (1 to 10,000).
#' @param validation_data `list(x, y)` or a dataset.
#' @param validation_split With arrays: fraction (the last images) held out.
#' @param batch_size Images per step, over all replicas (arrays only).
#' @param learning_rate Peak step size when the model is compiled here.
#' @param schedule `"constant"` or `"cosine"` (warm-up then cosine decay).
#' @param optimizer A Keras optimizer name (or object), when compiled here.
#' @param run_dir Folder for the run's files (`NULL`: nothing written).
#' @param overwrite Discard what `run_dir` holds and train afresh.
#' @param early_stopping Patience in epochs (validation loss, else training
#'   loss), restoring the best weights; `NULL`: off.
#' @param checkpoint Keep the best model in `run_dir/best.keras`.
#' @param strategy `NULL` or `"mirrored"` (see [distribution_strategy()]).
#' @param callbacks A list of further Keras callbacks.
#' @param verbose `"auto"`, 0 (silent), 1 (progress bar), 2 (a line per epoch).
#' @param precision `"auto"` (mixed bfloat16 for convolution-heavy models on a
#'   CPU with AMX-BF16 or a GPU of compute capability 8.0+, else float32),
#'   `"float32"` or `"mixed_bfloat16"`. Only while training: the weights stay
#'   float32, the output layer computes in float32, and the model (and
#'   `best.keras`) keep their own precision afterwards.
#' @param steps_per_execution Training steps per call into TensorFlow while
#'   fitting (`"auto"`: 32 for models under a million parameters, else 1; 1
#'   with a `strategy` or with callbacks that act per batch; a model compiled
#'   with its own value keeps it).
#' @param recalibrate_bn Re-estimate BatchNormalization statistics at the end:
#'   `"auto"` (after short runs), `TRUE` or `FALSE`.
#' @param cache_features `"auto"`: when the model starts with a frozen part (a
#'   backbone for feature extraction) that gives the same output every epoch,
#'   compute it once for all images and train the rest on its output (a line
#'   says so); `FALSE`: the whole model every epoch.
#' @param initial_epoch Number the epochs from `initial_epoch + 1`.
#' @param resume Deprecated: runs are always resumed (`FALSE` means
#'   `overwrite = TRUE`).
#' @return The history: a data frame with one row per epoch (`epoch`, `loss`,
#'   `accuracy`, `val_loss`, ..., `learning_rate`), invisibly. The model is
#'   trained in place.
#' @examples
#' \dontrun{
#' fm <- load_fashion_mnist(n = 2000)
#' model <- simple_cnn(c(28, 28, 1), num_classes = 10)
#' history <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 3)
#' plot_history(history, "history.png")
#' }
#' @export
fit_classifier <- function(model, data, epochs = 10, validation_data = NULL, validation_split = NULL,
                           batch_size = 128, learning_rate = 1e-3, schedule = "constant", optimizer = "adam",
                           run_dir = NULL, overwrite = FALSE, early_stopping = NULL, checkpoint = TRUE,
                           strategy = NULL, callbacks = NULL, verbose = "auto", precision = "auto",
                           steps_per_execution = "auto", recalibrate_bn = "auto", cache_features = "auto",
                           initial_epoch = 0, resume = NULL) {
  h <- cnnkit_call_warn("fit_classifier", model, as_py_data(data), epochs = as_py_int(epochs),
                        validation_data = as_py_data(validation_data), validation_split = validation_split,
                        batch_size = as_py_int(batch_size), learning_rate = learning_rate, schedule = schedule,
                        optimizer = optimizer, run_dir = run_dir, overwrite = overwrite,
                        early_stopping = as_py_int(early_stopping), checkpoint = checkpoint, strategy = strategy,
                        callbacks = as_py_list(callbacks), verbose = as_py_verbose(verbose), precision = precision,
                        steps_per_execution = as_py_int(steps_per_execution), recalibrate_bn = recalibrate_bn,
                        cache_features = cache_features, initial_epoch = as_py_int(initial_epoch), resume = resume)
  invisible(as_r_data_frame(h))
}

#' Plot the training history
#'
#' Loss and accuracy per epoch, training and validation, drawn on the current
#' graphics device (RStudio's Plots pane, a knitr chunk, [grDevices::pdf()])
#' or written to an image file (atomically: a failure leaves no partial file).
#' `plot(history)` draws the same.
#'
#' @param history The history [fit_classifier()] or [fine_tune()] returns (a
#'   data frame with `epoch`, `loss` and optionally `accuracy`, `val_loss`,
#'   `val_accuracy`).
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead.
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examples
#' \dontrun{
#' plot_history(history, "history.png")
#' }
#' @export
plot_history <- function(history, file = NULL) {
  if (is.data.frame(history)) history <- as.list(as.data.frame(history))
  cnnkit_plot("plot_history", history, file = file)
}
