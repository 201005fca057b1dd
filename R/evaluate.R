#' Evaluate a classifier: accuracy, per-class table with AUCs, confusion matrix
#'
#' @param model A trained classifier.
#' @param data `list(x, y)` (labels as a factor or 0-based ids) or a `tf.data`
#'   dataset from [image_folder()].
#' @param class_names Names of the classes (default: the levels of a factor
#'   `y`, else those saved with the model, else `"0"`, `"1"`, ...).
#' @param batch_size Images per prediction step (at least: small images go in bigger chunks, with the
#'   same results).
#' @param file Also draw the confusion matrix to this image file.
#' @param precision `"auto"`, `"float32"` or `"mixed_bfloat16"`, as in
#'   [fit_classifier()] (mixed precision changes probabilities by a few 1e-4).
#' @param tta Test-time augmentation, as in [predict_classes()]: `TRUE`
#'   averages each image's prediction with its mirror image's; `FALSE` (the
#'   default): the image only. Only for a model trained with flip (and shift)
#'   augmentation: one trained without it does worse.
#' @param threshold A binary model's decision threshold (1 sigmoid unit, or 2
#'   softmax units): the second class (the second level of a factor `y`, or
#'   of `class_names`; class id 1) is predicted when its probability is
#'   `>= threshold`. `0.5` (the default) predicts the
#'   more probable class (an exact tie: the first). Lower it to find more of a
#'   rare second class (higher recall, lower precision); the AUCs do not depend
#'   on it. A model of more than 2 classes predicts its most probable class:
#'   any other value is an error.
#' @return A `cnnkit_evaluation` list: `accuracy`, `balanced_accuracy` (the
#'   mean recall over the classes in the labels), `n`, `confusion_matrix` (a
#'   table, rows true class, columns predicted), `per_class` (a data frame:
#'   `class`, `precision`, `recall`, `f1`, `roc_auc`, `pr_auc`, `support`; the
#'   AUCs of each class against the rest, `pr_auc` the average precision, both
#'   `NaN` for a class with no images or with all of them), `averages` (a data
#'   frame: the `"macro"` average over the classes that occur and the
#'   support-`"weighted"` average, as scikit-learn's `classification_report`
#'   gives them; the macro one also `roc_auc` and `pr_auc`, over the classes
#'   where they are defined), `class_names`, `file`, `threshold` (binary
#'   models; else `NULL`), `y_true` (the labels, a factor) and `probabilities`
#'   (an `n` x `k` matrix, for [plot_roc_curves()]). Printing it shows the
#'   accuracy, the per-class table with the averages, and the confusion matrix
#'   (the same report as Python's); `plot()` draws the confusion matrix (see
#'   [plot_confusion_matrix()]).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 300, n_test = 100)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
#' ev <- evaluate_classifier(model, list(fm$x_test, fm$y_test))
#' ev$accuracy
#' ev$balanced_accuracy
#' ev            # the report
#' plot(ev)      # the confusion matrix
#' plot_roc_curves(ev)   # ROC and precision-recall curves
#' @export
evaluate_classifier <- function(model, data, class_names = NULL, batch_size = 256, file = NULL,
                                precision = "auto", tta = FALSE, threshold = 0.5) {
  args <- capture_args(list(data = as_py_data, class_names = as_py_list, batch_size = as_py_int))
  ev <- cnnkit_call_warn("evaluate_classifier", .args = args)   # Python's warnings as R warnings
  as_r_evaluation(ev)
}

as_r_evaluation <- function(ev) {
  if (inherits(ev, "python.builtin.object")) ev <- reticulate::import_builtins()$dict(ev)  # an Evaluation (a dict subclass)
  names <- unlist(ev$class_names)
  cm <- ev$confusion_matrix
  storage.mode(cm) <- "integer"
  dimnames(cm) <- list(true = names, predicted = names)
  ev$confusion_matrix <- as.table(cm)
  ev$per_class <- as_r_table(ev$per_class)
  ranked <- !is.null(ev$per_class$roc_auc)
  if (!is.null(ev$averages)) {  # a dict of rows named "macro" and "weighted"
    types <- c(precision = "numeric", recall = "numeric", f1 = "numeric",
               if (ranked) c(roc_auc = "numeric", pr_auc = "numeric"), support = "integer")
    ev$averages <- cbind(average = names(ev$averages), as_r_table(unname(ev$averages), types))
  }
  if (ranked) {  # the per-class table in the report's column order
    ev$per_class <- ev$per_class[c("class", "precision", "recall", "f1", "roc_auc", "pr_auc", "support")]
  }
  ev$class_names <- names
  if (!is.null(ev$y_true)) ev$y_true <- as_r_factor(as.vector(ev$y_true), names)
  if (!is.null(ev$probabilities)) {
    ev$probabilities <- matrix(as.numeric(ev$probabilities), nrow = length(ev$y_true), dimnames = list(NULL, names))
  }
  structure(ev, class = "cnnkit_evaluation")
}

