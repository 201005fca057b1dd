# The plotting convention, shared by every cnnkit plotting wrapper (plot_history(),
# plot_confusion_matrix(), plot_augmentation(), plot_feature_maps(), show_batch(), and the
# plot() methods):
#
#   - `file = NULL` (the default): the Python function returns a matplotlib Figure, which
#     draw_figure() draws on the current R graphics device (RStudio's Plots pane, a knitr chunk,
#     pdf(), png() ...); the wrapper returns NULL invisibly.
#   - `file = "x.png"`: Python writes the file atomically; the wrapper returns the path invisibly.
#
# A new wrapper is one line (the Python function must take `file` and return a Figure for None):
#   plot_thing <- function(x, n = 8, file = NULL) cnnkit_plot("plot_thing", capture_args(list(n = as_py_int)))

#' Draw a matplotlib figure on the current R graphics device
#'
#' cnnkit's plotting functions draw with matplotlib in Python. Called with
#' `file = NULL` (their default) they draw the figure on the current R
#' graphics device with `draw_figure()`: RStudio's Plots pane, a knitr or
#' Quarto chunk, or a file device such as [grDevices::pdf()]. The figure is
#' rendered at `dpi` and drawn as a raster image as large as the device allows,
#' keeping its aspect ratio, on a new page. Use it for any matplotlib figure
#' you make yourself through reticulate.
#'
#' @param figure A matplotlib `Figure` (for example what
#'   `py_cnnkit()$plot_history(h)` returns).
#' @param dpi Resolution the figure is rendered at (10 to 1000).
#' @return `NULL`, invisibly.
#' @seealso [plot_history()], [plot_confusion_matrix()], [plot_grad_cam()], [plot_lr_find()].
#' @examplesIf cnnkit_available()
#' fig <- py_cnnkit()$plot_confusion_matrix(matrix(c(5L, 2L, 1L, 7L), 2))
#' draw_figure(fig)
#' @export
draw_figure <- function(figure, dpi = 150) {
  if (!inherits(figure, "matplotlib.figure.Figure")) {
    stop("draw_figure(): `figure` must be a matplotlib Figure (as cnnkit's Python plotting functions ",
         "return), got ", describe_r_value(figure), ".", call. = FALSE)
  }
  if (!is.numeric(dpi) || length(dpi) != 1 || is.na(dpi) || dpi < 10 || dpi > 1000) {
    stop("draw_figure(): `dpi` must be one number from 10 to 1000, got ", describe_r_value(dpi), ".", call. = FALSE)
  }
  pixels <- cnnkit_py_call(plot_module()$figure_pixels, figure, dpi = as.numeric(dpi))
  grid::grid.newpage()
  grid::grid.raster(grDevices::as.raster(pixels, max = 255L), interpolate = TRUE)
  invisible(NULL)
}

# One plotting wrapper's body: the convention above. `args`: the Python function's arguments, as
# capture_args() gives them; their `file` is NULL or absent (draw on the device) or a path (written
# by Python).
cnnkit_plot <- function(.fn, args) {
  file <- args$file
  if (!is.null(file)) args$file <- as_py_path(file)
  value <- cnnkit_call(.fn, .args = args)
  if (is.null(file)) {
    draw_figure(value)
    return(invisible(NULL))
  }
  invisible(value)
}

plot_module <- function() {
  py_cnnkit()
  reticulate::import("cnnkit._plot")
}

# Call a Python function and turn its exception into a short R error (as cnnkit_call() does).
cnnkit_py_call <- function(f, ...) {
  tryCatch(f(...), error = function(e) stop(py_error_message(e), call. = FALSE))
}

# A short description of an R value for error messages: its class and, for short vectors, the value.
describe_r_value <- function(x) {
  if (is.null(x)) return("NULL")
  if (inherits(x, "python.builtin.object")) return(paste("a Python", class(x)[1]))
  if (is.atomic(x) && length(x) <= 5 && is.null(dim(x))) return(paste(deparse(x), collapse = " "))
  paste("an object of class", class(x)[1])
}
