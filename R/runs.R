#' The run card of a run directory
#'
#' What ran, where, with what, how long and how well: the versions (cnnkit,
#' Python, Keras, TensorFlow, NumPy), the device (CPU, cores, GPUs), the seed,
#' the precision trained in, the data's fingerprint, all settings, the
#' training seconds and the final metrics (the last epoch's; the test set's
#' for a [train_classifier()] run). Every run directory records them:
#' `fit_classifier(run_dir =)`, [fine_tune()], [train_classifier()] and
#' `cnnkit train`.
#'
#' @param run_dir A folder written by one of them.
#' @return A `cnnkit_run_card` list: `run_dir`, `kind` (`"job"`,
#'   `"fine_tune"` or `"fit"`), `status` (`"finished"` or `"running"`: killed
#'   or still going), `started`, `finished`, `seconds`, `seed`, `precision`,
#'   `versions`, `device`, `data`, `settings`, `metrics`, `epochs`. Printing it
#'   shows the card (the same text as Python's).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 100, n_test = 10)
#' dir <- tempfile("run")
#' fit_classifier(simple_cnn(c(28, 28, 1), num_classes = 10), list(fm$x_train, fm$y_train), epochs = 1,
#'                verbose = 0, run_dir = dir, seed = 1)
#' run_card(dir)
#' @export
run_card <- function(run_dir) {
  run_dir <- as_py_path(run_dir)
  card <- cnnkit_call("run_card", run_dir = run_dir)
  if (inherits(card, "python.builtin.object")) card <- reticulate::py_to_r(reticulate::py_call(
    reticulate::import_builtins(convert = FALSE)$dict, card))  # a dict subclass: reticulate leaves it as it is
  structure(card, class = "cnnkit_run_card")
}

#' @export
print.cnnkit_run_card <- function(x, ...) {
  fmt <- py_cnnkit()$runs$format_run_card
  cat(fmt(unclass(x)), "\n", sep = "")
  invisible(x)
}

#' Compare runs side by side
#'
#' One row per run: the settings whose value is not the same in every run,
#' the epochs and seconds, and the metrics (the last epoch's `loss`,
#' `accuracy`, `val_loss`, `val_accuracy`, ...; `test_accuracy` for
#' [train_classifier()] runs). [plot_runs()] draws their learning curves.
#'
#' @param runs A folder of run directories (`cnnkit train` writes
#'   `runs/<timestamp>/`), or a character vector of run directories.
#' @return A data frame, one row per run (`run`: the folder's name, `status`,
#'   the differing settings, `epochs`, `seconds`, the metrics); `NA` where a run
#'   has no value.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 100, n_test = 10)
#' root <- tempfile("runs")
#' for (lr in c(1e-3, 3e-3)) {
#'   fit_classifier(simple_cnn(c(28, 28, 1), num_classes = 10), list(fm$x_train, fm$y_train), epochs = 1,
#'                  verbose = 0, learning_rate = lr, run_dir = file.path(root, paste0("lr", lr)))
#' }
#' compare_runs(root)
#' plot_runs(root)
#' @export
compare_runs <- function(runs) {
  as_r_table(cnnkit_call("compare_runs", runs = as_py_runs(runs)))
}

#' Plot the learning curves of several runs together
#'
#' `metric` per epoch, one colour per run: the validation curve (where
#' recorded) solid, the training curve dashed.
#'
#' @param runs As in [compare_runs()].
#' @param metric A column of the runs' histories: `"accuracy"` (the default),
#'   `"loss"`, ... (without `val_`).
#' @param file `NULL` (the default) draws on the current graphics device; a
#'   `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot there instead.
#' @return `NULL` (drawn) or the path written, invisibly.
#' @export
plot_runs <- function(runs, metric = "accuracy", file = NULL) {
  runs <- as_py_runs(runs)
  cnnkit_plot("plot_runs", capture_args())
}

# A folder stays a path; several run directories (a character vector) become a Python list of paths.
as_py_runs <- function(runs) {
  if (is.character(runs) && length(runs) > 1 && !anyNA(runs)) return(as_py_list(path.expand(runs)))
  as_py_path(runs)
}