#' Print or plot an evaluation
#'
#' `print()` shows the classification report: the accuracy, the per-class
#' precision, recall, F1 and support with their macro and weighted averages,
#' and the confusion matrix (the same text as Python's `print(ev)` and the
#' command line's `cnnkit evaluate`). `plot()` draws the confusion matrix
#' on the current graphics device, or to `file` (see
#' [plot_confusion_matrix()]).
#'
#' @param x An evaluation from [evaluate_classifier()].
#' @param y Unused (for the generic).
#' @param file,normalize As in [plot_confusion_matrix()].
#' @param ... Unused.
#' @return `x`, invisibly (`plot()` with `file`: the path, invisibly).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 300, n_test = 100)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
#' ev <- evaluate_classifier(model, list(fm$x_test, fm$y_test))
#' print(ev)
#' plot(ev)
#' @name cnnkit_evaluation
#' @export
print.cnnkit_evaluation <- function(x, ...) {
  cat(format_evaluation(x), sep = "\n")
  invisible(x)
}

#' @rdname cnnkit_evaluation
#' @export
plot.cnnkit_evaluation <- function(x, y, file = NULL, normalize = TRUE, ...) {
  out <- plot_confusion_matrix(x, file = file, normalize = normalize)
  invisible(if (is.null(file)) x else out)
}

# The report's lines, character for character those of Python's format_evaluation().
format_evaluation <- function(x) {
  pc <- x$per_class
  names <- x$class_names
  ranked <- !is.null(pc$roc_auc) && !is.null(pc$pr_auc)
  metrics <- c("precision", "recall", "f1", if (ranked) c("roc_auc", "pr_auc"))
  heads <- c("precision", "recall", "f1", if (ranked) c("roc auc", "pr auc"), "support")
  w <- max(16L, max(nchar(names)) + 2L)
  pad <- function(s, width) paste0(s, strrep(" ", pmax(0L, width - nchar(s))))
  cell <- function(v) formatC(ifelse(is.na(v), "n/a", sprintf("%.3f", v)), width = 10)  # NaN: an undefined AUC
  row <- function(label, table) {
    cells <- vapply(metrics, function(m) {
      v <- table[[m]]
      if (is.null(v)) strrep(" ", 10) else cell(v)
    }, character(nrow(table)))
    cells <- matrix(cells, nrow = nrow(table))
    paste0(pad(label, w), apply(cells, 1, paste, collapse = ""), sprintf("%10d", as.integer(table$support)))
  }
  avg <- x$averages %||% average_rows(x$confusion_matrix, pc)
  if (ranked && is.null(avg$roc_auc)) avg <- average_rows(x$confusion_matrix, pc)
  avg_rows <- lapply(seq_len(nrow(avg)), function(i) {  # the weighted row has no AUCs: blank cells
    r <- as.list(avg[i, , drop = FALSE])
    r[vapply(r, function(v) length(v) == 1 && is.na(v) && avg$average[i] == "weighted", logical(1))] <- NULL
    r
  })
  cm <- unclass(x$confusion_matrix)
  cw <- max(5L, nchar(as.character(max(cm))) + 1L)
  right <- function(v) formatC(as.character(v), width = cw)
  c(summary_line(x), "",
    paste0(pad("class", w), paste(formatC(heads, width = 10), collapse = "")),
    row(pc$class, pc), "",
    vapply(avg_rows, function(r) row(paste(r$average, "avg"), as.data.frame(r)), character(1)), "",
    "confusion matrix (rows: true class, columns: predicted class)",
    paste0(strrep(" ", w), paste(right(seq_along(names) - 1L), collapse = "")),
    vapply(seq_along(names), function(i) {
      paste0(pad(paste(i - 1L, names[i]), w), paste(right(cm[i, ]), collapse = ""))
    }, character(1)))
}

# The report's first line: accuracy, balanced accuracy, and a binary model's threshold when not 0.5.
summary_line <- function(x) {
  line <- sprintf("accuracy: %.4f (%d images)", x$accuracy, as.integer(x$n))
  if (!is.null(x$balanced_accuracy)) line <- paste0(line, sprintf(", balanced accuracy: %.4f", x$balanced_accuracy))
  if (!is.null(x$threshold) && x$threshold != 0.5) line <- paste0(line, sprintf(", threshold: %g", x$threshold))
  line
}

