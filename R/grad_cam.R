#' Grad-CAM: where in an image the evidence for a class lies
#'
#' `grad_cam()` returns one heat map per image (Selvaraju et al., 2017): the
#' feature maps of a late convolutional layer, each weighted by the mean
#' gradient of the class score (before softmax or sigmoid) with respect to it,
#' summed, the negative part set to 0, resized to the image and divided by its
#' maximum. `plot_grad_cam()` draws the maps over the images, titled with the
#' class explained and its probability. A map is only worth reading if it
#' depends on what the model learnt: with the weights re-randomised it changes
#' (the sanity check of Adebayo et al., 2018, run by the tests).
#'
#' @param model A Keras classifier (1 sigmoid unit or n softmax units).
#' @param images An array of images `c(n, height, width, channels)` as the
#'   model takes them (one image `c(height, width, channels)` is a batch of one).
#' @param layer The name of a layer with feature maps (a 4-D output), looked
#'   for inside nested models too. `NULL`: the last convolutional layer with
#'   more than one position (inside a pretrained backbone, its last one), with
#'   the BatchNormalization and activation layers right after it.
#' @param class_id The class to explain: `NULL` the predicted class of each
#'   image; one class id (0-based, as [predict_classes()] gives it), a class name
#'   or a factor value for all images; or one per image.
#' @param file `NULL` (the default) draws on the current graphics device (see
#'   [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path writes the plot
#'   there instead (atomically).
#' @param class_names Names for the titles (default: those saved with the
#'   model, else the class ids).
#' @param alpha Opacity of the heat map over the image, from 0 to 1.
#' @param cols Images per row.
#' @return `grad_cam()`: an array `c(n, height, width)` with values from 0 to 1.
#'   `plot_grad_cam()`: `NULL` (drawn) or the path written, invisibly. At most
#'   32 images are drawn (`CNNKIT_MAX_PLOT_IMAGES`, see [limits()]).
#' @seealso [plot_feature_maps()], [top_losses()]
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(pad = TRUE, n = 500, n_test = 8)
#' model <- lenet5()
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)   # longer runs: clearer maps
#' maps <- grad_cam(model, fm$x_test)
#' dim(maps)   # 8 32 32
#' plot_grad_cam(model, fm$x_test)
#' @export
grad_cam <- function(model, images, layer = NULL, class_id = NULL) {
  cnnkit_call("grad_cam", .args = capture_args(list(class_id = as_py_class_id)))
}

#' @rdname grad_cam
#' @export
plot_grad_cam <- function(model, images, layer = NULL, class_id = NULL, file = NULL, class_names = NULL,
                          alpha = 0.5, cols = 4) {
  cnnkit_plot("plot_grad_cam", capture_args(list(class_id = as_py_class_id, class_names = as_py_list, cols = as_py_int)))
}
