#' A transfer-learning model: a pretrained backbone with a new output layer
#'
#' Reproduces the slides: input, the backbone (called with `training = FALSE`,
#' so its BatchNormalization layers stay in inference mode) with global
#' average pooling, and `Dense(1, sigmoid)` (or softmax for `num_classes > 1`).
#' The model takes images with values in `value_range` (0 to 1, as
#' [image_folder()], [load_images()] and [load_fashion_mnist()] give them): a
#' `preprocessing` layer in front of the backbone scales them the way the
#' backbone's ImageNet weights expect (VGG16: BGR channels with the ImageNet
#' mean subtracted from 0-255 values; EfficientNet-Lite0: `(x - 127) / 128`;
#' see [list_backbones()] and [preprocess_input()]). The layer has no weights,
#' is saved with the model (it loads in safe mode) and keeps a frozen
#' backbone's features cacheable.
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
#' @param value_range `c(low, high)`: the values of the images the model will
#'   take (`c(0, 255)` for images read with Keras' own loaders). `NULL`: no
#'   preprocessing layer, the model takes what the backbone takes. A backbone
#'   model not built by [backbone()] gets no layer (its scaling is unknown).
#' @return An uncompiled Keras model: input, `preprocessing`, the backbone,
#'   `predictions`.
#' @seealso [fine_tune()], [domain_adapted_model()], [unfreeze()]
#' @examplesIf cnnkit_available()
#' model <- transfer_model("vgg16", c(32, 32, 3), mode = "fine_tune", weights = NULL)
#' summary(model, show_trainable = TRUE)
#' @export
transfer_model <- function(backbone = "vgg16", input_shape = c(32, 32, 3), num_classes = 1,
                           mode = "feature_extraction", unfreeze = NULL, weights = "imagenet",
                           pooling = "avg", batchnorm = FALSE, value_range = c(0, 1)) {
  args <- capture_args(list(input_shape = as_py_shape, num_classes = as_py_int, unfreeze = as_py_list,
                            value_range = as_py_list))
  cnnkit_call("transfer_model", .args = args)
}

#' The exercise: a domain adapter in front of a frozen ImageNet backbone
#'
#' `input -> [Conv2D(adapter_filters) -> BatchNormalization -> ReLU] x
#' adapter_layers -> Conv2D(3) -> preprocessing -> ConvNeXtTiny (frozen) ->
#' GlobalAveragePooling -> output layer`. The adapter learns to map grayscale
#' (or other-domain) images to the 3 channels the pretrained backbone expects;
#' only the adapter and the output layer train. The `preprocessing` layer reads
#' the adapter's output as an image with values 0 to 1 and scales it as the
#' backbone expects (as in [transfer_model()]).
#'
#' @param backbone A backbone name (default `"convnext_tiny"`, as in the exercise).
#' @param input_shape `c(height, width, channels)`, any number of channels.
#' @param num_classes 1 (sigmoid) or more (softmax).
#' @param adapter_filters Filters of each adapter convolution.
#' @param adapter_layers Number of Conv2D + BatchNormalization pairs.
#' @param weights The backbone's weights: `"imagenet"`, `NULL` or a file.
#' @param kernel_size Kernel size of the adapter convolutions.
#' @param activation Activation after each BatchNormalization (`NULL`: none).
#' @param bn_momentum Momentum of the adapter's BatchNormalization moving
#'   statistics, from 0 to below 1. 0.9 (not Keras' 0.99) lets them follow the
#'   data within a short run: with 0.99 the exercise's 171 steps left the
#'   validation accuracy reported after each epoch at 0.44 against 0.76 in
#'   training; with 0.9 both are about 0.73 (`bench/results/adapter_momentum.md`).
#' @param preprocessing Put the backbone's input scaling between the adapter
#'   and the backbone (`TRUE`); `FALSE`: the adapter feeds the backbone directly
#'   and has to learn its scaling (ConvNeXt expects 0-255 values, for one).
#' @return An uncompiled Keras model with layers `adapter_conv1`, `adapter_bn1`,
#'   ..., `adapter_rgb`, `preprocessing`, the backbone, `global_pool`,
#'   `predictions`.
#' @examplesIf cnnkit_available()
#' model <- domain_adapted_model("efficientnet_lite0", input_shape = c(32, 32, 1), num_classes = 10)
#' model$count_params()
#' @export
domain_adapted_model <- function(backbone = "convnext_tiny", input_shape = c(32, 32, 1),
                                 num_classes = 1, adapter_filters = 32, adapter_layers = 2,
                                 weights = "imagenet", kernel_size = 3, activation = "relu",
                                 bn_momentum = 0.9, preprocessing = TRUE) {
  args <- capture_args(list(input_shape = as_py_shape, num_classes = as_py_int, adapter_filters = as_py_int,
                            adapter_layers = as_py_int, kernel_size = as_py_int))
  cnnkit_call("domain_adapted_model", .args = args)
}

