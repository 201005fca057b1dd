#' A convolutional block: Conv2D, activation, pooling
#'
#' Applies `Conv2D -> activation layer -> pooling` to a Keras tensor and returns
#' the output tensor, so blocks compose with the native pipe:
#' `conv_block(input) |> conv_block() |> conv_block()`.
#'
#' Sizes may be given as R numbers (`32`, `c(3, 3)`); they are converted to
#' integers. Fractional, zero or negative sizes are errors that name the
#' argument.
#'
#' @param x A 4-D Keras tensor `(batch, height, width, channels)`, e.g. from
#'   `keras$layers$Input(tuple(32L, 32L, 3L))`.
#' @param filters Number of convolutional filters (feature maps).
#' @param kernel_size Height and width of each filter: one number or `c(h, w)`.
#' @param strides Step of the kernel over the input: one number or `c(h, w)`.
#' @param padding `"same"` keeps the spatial size; `"valid"` adds no padding.
#' @param pool `"max"`, `"avg"` or `NULL` (no pooling).
#' @param pool_size Pooling window: one number or `c(h, w)`.
#' @param activation Activation after the convolution (`"relu"` uses a `ReLU` layer).
#' @param name Optional prefix for the layer names (`"block1"` gives
#'   `block1_conv`, `block1_act`, `block1_pool`).
#' @return The output Keras tensor.
#' @examplesIf cnnkit_available()
#' input <- keras$layers$Input(tuple(32L, 32L, 3L))
#' conv_block(input) |> conv_block() |> conv_block()  # shape (None, 4, 4, 32)
#' @export
conv_block <- function(x, filters = 32, kernel_size = 3, strides = 1, padding = "same",
                       pool = "max", pool_size = 2, activation = "relu", name = NULL) {
  args <- capture_args(list(filters = as_py_int, kernel_size = as_py_int, strides = as_py_int,
                            pool_size = as_py_int))
  cnnkit_call("conv_block", .args = args)
}

#' The classifier head: global pooling, a Dense layer, the output layer
#'
#' Global average (or max) pooling turns `(B, H, W, C)` features into a
#' `(B, C)` matrix; a `Dense(units, relu)` layer and the output layer follow
#' (1 class: sigmoid; 2 or more: softmax).
#'
#' @param x A 4-D Keras tensor from a feature extractor.
#' @param units Hidden Dense units; `NULL` or `0` connects the pooling directly
#'   to the output layer.
#' @param num_classes Number of classes: 1 for binary (sigmoid), 2 or more (softmax).
#' @param global_pool `"avg"` or `"max"`.
#' @param name Optional prefix for the layer names.
#' @return The output Keras tensor `(B, num_classes)`.
#' @examplesIf cnnkit_available()
#' input <- keras$layers$Input(tuple(32L, 32L, 3L))
#' output <- conv_block(input) |> conv_block() |> conv_block() |> classifier_head()
#' keras$Model(input, output)$count_params()  # 28,097
#' @export
classifier_head <- function(x, units = 256, num_classes = 1, global_pool = "avg", name = NULL) {
  cnnkit_call("classifier_head", .args = capture_args(list(units = as_py_int, num_classes = as_py_int)))
}

#' The output layer for a number of classes
#'
#' `Dense(1, sigmoid)` for one class (binary problems), `Dense(n, softmax)` for
#' two or more. Call the returned layer on a tensor.
#'
#' @param num_classes Number of classes.
#' @param name Layer name (default `"predictions"`).
#' @param activation Override the activation (default: chosen from `num_classes`).
#' @return A Keras `Dense` layer.
#' @examplesIf cnnkit_available()
#' output_layer(10)
#' output_layer(1)$get_config()$activation   # "sigmoid"
#' @export
output_layer <- function(num_classes, name = "predictions", activation = NULL) {
  cnnkit_call("output_layer", .args = capture_args(list(num_classes = as_py_int)))
}
