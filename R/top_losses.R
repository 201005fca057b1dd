#' The images a model gets most wrong, and the classes it confuses
#'
#' `top_losses()` ranks the images of a labelled data set by their loss (the
#' cross-entropy, `-log` of the probability of the true class, as in training)
#' and returns the `k` highest: where the model was confidently wrong, or right
#' but unsure. `plot_top_losses()` shows them, titled `predicted / true`, with
#' the loss and the probability of the prediction (red: wrong).
#' `most_confused()` lists the pairs of classes an evaluation mixes up most.
#'
#' @param model A trained classifier.
#' @param data `list(x, y)` (labels as a factor or 0-based ids) or a `tf.data`
#'   dataset of `(images, labels)` batches (read once, in its order). A dataset
#'   of [image_folder()] (`d$train`, `d$validation`) is read from its files
#'   instead, in sorted order and without its shuffle: each call ranks the same
#'   images and names their files.
#' @param k How many images (`plot_top_losses()`: at most 32,
#'   `CNNKIT_MAX_PLOT_IMAGES`, see [limits()]).
#' @param class_names Names of the classes (default: the levels of a factor
#'   `y`, else those saved with the model, else `"0"`, `"1"`, ...).
#' @param batch_size Images per prediction step (an image folder's dataset:
#'   files read at a time).
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead (atomically).
#' @param cols Images per row.
#' @return `top_losses()`: a data frame, highest loss first: `index` (the
#'   image's position in `data`, 1-based as R counts), `true_id`, `true`,
#'   `predicted_id`, `predicted` (class ids from 0, as [predict_classes()] gives
#'   them, and names), `probability` (of the predicted class) and `loss`; for
#'   an image folder's dataset `index` counts its sorted files and a last
#'   column `file` names each image (the plot's titles show the file names).
#'   `plot_top_losses()`: `NULL` (drawn) or the path written, invisibly.
#' @seealso [most_confused()], [grad_cam()], [evaluate_classifier()]
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(pad = TRUE, n = 500, n_test = 100)
#' model <- lenet5()
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
#' test <- list(fm$x_test, fm$y_test)
#' top_losses(model, test, k = 5)
#' plot_top_losses(model, test, k = 9)
#' most_confused(evaluate_classifier(model, test), min_count = 2)
#' @export
top_losses <- function(model, data, k = 9, class_names = NULL, batch_size = 256) {
  args <- capture_args(list(data = as_py_data, k = as_py_int, class_names = as_py_list, batch_size = as_py_int))
  rows <- cnnkit_call_warn("top_losses", .args = args)   # Python's warnings (labels) as R warnings
  out <- as_r_losses(rows)
  file <- as_r_table(rows, c(file = "character"))$file  # an image folder's dataset: the files
  if (length(file) == nrow(out) && nrow(out) > 0) out$file <- file
  out
}

#' @rdname top_losses
#' @export
plot_top_losses <- function(model, data, k = 9, file = NULL, class_names = NULL, batch_size = 256, cols = 3) {
  cnnkit_plot("plot_top_losses", capture_args(list(data = as_py_data, k = as_py_int, class_names = as_py_list,
                                                   batch_size = as_py_int, cols = as_py_int)))
}

#' @rdname top_losses
#' @param evaluation The result of [evaluate_classifier()], or a square matrix
#'   of counts (rows the true class, columns the predicted class).
#' @param min_count Leave out pairs confused fewer times.
#' @return `most_confused()`: a data frame with one row per pair of different
#'   classes, most frequent first: `true`, `predicted`, `count` and `share` (of
#'   the true class's images).
#' @export
most_confused <- function(evaluation, min_count = 1, class_names = NULL) {
  counts <- as_py_confusion(evaluation, class_names)
  evaluation <- counts$matrix
  if (!is.null(counts$class_names)) class_names <- counts$class_names
  rows <- cnnkit_call("most_confused", .args = capture_args(list(min_count = as_py_int, class_names = as_py_list)))
  as_r_table(rows, c(true = "character", predicted = "character", count = "integer", share = "numeric"))
}
