#' Evaluate a classifier: accuracy, per-class table, confusion matrix
#'
#' @param model A trained classifier.
#' @param data `list(x, y)` (labels as a factor or 0-based ids) or a `tf.data`
#'   dataset from [image_folder()].
#' @param class_names Names of the classes (default: the levels of a factor
#'   `y`, else those saved with the model, else `"0"`, `"1"`, ...).
#' @param batch_size Images per prediction step.
#' @param file Also draw the confusion matrix to this image file.
#' @param precision `"auto"`, `"float32"` or `"mixed_bfloat16"`, as in
#'   [fit_classifier()] (mixed precision changes probabilities by a few 1e-4).
#' @return A `cnnkit_evaluation` list: `accuracy`, `n`, `confusion_matrix` (a
#'   table, rows true class, columns predicted), `per_class` (a data frame:
#'   `class`, `precision`, `recall`, `f1`, `support`), `class_names`, `file`.
#'   Printing it shows all three.
#' @examples
#' \dontrun{
#' fm <- load_fashion_mnist(n_test = 1000)
#' ev <- evaluate_classifier(model, list(fm$x_test, fm$y_test), file = "cm.png")
#' ev$accuracy
#' ev
#' }
#' @export
evaluate_classifier <- function(model, data, class_names = NULL, batch_size = 256, file = NULL,
                                precision = "auto") {
  ev <- cnnkit_call("evaluate_classifier", model, as_py_data(data), class_names = as_py_list(class_names),
                    batch_size = as_py_int(batch_size), file = file, precision = precision)
  as_r_evaluation(ev)
}

as_r_evaluation <- function(ev) {
  names <- unlist(ev$class_names)
  cm <- ev$confusion_matrix
  storage.mode(cm) <- "integer"
  dimnames(cm) <- list(true = names, predicted = names)
  ev$confusion_matrix <- as.table(cm)
  ev$per_class <- as_r_data_frame(ev$per_class)
  ev$class_names <- names
  structure(ev, class = "cnnkit_evaluation")
}

#' @export
print.cnnkit_evaluation <- function(x, ...) {
  cat(sprintf("accuracy: %.4f (%d images)\n\n", x$accuracy, as.integer(x$n)))
  print(x$per_class, digits = 3, row.names = FALSE)
  cat("\nconfusion matrix (rows: true class, columns: predicted class)\n")
  print(x$confusion_matrix)
  invisible(x)
}

#' Plot a confusion matrix
#'
#' A heat map, rows the true class and columns the predicted class, with the
#' counts in the cells, on the current graphics device or to a file. `plot()`
#' of an evaluation draws the same.
#'
#' @param evaluation The result of [evaluate_classifier()], or a square matrix
#'   of counts.
#' @param class_names Axis labels (default: the evaluation's).
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead (atomically).
#' @param normalize Colour by the share of each true class.
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examples
#' \dontrun{
#' plot_confusion_matrix(evaluate_classifier(model, test), file = "cm.png")
#' }
#' @export
plot_confusion_matrix <- function(evaluation, class_names = NULL, file = NULL, normalize = TRUE) {
  cm <- if (inherits(evaluation, "cnnkit_evaluation")) evaluation$confusion_matrix else evaluation
  if (is.null(class_names) && !is.null(dimnames(cm))) class_names <- dimnames(cm)[[1]]
  cm <- unclass(cm)
  if (is.matrix(cm) && is.numeric(cm) && all(is.finite(cm) | is.na(cm)) && all(cm == trunc(cm), na.rm = TRUE)) {
    cm <- matrix(as.integer(cm), nrow(cm), ncol(cm))  # counts (Python checks what is left)
  }
  cnnkit_plot("plot_confusion_matrix", cm, class_names = as_py_list(class_names), file = file, normalize = normalize)
}

#' Predict classes of images or image files
#'
#' @param model A trained classifier.
#' @param x An array of images `(n, height, width, channels)`, or image file
#'   paths, read at the model's input size as [image_folder()] reads them.
#' @param class_names Names of the classes (default: those saved with the model).
#' @param batch_size Images per prediction step.
#' @param precision `"auto"`, `"float32"` or `"mixed_bfloat16"`, as in
#'   [fit_classifier()] (mixed precision changes probabilities by a few 1e-4).
#' @return A data frame: `class_id` (0-based, as Keras counts), `label` (a
#'   factor of class names), `probability` (of the predicted class); the full
#'   matrix of class probabilities is in `attr(, "probabilities")`.
#' @examples
#' \dontrun{
#' predict_classes(model, c("shoe.png", "bag.jpg"))
#' }
#' @export
predict_classes <- function(model, x, class_names = NULL, batch_size = 256, precision = "auto") {
  if (is.character(x)) x <- as.list(x)
  p <- cnnkit_call("predict_classes", model, x, class_names = as_py_list(class_names),
                   batch_size = as_py_int(batch_size), precision = precision)
  probs <- p$probabilities
  labels <- unlist(p$label)
  levels <- class_names %||% model_class_names(model) %||% as.character(seq_len(ncol(probs)) - 1L)
  colnames(probs) <- unlist(levels)
  out <- data.frame(class_id = as.integer(p$class_id), label = factor(labels, levels = unlist(levels)),
                    probability = as.numeric(p$probability))
  if (is.list(x) && all(vapply(x, is.character, logical(1)))) out <- cbind(file = unlist(x), out)
  attr(out, "probabilities") <- probs
  out
}
