#' Augmentation layers: the slides' six, plus flips
#'
#' Composes `RandomCrop`, `RandomTranslation`, `RandomShear`, `RandomRotation`,
#' `RandomErasing`, `RandomColorJitter` and `RandomFlip` (only those asked for)
#' in a `keras.Sequential`. Apply it inside the model ([with_augmentation()]),
#' in the input pipeline ([augmented_dataset()]) or once before training
#' ([augment_dataset()]).
#'
#' @param crop `RandomCrop` window `c(height, width)` (the output size).
#' @param translate Fraction of height/width to shift by (one number or two).
#' @param shear Shear factor.
#' @param rotate Fraction of a full turn (0.05 = +/- 18 degrees).
#' @param erase Probability of erasing a random rectangle.
#' @param color_jitter Brightness and contrast factor (or a named list of
#'   `RandomColorJitter`'s `*_factor` arguments).
#' @param flip `"horizontal"` (or `TRUE`), `"vertical"`, `"horizontal_and_vertical"`.
#' @param value_range The images' value range (cnnkit's loaders give `c(0, 1)`).
#' @param fill_mode How new pixels are filled (`"constant"`: black).
#' @param seed Base seed.
#' @return A Keras `Sequential` model of augmentation layers.
#' @examplesIf cnnkit_available()
#' aug <- augmentation(translate = 0.1, rotate = 0.05, flip = "horizontal", seed = 1)
#' aug$layers |> length()
#' @export
augmentation <- function(crop = NULL, translate = NULL, shear = NULL, rotate = NULL, erase = NULL,
                         color_jitter = NULL, flip = NULL, value_range = c(0, 1), fill_mode = "constant",
                         seed = NULL) {
  args <- capture_args(list(crop = as_py_int, color_jitter = as_py_dict, value_range = as_py_list, seed = as_py_int))
  cnnkit_call("augmentation", .args = args)
}

#' Augmentation chosen automatically: RandAugment or AugMix
#'
#' @param method `"randaugment"` or `"augmix"`.
#' @param value_range The images' value range.
#' @param num_ops Operations per image (RandAugment).
#' @param factor Strength in (0, 1].
#' @param seed Random seed.
#' @return A Keras layer (needs 3-channel images).
#' @examplesIf cnnkit_available()
#' ra <- rand_augment("augmix")
#' dim(ra(array(0.5, c(1, 32, 32, 3))))
#' @export
rand_augment <- function(method = "randaugment", value_range = c(0, 1), num_ops = 2, factor = 0.5, seed = NULL) {
  args <- capture_args(list(value_range = as_py_list, num_ops = as_py_int, seed = as_py_int))
  cnnkit_call("rand_augment", .args = args)
}

#' Augment once, before training
#'
#' @param x Images `(n, height, width, channels)`.
#' @param y Labels (a factor or 0-based ids).
#' @param aug An augmentation layer that keeps the image size.
#' @param copies Augmented copies per image: the result has `n * (copies + 1)`
#'   images, at most 4 GiB of them (`CNNKIT_MAX_AUGMENT_BYTES`; see [limits()]).
#' @return `list(x, y)`: the originals first, then the copies; `y` keeps
#'   the factor levels of a factor `y`.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 20)
#' bigger <- augment_dataset(fm$x_train, fm$y_train, augmentation(rotate = 0.05), copies = 2)
#' dim(bigger$x)      # 60 28 28 1: the originals, then two augmented copies
#' table(bigger$y)
#' @export
augment_dataset <- function(x, y, aug, copies = 1) {
  out <- cnnkit_call("augment_dataset", .args = capture_args(list(y = as_py_label_array, copies = as_py_int)))
  out <- list(x = out[[1]], y = out[[2]])
  if (is.factor(y)) out$y <- as_r_factor(out$y, levels(y))
  out
}

#' Augment dynamically in the input pipeline
#'
#' A shuffled, batched `tf.data` dataset whose batches are augmented afresh
#' every epoch, for [fit_classifier()].
#'
#' @param x,y Images `(n, height, width, channels)` and labels (a factor or 0-based ids).
#' @param aug An augmentation layer.
#' @param batch_size Images per batch.
#' @param shuffle Reshuffle every epoch.
#' @param seed Shuffle seed.
#' @param class_names The classes' names, carried by the dataset (which
#'   [fit_classifier()] remembers on the model); `NULL`: the levels of a factor
#'   `y`, else none.
#' @return A Python `tf.data.Dataset` (carrying the class names).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 64)
#' ds <- augmented_dataset(fm$x_train, fm$y_train, augmentation(translate = 0.1), batch_size = 32)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' fit_classifier(model, ds, epochs = 1, verbose = 0)
#' @export
augmented_dataset <- function(x, y, aug, batch_size = 128, shuffle = TRUE, seed = NULL, class_names = NULL) {
  if (is.null(class_names) && is.factor(y)) class_names <- levels(y)
  args <- capture_args(list(y = as_py_label_array, batch_size = as_py_int, seed = as_py_int,
                            class_names = as_py_list))
  cnnkit_call("augmented_dataset", .args = args)
}

#' Augment dynamically inside the model
#'
#' `Input -> aug -> model`: random in training, the identity at prediction.
#'
#' @param model A Keras model with one image input.
#' @param aug An augmentation layer that keeps the image size.
#' @return A new model sharing `model`'s layers and weights.
#' @examplesIf cnnkit_available()
#' m <- with_augmentation(simple_cnn(), augmentation(flip = TRUE))
#' m$count_params()   # the same 28,097 weights: augmentation adds none
#' @export
with_augmentation <- function(model, aug) {
  cnnkit_call("with_augmentation", .args = capture_args())
}

#' The slides' before/after augmentation grid
#'
#' Each row one image, then `n` augmented versions of it.
#'
#' @param images One image `(height, width, channels)` or several
#'   `(m, height, width, channels)` (up to 8 rows).
#' @param aug An augmentation layer, or a named list of up to 8 layers: then
#'   each row is one layer applied to the first image, labelled with its name
#'   (the slides' one-augmentation-per-slide pictures, in one grid).
#' @param n Augmented versions per image (per layer), at most 32
#'   (`CNNKIT_MAX_PLOT_IMAGES`; see [limits()]).
#' @param file `NULL` (the default) draws the grid on the current graphics
#'   device (see [draw_figure()]); a `.png`, `.pdf`, `.svg` or `.jpg` path
#'   writes it there instead (atomically).
#' @param titles Optional row labels: a character vector or a factor (default for
#'   a named list: its names).
#' @return `NULL` (drawn) or the path written, invisibly.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 10)
#' plot_augmentation(fm$x_train[1:3, , , , drop = FALSE], augmentation(rotate = 0.1), n = 4)
#' plot_augmentation(fm$x_train[1, , , , drop = FALSE],
#'                   list(rotate = augmentation(rotate = 0.1), erase = augmentation(erase = 1)), n = 4,
#'                   file = tempfile(fileext = ".png"))
#' @export
plot_augmentation <- function(images, aug, n = 6, file = NULL, titles = NULL) {
  cnnkit_plot("plot_augmentation", capture_args(list(n = as_py_int, titles = as_py_list)))
}
