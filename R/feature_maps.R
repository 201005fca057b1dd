#' Feature maps of a convolutional layer for one image
#'
#' `feature_maps()` returns the activations of `layer` for one image as an
#' array `(height, width, channels)`; `plot_feature_maps()` draws the image and
#' the first `max_maps` maps as a grid, on the current graphics device or to
#' a file: the slides' "different filters extract different features" made
#' visible.
#'
#' @param model A Keras model.
#' @param image One image: an array `c(H, W, C)` (or a matrix `c(H, W)` for a
#'   grayscale model), or the path of an image file (resized to the model's input;
#'   a file declaring more pixels than the limit, see [limits()], is refused
#'   before it is decoded).
#' @param layer A layer name, or an index: 1 is the first layer, -1 the last
#'   (R convention; converted to Python's 0-based index).
#' @param file `NULL` (the default) draws the grid on the current graphics
#'   device (see [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path
#'   writes it there instead (atomically: no half-written file on error).
#' @param max_maps Draw at most this many feature maps.
#' @param cols Columns of the grid.
#' @param cmap A matplotlib colour map name.
#' @return `feature_maps()`: an array. `plot_feature_maps()`: `NULL` (drawn) or
#'   the path written, invisibly.
#' @examplesIf cnnkit_available()
#' img <- array(runif(32 * 32), c(32, 32, 1))
#' plot_feature_maps(lenet5(), img, "c1")
#' dim(feature_maps(lenet5(), img, "c1"))   # 28 28 6
#' @export
plot_feature_maps <- function(model, image, layer, file = NULL, max_maps = 32, cols = 8, cmap = "viridis") {
  args <- capture_args(list(layer = function(l) as_py_index(l, "layer", "plot_feature_maps"),
                            max_maps = as_py_int, cols = as_py_int))
  cnnkit_plot("plot_feature_maps", args)
}

#' @rdname plot_feature_maps
#' @export
feature_maps <- function(model, image, layer) {
  cnnkit_call("feature_maps", .args = capture_args(list(layer = function(l) as_py_index(l, "layer", "feature_maps"))))
}