#' Two-phase fine-tuning in one call
#'
#' Phase `"head"`: the backbone frozen, `head_epochs` epochs at
#' `learning_rate`. Phase `"fine_tune"`: the backbone's last block (or
#' `unfreeze`) made trainable (BatchNormalization stays frozen unless
#' `batchnorm = TRUE`), `epochs` more epochs at `fine_tune_learning_rate`.
#' Both phases train through [fit_classifier()] (a fresh optimizer for each),
#' so its data checks (factor labels included), precision, progress display
#' and run directory apply, and the arguments mean what they mean there.
#'
#' With `run_dir`, each phase keeps its own run directory (`run_dir/head`,
#' `run_dir/fine_tune`) and `run_dir/history.csv` holds both: called again
#' after a kill, a finished head phase is loaded, not retrained, and the
#' interrupted phase resumes from its last completed epoch.
#'
#' @param model A model from [transfer_model()] or [domain_adapted_model()]
#'   (or any model with a nested backbone model).
#' @param data `list(x, y)`: an image array `(n, height, width, channels)` and
#'   labels (a factor, 0/1 for one output unit, or `0..k-1` for k classes); or
#'   a `tf.data` dataset of `(images, labels)` batches.
#' @param head_epochs Epochs of phase 1 (0 skips it).
#' @param epochs Epochs of phase 2 (0 skips it).
#' @param learning_rate Learning rate of phase 1.
#' @param fine_tune_learning_rate Learning rate of phase 2 (default
#'   `learning_rate / 10`).
#' @param optimizer Optimizer name for both phases.
#' @param unfreeze Layer-name prefix(es) to unfreeze in phase 2 (default: the
#'   backbone's last block).
#' @param batchnorm Unfreeze BatchNormalization layers too.
#' @param validation_data,validation_split,batch_size,schedule,run_dir,overwrite,early_stopping,checkpoint,strategy,callbacks,verbose,precision,steps_per_execution,recalibrate_bn,cache_features,label_smoothing,class_weight,ema,seed,tensorboard,mixup,cutmix
#'   As in [fit_classifier()].
#' @param lr,lr_fine Deprecated names of `learning_rate` and
#'   `fine_tune_learning_rate`.
#' @return The history of both phases, invisibly: a data frame of class
#'   `cnnkit_history` (`print()` and `plot()` show it; the plot marks where
#'   the second phase starts) with one row per epoch and columns `epoch`
#'   (numbered on across the phases), `phase` (`"head"` or `"fine_tune"`),
#'   `loss`, the metrics and their `val_` versions.
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(n = 64, pad = TRUE)
#' model <- domain_adapted_model("efficientnet_lite0", c(32, 32, 1), num_classes = 10)
#' history <- fine_tune(model, list(fm$x_train, fm$y_train), head_epochs = 1, epochs = 1, batch_size = 64,
#'                      verbose = 0)
#' history            # one row per epoch, with the phase
#' plot(history)
#' @export
fine_tune <- function(model, data, head_epochs = 1, epochs = 1, validation_data = NULL, validation_split = NULL,
                      batch_size = 128, learning_rate = 1e-3, fine_tune_learning_rate = NULL,
                      schedule = "constant", optimizer = "adam", unfreeze = NULL, batchnorm = FALSE,
                      run_dir = NULL, overwrite = FALSE, early_stopping = NULL, checkpoint = TRUE, strategy = NULL,
                      callbacks = NULL, verbose = "auto", precision = "auto", steps_per_execution = "auto",
                      recalibrate_bn = "auto", cache_features = "auto", label_smoothing = 0, class_weight = NULL,
                      ema = 0, seed = NULL, tensorboard = FALSE, mixup = 0, cutmix = 0, lr = NULL,
                      lr_fine = NULL) {
  args <- capture_args(list(data = as_py_data, head_epochs = as_py_int, epochs = as_py_int,
                            validation_data = as_py_data, batch_size = as_py_int, unfreeze = as_py_list,
                            early_stopping = as_py_int, callbacks = as_py_list, verbose = as_py_verbose,
                            steps_per_execution = as_py_int,
                            class_weight = function(x) as_py_class_weight(x, "fine_tune"), seed = as_py_int),
                       force = "verbose")
  history <- cnnkit_call_warn("fine_tune", .args = args)
  invisible(as_r_history(history))
}
