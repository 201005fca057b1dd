#' A transfer-learning model: a pretrained backbone with a new output layer
#'
#' Reproduces the slides: input, the backbone (called with `training = FALSE`,
#' so its BatchNormalization layers stay in inference mode) with global
#' average pooling, and `Dense(1, sigmoid)` (or softmax for `num_classes > 1`).
#' `mode = "feature_extraction"` freezes the whole backbone (VGG16 on 32x32x3:
#' 513 trainable parameters); `mode = "fine_tune"` makes its last block
#' trainable (VGG16: `block5`, 7,079,937 trainable parameters with the head),
#' BatchNormalization excepted.
#'
#' @param backbone A backbone name (see [list_backbones()]) or a backbone model.
#' @param input_shape `c(height, width, channels)` (`NULL` with a model: its own).
#' @param num_classes 1 (sigmoid) or more (softmax).
#' @param mode `"feature_extraction"` or `"fine_tune"`.
#' @param unfreeze For `"fine_tune"`: layer-name prefix(es) to unfreeze
#'   (default: the backbone's last block).
#' @param weights `"imagenet"`, `NULL` or a weights file (see [backbone()]).
#' @param pooling `"avg"` or `"max"`.
#' @param batchnorm Also unfreeze BatchNormalization layers in `"fine_tune"` mode.
#' @return An uncompiled Keras model.
#' @seealso [fine_tune()], [domain_adapted_model()], [unfreeze()]
#' @examples
#' \dontrun{
#' model <- transfer_model("vgg16", c(32, 32, 3), mode = "fine_tune")
#' summary(model, show_trainable = TRUE)
#' }
#' @export
transfer_model <- function(backbone = "vgg16", input_shape = c(32, 32, 3), num_classes = 1,
                           mode = "feature_extraction", unfreeze = NULL, weights = "imagenet",
                           pooling = "avg", batchnorm = FALSE) {
  cnnkit_call("transfer_model", backbone, input_shape = as_py_shape(input_shape),
              num_classes = as_py_int(num_classes), mode = mode,
              unfreeze = if (is.character(unfreeze)) as.list(unfreeze) else unfreeze,
              weights = weights, pooling = pooling, batchnorm = batchnorm)
}

#' The exercise: a domain adapter in front of a frozen ImageNet backbone
#'
#' `input -> [Conv2D(adapter_filters) -> BatchNormalization -> ReLU] x
#' adapter_layers -> Conv2D(3) -> ConvNeXtTiny (frozen) -> GlobalAveragePooling
#' -> output layer`. The adapter learns to map grayscale (or other-domain)
#' images to the 3 channels the pretrained backbone expects; only the adapter
#' and the output layer train.
#'
#' @param backbone A backbone name (default `"convnext_tiny"`, as in the exercise).
#' @param input_shape `c(height, width, channels)`, any number of channels.
#' @param num_classes 1 (sigmoid) or more (softmax).
#' @param adapter_filters Filters of each adapter convolution.
#' @param adapter_layers Number of Conv2D + BatchNormalization pairs.
#' @param weights The backbone's weights: `"imagenet"`, `NULL` or a file.
#' @param kernel_size Kernel size of the adapter convolutions.
#' @param activation Activation after each BatchNormalization (`NULL`: none).
#' @return An uncompiled Keras model with layers `adapter_conv1`, `adapter_bn1`,
#'   ..., `adapter_rgb`, the backbone, `global_pool`, `predictions`.
#' @examples
#' \dontrun{
#' model <- domain_adapted_model(input_shape = c(32, 32, 1), num_classes = 10)
#' }
#' @export
domain_adapted_model <- function(backbone = "convnext_tiny", input_shape = c(32, 32, 1),
                                 num_classes = 1, adapter_filters = 32, adapter_layers = 2,
                                 weights = "imagenet", kernel_size = 3, activation = "relu") {
  cnnkit_call("domain_adapted_model", backbone, input_shape = as_py_shape(input_shape),
              num_classes = as_py_int(num_classes), adapter_filters = as_py_int(adapter_filters),
              adapter_layers = as_py_int(adapter_layers), weights = weights,
              kernel_size = as_py_int(kernel_size), activation = activation)
}

#' Two-phase fine-tuning in one call
#'
#' Phase `"head"`: the backbone frozen, `head_epochs` epochs at learning rate
#' `lr`. Phase `"fine_tune"`: the backbone's last block (or `unfreeze`) made
#' trainable (BatchNormalization stays frozen unless `batchnorm = TRUE`),
#' `epochs` more epochs at `lr_fine`. Each phase compiles the model with
#' [compile_classifier()] and trains with Keras' `fit()`.
#'
#' @param model A model from [transfer_model()] or [domain_adapted_model()]
#'   (or any model with a nested backbone model).
#' @param data `list(x, y)`: an image array `(n, height, width, channels)` and
#'   labels (0/1 for one output unit, `0..k-1` for k classes); or a `tf.data`
#'   dataset of `(images, labels)` batches.
#' @param head_epochs Epochs of phase 1 (0 skips it).
#' @param epochs Epochs of phase 2 (0 skips it).
#' @param lr Learning rate of phase 1.
#' @param lr_fine Learning rate of phase 2.
#' @param unfreeze Layer-name prefix(es) to unfreeze in phase 2 (default: the
#'   backbone's last block).
#' @param batchnorm Unfreeze BatchNormalization layers too.
#' @param validation_data `list(x, y)` or a dataset, evaluated after each epoch.
#' @param batch_size Batch size for array data.
#' @param optimizer Optimizer name for both phases.
#' @param verbose Passed to `fit()`.
#' @param ... More `fit()` arguments (`callbacks`, `class_weight`, ...).
#' @return The history of both phases: a data.frame with one row per epoch and
#'   columns `epoch`, `phase` (`"head"` or `"fine_tune"`), `loss`, the metrics
#'   and their `val_` versions.
#' @examples
#' \dontrun{
#' model <- transfer_model("vgg16", c(32, 32, 3))
#' history <- fine_tune(model, list(x, y), head_epochs = 3, epochs = 5, lr = 1e-3)
#' }
#' @export
fine_tune <- function(model, data, head_epochs = 1, epochs = 1, lr = 1e-3, lr_fine = lr / 10,
                      unfreeze = NULL, batchnorm = FALSE, validation_data = NULL, batch_size = 32,
                      optimizer = "adam", verbose = 0, ...) {
  if (is.list(data) && !inherits(data, "python.builtin.object")) data <- lapply(unname(data), as_py_array)
  if (is.list(validation_data) && !inherits(validation_data, "python.builtin.object")) {
    validation_data <- lapply(unname(validation_data), as_py_array)
  }
  history <- cnnkit_call("fine_tune", model, data, head_epochs = as_py_int(head_epochs),
                         epochs = as_py_int(epochs), lr = lr, lr_fine = lr_fine,
                         unfreeze = if (is.character(unfreeze)) as.list(unfreeze) else unfreeze,
                         batchnorm = batchnorm, validation_data = validation_data,
                         batch_size = as_py_int(batch_size), optimizer = optimizer,
                         verbose = as_py_int(verbose), ...)
  columns <- lapply(history, function(col) unlist(lapply(col, function(v) if (is.null(v)) NA else v)))
  as.data.frame(columns, stringsAsFactors = FALSE)
}
