#' Fashion-MNIST, offline first
#'
#' Reads the Debian package `dataset-fashion-mnist`
#' (`/usr/share/datasets/fashion-mnist`) when present, else the Keras cache
#' (`$KERAS_HOME/datasets/fashion-mnist`), else downloads through Keras.
#' Images arrive as R arrays `(n, height, width, channels)` in `[0, 1]`;
#' labels as factors whose levels are the class names (level 1 is class id 0;
#' [fit_classifier()] converts them).
#'
#' @param pad Zero-pad the 28x28 images to 32x32 (for [lenet5()]).
#' @param channels 1 (grayscale) or 3 (the gray value repeated).
#' @param classes Keep only these classes (ids 0-9 or names), relabelled in the
#'   order given: `classes = c(0, 9)` is a 2-class problem.
#' @param n,n_test Keep a random `n` training / `n_test` test images (`NULL`: all).
#' @param normalize `TRUE`: values in `[0, 1]`; `FALSE`: the raw 0-255 values.
#' @param seed Seed of the random subsets.
#' @return A list: `x_train`, `y_train` (factor), `x_test`, `y_test`,
#'   `class_names`, `source` (where the files were found).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(pad = TRUE, n = 1000)
#' dim(fm$x_train)     # 1000 32 32 1
#' table(fm$y_train)
#' @export
load_fashion_mnist <- function(pad = FALSE, channels = 1, classes = NULL, n = NULL, n_test = NULL,
                               normalize = TRUE, seed = 0) {
  args <- capture_args(list(channels = as_py_int, classes = as_py_classes, n = as_py_int, n_test = as_py_int,
                            seed = as_py_int))
  d <- cnnkit_call("load_fashion_mnist", .args = args)
  d$y_train <- as_r_factor(d$y_train, d$class_names)
  d$y_test <- as_r_factor(d$y_test, d$class_names)
  d
}

#' Your own images, in class sub-folders, as a tf.data pipeline
#'
#' `path/<class>/<image>` becomes a prefetched `tf.data` pipeline of
#' `(images, labels)` batches for [fit_classifier()]. Class ids follow the
#' sorted folder names. Images are resized and scaled to `[0, 1]`. Files that
#' are not readable PNG, JPEG, BMP or GIF images, or that declare more pixels
#' than the limit (50 megapixels, `CNNKIT_MAX_IMAGE_PIXELS`; see [limits()]),
#' checked from the header before decoding, are skipped, with a warning that
#' counts them by reason. Every file kept has been decoded once by the decoder
#' the pipeline uses. An empty folder, one class only or a missing path are
#' errors.
#'
#' @param path The folder holding one sub-folder per class.
#' @param image_size `c(height, width)` (one number: square), at most 4096 a
#'   side (`CNNKIT_MAX_IMAGE_SIDE`).
#' @param color_mode `"rgb"` or `"grayscale"` (the luma of colour images).
#' @param validation_split Fraction held out for validation (`NULL`: none).
#' @param seed Seed of the shuffle and of the split.
#' @param batch_size Images per batch.
#' @return A list: `train` and `validation` (Python `tf.data.Dataset`s or
#'   `NULL`), `class_names`, `num_train`, `num_validation`, `skipped`.
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag", "Dress"), n = 10)
#' d <- image_folder(photos, image_size = 32, validation_split = 0.2)
#' d$class_names
#' model <- simple_cnn(c(32, 32, 3), blocks = 1, filters = 4, units = 8, num_classes = length(d$class_names))
#' fit_classifier(model, d$train, validation_data = d$validation, epochs = 1, verbose = 0)
#' @export
image_folder <- function(path, image_size = c(64, 64), color_mode = "rgb", validation_split = NULL,
                         seed = 0, batch_size = 32) {
  # Python's warning (skipped files, counted by reason) is raised as an R warning, word for word
  args <- capture_args(list(image_size = as_py_int, seed = as_py_int, batch_size = as_py_int))
  cnnkit_call_warn("image_folder", .args = args)
}

#' Read image files into an array
#'
#' Decodes and resizes exactly as [image_folder()] does, so a model trained on
#' a folder sees new files the same way. An unreadable file, or one declaring
#' more pixels than the limit (see [limits()]; checked before decoding), is an
#' error that names it.
#'
#' @param files Image paths (PNG, JPEG, BMP, GIF).
#' @param image_size `c(height, width)`.
#' @param color_mode `"rgb"` or `"grayscale"`.
#' @return An array `(n, height, width, channels)` in `[0, 1]`.
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 2)
#' files <- list.files(photos, recursive = TRUE, full.names = TRUE)
#' dim(load_images(files, 28, "grayscale"))  # 4 28 28 1
#' @export
load_images <- function(files, image_size, color_mode = "rgb") {
  cnnkit_call("load_images", .args = capture_args(list(files = as_py_list, image_size = as_py_int)))
}

#' A small real image folder to try things on
#'
#' Writes Fashion-MNIST training images (28x28 grayscale PNG files) into one
#' sub-folder per class, `path/<class>/img_001.png`, ..., the layout
#' [image_folder()] reads: for examples, tests and a first try of the
#' your-own-images workflow without photos of your own. Class folders are
#' named after the classes (`t_shirt_top`, `trouser`, ..., `ankle_boot`).
#'
#' @param path The folder to write (created; it must be empty or absent unless
#'   `overwrite = TRUE`).
#' @param classes The classes to write: ids 0-9 or names, as in
#'   [load_fashion_mnist()] (default: all ten).
#' @param n Images per class, 1 to 6000 (a random choice, the same for the
#'   same `seed`).
#' @param seed Seed of the choice.
#' @param overwrite Write into a folder that is not empty (replacing the
#'   `img_*.png` files of these classes; nothing else is touched).
#' @return `path`.
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 3)
#' list.files(photos, recursive = TRUE)
#' image_folder(photos, image_size = 28)$num_train
#' @export
example_image_folder <- function(path, classes = NULL, n = 20, seed = 0, overwrite = FALSE) {
  args <- capture_args(list(classes = as_py_classes, n = as_py_int, seed = as_py_int))
  cnnkit_call("example_image_folder", .args = args)
}