# Macro and weighted averages from the counts (for an evaluation made before they were reported);
# the macro AUCs are the means over the classes where they are defined.
average_rows <- function(cm, pc) {
  cm <- unclass(cm)
  present <- as.numeric((colSums(cm) + rowSums(cm)) > 0)
  w <- list(macro = present, weighted = as.numeric(pc$support))
  out <- data.frame(average = names(w), t(vapply(w, function(wt) {
    c(precision = sum(pc$precision * wt) / sum(wt), recall = sum(pc$recall * wt) / sum(wt),
      f1 = sum(pc$f1 * wt) / sum(wt))
  }, numeric(3))), row.names = NULL)
  if (!is.null(pc$roc_auc)) {
    mean_defined <- function(v) if (all(is.na(v))) NaN else mean(v[!is.na(v)])
    out$roc_auc <- c(mean_defined(pc$roc_auc), NA)
    out$pr_auc <- c(mean_defined(pc$pr_auc), NA)
  }
  out$support <- sum(cm)
  out
}

#' Plot a confusion matrix
#'
#' A heat map, rows the true class and columns the predicted class, with the
#' counts in the cells, on the current graphics device or to a file. `plot()`
#' of an evaluation draws the same.
#'
#' Bounded cost: beyond 30 classes the cells hold no counts, at most 30 class
#' names label each axis and the figure keeps the 30-class size, so time and
#' memory stop growing with the square of the classes ([most_confused()] lists
#' the confused pairs). 150 classes: about 2 s instead of a minute and 3 GB.
#'
#' @param evaluation The result of [evaluate_classifier()], or a square matrix
#'   of counts.
#' @param class_names Axis labels (default: the evaluation's).
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead (atomically).
#' @param normalize Colour by the share of each true class.
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examplesIf cnnkit_available()
#' plot_confusion_matrix(matrix(c(50, 3, 8, 39), 2), class_names = c("cat", "dog"))
#' plot_confusion_matrix(matrix(c(50, 3, 8, 39), 2), file = tempfile(fileext = ".png"))
#' @export
plot_confusion_matrix <- function(evaluation, class_names = NULL, file = NULL, normalize = TRUE) {
  counts <- as_py_confusion(evaluation, class_names)
  evaluation <- counts$matrix
  if (!is.null(counts$class_names)) class_names <- counts$class_names
  cnnkit_plot("plot_confusion_matrix", capture_args(list(class_names = as_py_list)))
}

#' Plot ROC and precision-recall curves
#'
#' The ROC curves and the precision-recall curves of an evaluation, side by
#' side: one line per class against the rest (a binary model: one line, for
#' its second class), from the probabilities [evaluate_classifier()] kept. The
#' legend gives each class's AUC (up to 20 classes), the titles the macro
#' averages; the dotted lines are chance. A class with no images (or only
#' images of it) has no curve.
#'
#' @param evaluation The result of [evaluate_classifier()] (it keeps `y_true`
#'   and `probabilities`), or a list with `y_true` (a factor, or 0-based class
#'   ids), `probabilities` (an `n` x `k` matrix) and optionally `class_names`.
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead (atomically).
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examplesIf cnnkit_available()
#' ev <- list(y_true = factor(c("cat", "cat", "dog", "dog")),
#'            probabilities = cbind(cat = c(0.9, 0.6, 0.65, 0.2), dog = c(0.1, 0.4, 0.35, 0.8)))
#' plot_roc_curves(ev)                                     # on the current graphics device
#' plot_roc_curves(ev, file = tempfile(fileext = ".png"))  # to a file
#' @export
plot_roc_curves <- function(evaluation, file = NULL) {
  evaluation <- as_py_scores(evaluation)
  cnnkit_plot("plot_roc_curves", capture_args())
}

# An evaluation's labels and probabilities for Python: y_true as 0-based ids (a factor's levels, in order,
# are the classes), the probabilities as a matrix, the class names (the evaluation's, else the factor's
# levels or the matrix's column names). Anything else goes to Python as it is, to be rejected there.
as_py_scores <- function(evaluation) {
  if (!is.list(evaluation) || inherits(evaluation, "python.builtin.object") ||
      is.null(evaluation$y_true) || is.null(evaluation$probabilities)) return(evaluation)
  probs <- evaluation$probabilities
  names <- evaluation$class_names %||%
    (if (is.factor(evaluation$y_true)) levels(evaluation$y_true)) %||% colnames(probs)
  if (is.matrix(probs)) probs <- unname(probs)
  list(y_true = as_py_label_array(evaluation$y_true), probabilities = probs,
       class_names = as_py_list(unlist(names)))
}

