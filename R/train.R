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
#' @param label_smoothing A number in `[0, 1)`: each label's share spread over
#'   all classes (`0`: off; e.g. `0.1`). Not with `loss`.
#' @param ema Average the weights over the last training steps and end with
#'   the average (Keras' `use_ema`): a momentum in `[0.5, 1)` such as `0.99`
#'   (about the last 100 steps), `TRUE` for `0.99`, `0` (the default) for off.
#'   With an optimizer object, make it with `use_ema = TRUE` instead.
#' @param ... Passed to Keras' `compile()` (e.g. `steps_per_execution`).
#' @return The model, compiled (invisibly; it is modified in place).
#' @examplesIf cnnkit_available()
#' model <- compile_classifier(simple_cnn(c(28, 28, 1), num_classes = 10), learning_rate = 1e-3)
#' model$loss   # sparse_categorical_crossentropy: labels are class ids 0..9 (fit_classifier() turns a factor into them)
#' @export
compile_classifier <- function(model, learning_rate = 1e-3, optimizer = "adam", loss = NULL,
                               metrics = list("accuracy"), label_smoothing = 0, ema = 0, ...) {
  invisible(cnnkit_call("compile_classifier", .args = capture_args(list(metrics = as_py_list))))
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
#' @param label_smoothing A number in `[0, 1)`: train towards `1 - e` for the
#'   true class and `e / k` spread over the `k` classes (e.g. `0.1`; `0`: off).
#'   Used when the model is compiled here; a compiled model keeps its loss
#'   (compile it with `compile_classifier(model, label_smoothing = 0.1)`).
#' @param class_weight Weigh each training image's loss by its class, for
#'   imbalanced data (Keras' `class_weight`): `NULL` (all 1), `"balanced"`
#'   (`n / (k * count)` for each class, counted in the training labels, as
#'   scikit-learn's), a named vector or list `c(bag = 2, shoe = 1)` (names:
#'   the factor levels of the labels, or the class names the data or model
#'   carries; classes left out weigh 1), or an unnamed vector of one weight per
#'   class, in class order. Validation losses are not weighted.
#' @param ema Average the weights over the last training steps and end with
#'   the average (Keras' `use_ema`): a momentum in `[0.5, 1)` such as `0.99`
#'   (about the last 100 steps), `TRUE` for `0.99`, `0` (the default) for off.
#'   `"auto"`: `0.99` from 1,000 training steps on, `1 - 10 / steps` for
#'   shorter runs, none below 20 (Keras' average starts at the starting
#'   weights, so a short run's average would keep much of them).
#'   The per-epoch validation figures are those of the weights being trained;
#'   the model ends with the average. Used when the model is compiled here
#'   (else `compile_classifier(model, ema = 0.99)`); not with `early_stopping`,
#'   which restores the best epoch's weights over the average.
#' @param seed Seed what training draws (shuffling, dropout, augmentation
#'   layers) with `keras$utils$set_random_seed(seed)` before it starts; `NULL`
#'   (the default): as it comes. On a CPU the same seed, data and starting
#'   weights give the same weights bit for bit (call `set_random_seed()` before
#'   building the model too, for the same starting weights); on a GPU some
#'   kernels are not deterministic unless TensorFlow's op determinism is
#'   turned on.
#' @param mixup Blend each training image with another, labels alike (Keras'
#'   `MixUp`): its alpha in `(0, 1]` (e.g. `0.2`; `TRUE`: `0.2`), `0` (the
#'   default): off.
#' @param cutmix Paste a rectangle of another training image, labels weighted
#'   by its area (Keras' `CutMix`): its factor in `(0, 1]` (`TRUE`: `1`), `0`:
#'   off. With `mixup` too, each batch gets one of the two. Both train with a
#'   categorical cross-entropy on one-hot labels (cnnkit makes them from the
#'   factor or class ids) and pay off in long runs, not short ones.
#' @param tensorboard Also write TensorBoard logs (one scalar per metric and
#'   epoch) in `run_dir/tensorboard`; needs a `run_dir`. `tensorboard --logdir
#'   runs` shows every run; [compare_runs()] and [plot_runs()] need no
#'   TensorBoard.
#' @return The history, invisibly: a data frame of class `cnnkit_history`
#'   with one row per epoch (`epoch`, `loss`, `accuracy`, `val_loss`, ...,
#'   `learning_rate`). `print(history)` shows it, `plot(history)` draws the
#'   loss and accuracy curves (see [plot_history()]). The model is trained in
#'   place.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 200, n_test = 50)     # small: a quick example
#' model <- simple_cnn(c(28, 28, 1), blocks = 2, filters = 8, units = 16, num_classes = 10)
#' history <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, validation_split = 0.2)
#' history            # a data frame of class cnnkit_history, one row per epoch
#' plot(history)      # loss and accuracy curves
#' plot_history(history, file = tempfile(fileext = ".png"))
#' @export
fit_classifier <- function(model, data, epochs = 10, validation_data = NULL, validation_split = NULL,
                           batch_size = 128, learning_rate = 1e-3, schedule = "constant", optimizer = "adam",
                           run_dir = NULL, overwrite = FALSE, early_stopping = NULL, checkpoint = TRUE,
                           strategy = NULL, callbacks = NULL, verbose = "auto", precision = "auto",
                           steps_per_execution = "auto", recalibrate_bn = "auto", cache_features = "auto",
                           initial_epoch = 0, resume = NULL, label_smoothing = 0, class_weight = NULL,
                           ema = 0, seed = NULL, tensorboard = FALSE, mixup = 0, cutmix = 0) {
  args <- capture_args(list(data = as_py_data, epochs = as_py_int, validation_data = as_py_data,
                            batch_size = as_py_int, early_stopping = as_py_int, callbacks = as_py_list,
                            verbose = as_py_verbose, steps_per_execution = as_py_int, initial_epoch = as_py_int,
                            class_weight = as_py_class_weight, seed = as_py_int),
                       force = "verbose")
  h <- cnnkit_call_warn("fit_classifier", .args = args)
  invisible(as_r_history(h))
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
#'   `val_accuracy`), or a run directory (`run_dir`) or its `history.csv`.
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead.
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examplesIf cnnkit_available()
#' history <- data.frame(epoch = 1:3, loss = c(0.9, 0.6, 0.5), accuracy = c(0.6, 0.8, 0.85))
#' plot_history(history)                                    # on the current graphics device
#' plot_history(history, file = tempfile(fileext = ".png"))  # to a file
#' @export
plot_history <- function(history, file = NULL) {
  if (is.data.frame(history)) history <- as.list(as.data.frame(history))
  cnnkit_plot("plot_history", capture_args())
}

# A history from Python (a dict of lists) -> a data frame of class cnnkit_history.
as_r_history <- function(h) {
  df <- as_r_table(h)
  class(df) <- c("cnnkit_history", "data.frame")
  df
}

#' Print or plot a training history
#'
#' [fit_classifier()], [fine_tune()] and [train_classifier()] return the
#' history as a data frame of class `cnnkit_history` (one row per epoch), so
#' it works wherever a data frame does. `print()` shows the number of epochs
#' and the table (the first and last epochs of a long run); `plot()` draws
#' the loss and accuracy curves, training and validation, on the current
#' graphics device (RStudio's Plots pane, a knitr chunk, [grDevices::pdf()]),
#' or writes them to `file` (see [plot_history()]).
#'
#' @param x A history.
#' @param y Unused (for the generic).
#' @param file `NULL` (draw) or an image file name, as in [plot_history()].
#' @param n Epochs shown in full; a longer history shows its first and last
#'   epochs.
#' @param ... Passed to [print.data.frame()] (`print()`); unused (`plot()`).
#' @return `x`, invisibly (`plot()` with `file`: the path, invisibly).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 200, n_test = 50)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' history <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 2, verbose = 0)
#' history          # the table
#' plot(history)    # the curves
#' history$loss     # still a data frame
#' @name cnnkit_history
#' @export
print.cnnkit_history <- function(x, n = 20, ...) {
  epochs <- nrow(x)
  df <- as.data.frame(x)
  cat(sprintf("Training history: %d epoch%s (plot() draws it)\n", epochs, if (epochs == 1) "" else "s"))
  if (epochs > n) {  # the first and last epochs, in one table (same column widths)
    first <- ceiling(n / 2)
    last <- floor(n / 2)
    rows <- c(seq_len(first), seq(epochs - last + 1, epochs))
    lines <- utils::capture.output(print(df[rows, , drop = FALSE], digits = 4, row.names = FALSE, ...))
    cat(append(lines, sprintf("... (%d more epochs)", epochs - first - last), after = first + 1), sep = "\n")
  } else {
    print(df, digits = 4, row.names = FALSE, ...)
  }
  invisible(x)
}

#' @rdname cnnkit_history
#' @export
plot.cnnkit_history <- function(x, y, file = NULL, ...) {
  out <- plot_history(x, file = file)
  invisible(if (is.null(file)) x else out)
}
