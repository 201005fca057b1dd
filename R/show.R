#' Show a batch of images with their class names
#'
#' A labelled grid of the first `n` images, what fastai users reach for first
#' (`dls.show_batch()`): from an image array and its labels, from `list(x, y)`
#' as [fit_classifier()] takes it, or from an [image_folder()] result (a
#' shuffled batch of its training images, titled with the folder's class
#' names). Drawn on the current graphics device, or written to `file`.
#'
#' @param data Images `(m, height, width, channels)` (values in `[0, 1]` or
#'   0-255); `list(x, y)`; the list [image_folder()] returns; or a `tf.data`
#'   dataset of `(images, labels)` batches.
#' @param labels With an image array: one label per image, a factor (its levels
#'   name the classes), class names, or 0-based class ids; `NULL`: no titles.
#' @param class_names Names of the class ids (default: the factor's levels or
#'   the folder's class names).
#' @param n Images to draw, at most 32 (`CNNKIT_MAX_PLOT_IMAGES`; see
#'   [limits()]).
#' @param cols Columns of the grid (default: a square-ish grid).
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the grid
#'   there instead (atomically).
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 20)
#' show_batch(fm$x_train, fm$y_train, n = 9)
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 4)
#' show_batch(image_folder(photos, image_size = 28), n = 8)
#' @export
show_batch <- function(data, labels = NULL, class_names = NULL, n = 16, cols = NULL, file = NULL) {
  if (is.factor(labels) && is.null(class_names)) class_names <- levels(labels)
  if (is.array(data) && length(dim(data)) %in% 3:4 && is.numeric(n) && length(n) == 1 && !is.na(n) &&
      n >= 1 && n == trunc(n) && n < dim(data)[1] && (is.null(labels) || length(labels) == dim(data)[1])) {
    labels <- labels[seq_len(n)]  # only the images drawn cross to Python
    data <- if (length(dim(data)) == 4) data[seq_len(n), , , , drop = FALSE] else data[seq_len(n), , , drop = FALSE]
  }
  if (is.list(data) && !is.data.frame(data) && length(data) == 2 && is.null(data$train)) data <- as_py_data(data)
  args <- capture_args(list(labels = as_py_show_labels, class_names = as_py_list, n = as_py_int, cols = as_py_int))
  cnnkit_plot("show_batch", args)
}