#' Predict classes of images or image files
#'
#' Image files are read `batch_size` at a time, the next batch decoded while
#' the model predicts this one, and only the outputs are kept: memory stays
#' bounded however many files there are (20,000 JPEGs at 224 x 224 px into
#' EfficientNet-Lite0: 1.3 GB peak resident memory, TensorFlow's 0.6 GB
#' included, the same as for 5,000; `bench/acceptance/predict_files.py`).
#'
#' @param model A trained classifier.
#' @param x An array of images `(n, height, width, channels)`, or image files:
#'   paths (PNG, JPEG, BMP, GIF, WebP, TIFF), where a folder stands for every file under it
#'   (recursively, sorted; hidden files and folders left out). Files are read at
#'   the model's input size as [image_folder()] reads them.
#' @param class_names Names of the classes (default: those saved with the model).
#' @param batch_size Images per prediction step (arrays: at least, small images
#'   go in bigger chunks, with the same results); files: files decoded at a time.
#' @param precision `"auto"`, `"float32"` or `"mixed_bfloat16"`, as in
#'   [fit_classifier()] (mixed precision changes probabilities by a few 1e-4).
#' @param verbose Files only: `"auto"` (a progress bar in an interactive session
#'   when there is more than one batch; nothing under `Rscript` and knitr), 0
#'   (nothing), 1 (the bar) or 2 (one line at the end).
#' @param skip_unreadable Files only. Every file's header is checked before
#'   anything is decoded: with `FALSE` (the default) a file cnnkit does not read
#'   is an error listing all such files, and a file that fails to decode later
#'   (a truncated JPEG) stops with an error naming it; with `TRUE` those files
#'   are left out (a warning counts them; `attr(, "skipped")` lists them).
#' @param tta Test-time augmentation: `TRUE` averages each image's
#'   probabilities with its mirror image's, a number from 3 to 10 adds
#'   shifted views (about that many times the time); `FALSE` (the default):
#'   the image only. Only for a model trained with flip (and shift)
#'   augmentation (one trained without it does worse: the main job's
#'   `fashion_cnn` loses 3.5 points); not for digits or text, which a mirror
#'   changes.
#' @param threshold A binary model's decision threshold (1 sigmoid unit, or 2
#'   softmax units): its second class (the second level of the labels'
#'   factor, `class_id` 1) is predicted when its probability is
#'   `>= threshold`; `0.5` (the default): the more probable class (an exact
#'   tie: the first). Only for a model of 2 classes, as in
#'   [evaluate_classifier()]; any other value is an error for more classes.
#' @return A data frame: `class_id` (0-based, as Keras counts), `label` (a
#'   factor of class names), `probability` (of the predicted class); for files
#'   first a `file` column (the path of each row, in order) and
#'   `attr(, "skipped")` (the paths left out). The full matrix of class
#'   probabilities is in `attr(, "probabilities")`.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 300, n_test = 5)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
#' predict_classes(model, fm$x_test)                     # class_id (0-based), label, probability
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 1)
#' predict_classes(model, photos)                       # a folder: file, class_id, label, probability
#' @export
predict_classes <- function(model, x, class_names = NULL, batch_size = 256, precision = "auto", verbose = "auto",
                            skip_unreadable = FALSE, tta = FALSE, threshold = 0.5) {
  x <- as_py_files(x)
  # "auto" goes to Python only from an interactive session (Python then shows the bar for long work)
  verbose <- if (identical(verbose, "auto") && as_py_verbose("auto") != 1L) 0L else verbose
  args <- capture_args(list(class_names = as_py_list, batch_size = as_py_int, verbose = as_py_int))
  p <- cnnkit_call_warn("predict_classes", .args = args)   # skipped files: an R warning
  probs <- p$probabilities
  labels <- unlist(p$label)
  levels <- class_names %||% model_class_names(model) %||% as.character(seq_len(ncol(probs)) - 1L)
  colnames(probs) <- unlist(levels)
  out <- data.frame(class_id = as.integer(p$class_id), label = factor(labels, levels = unlist(levels)),
                    probability = as.numeric(p$probability))
  if (!is.null(p$file)) {
    out <- cbind(file = as.character(unlist(p$file)), out, stringsAsFactors = FALSE)
    attr(out, "skipped") <- as.character(unlist(p$skipped))
  }
  attr(out, "probabilities") <- probs
  out
}
