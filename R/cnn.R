#' The slides' small CNN: convolutional blocks and a classifier head
#'
#' `blocks` [conv_block()]s followed by [classifier_head()]. With the defaults
#' this is the slides' model: three blocks of 32 filters take a 32x32x3 image to
#' `(None, 4, 4, 32)`, then global average pooling, `Dense(256, relu)` and
#' `Dense(1, sigmoid)`: 28,097 parameters. Layers are named `block1_conv`,
#' `block1_act`, `block1_pool`, ..., `head_dense`, `head_predictions`.
#'
#' @param input_shape `c(height, width, channels)`.
#' @param blocks Number of convolutional blocks.
#' @param filters Filters per block: one number, or one per block.
#' @param kernel_size Kernel size: one number or `c(h, w)`.
#' @param pool Pooling in each block: `"max"`, `"avg"` or `NULL`.
#' @param units Hidden units of the head (`NULL`: none).
#' @param num_classes 1 (sigmoid) or more (softmax).
#' @param global_pool `"avg"` or `"max"`.
#' @param activation Activation inside the blocks.
#' @return An uncompiled Keras model.
#' @examplesIf cnnkit_available()
#' simple_cnn()                       # 28,097 parameters
#' simple_cnn(c(28, 28, 1), blocks = 2, num_classes = 10)
#' @export
simple_cnn <- function(input_shape = c(32, 32, 3), blocks = 3, filters = 32, kernel_size = 3,
                       pool = "max", units = 256, num_classes = 1, global_pool = "avg",
                       activation = "relu") {
  args <- capture_args(list(input_shape = as_py_shape, blocks = as_py_int, filters = as_py_int,
                            kernel_size = as_py_int, units = as_py_int, num_classes = as_py_int))
  cnnkit_call("simple_cnn", .args = args)
}

#' The main job's default model
#'
#' Two convolutional blocks with BatchNorm (`Conv 5x5 -> MaxPool -> BN -> ReLU`,
#' `Conv 3x3 -> MaxPool -> BN -> ReLU`), `Flatten`, `Dense(units, relu)` and the
#' output layer: 317,418 parameters, small enough for the main job's 4 epochs
#' to take well under a minute on two CPU cores, wide enough for about 92% on
#' Fashion-MNIST with them (`bench/results/main_job.md`).
#' Pooling straight after each convolution lets BatchNorm and ReLU run on a
#' quarter of the pixels.
#'
#' @param input_shape `c(height, width, channels)`.
#' @param num_classes Output classes.
#' @param filters Filters of the two blocks: one number or two.
#' @param units Hidden Dense units.
#' @return An uncompiled Keras model.
#' @examplesIf cnnkit_available()
#' fashion_cnn()$count_params()   # 317,418
#' @export
fashion_cnn <- function(input_shape = c(28, 28, 1), num_classes = 10, filters = c(32, 48), units = 128) {
  args <- capture_args(list(input_shape = as_py_shape, num_classes = as_py_int, filters = as_py_int,
                            units = as_py_int))
  cnnkit_call("fashion_cnn", .args = args)
}
