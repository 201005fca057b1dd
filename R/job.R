#' The main job: train, evaluate, save a run
#'
#' The same as the command line's `cnnkit train`. With no arguments:
#' [fashion_cnn()] on Fashion-MNIST (4 epochs, one-cycle learning rate, label
#' smoothing 0.1 and a weight average),
#' evaluated on the 10,000 test images; the run directory (default
#' `runs/<timestamp>/`) receives `model.keras`, `history.csv`, `history.png`,
#' `confusion_matrix.png` and `metrics.json`. Called again with the same
#' `run_dir` after a kill, training resumes from the last completed epoch.
#'
#' With a backbone's name (any of [list_backbones()], e.g.
#' `"efficientnet_lite0"`), the job is transfer learning: [transfer_model()]
#' with ImageNet weights, trained by [fine_tune()] -- `head_epochs` epochs with
#' the backbone frozen (its features computed once), then `epochs` epochs with
#' its last block trainable at a tenth of `learning_rate`. The saved model
#' carries the class names, so `predict_classes()` and `cnnkit predict` name
#' the classes.
#'
#' @param model `"fashion_cnn"`, `"simple_cnn"`, `"lenet5"`, a backbone name
#'   (transfer learning; see [list_backbones()]) or a Keras model.
#' @param data `NULL` (Fashion-MNIST) or a folder of images in class
#'   sub-folders (20% held out for testing), or with split folders `train/`
#'   and `test/` (or `val/`) that each hold the class folders (see
#'   [image_folder()]): trained on `train/`, tested on `test/` (else `val/`;
#'   with both, `val/` is not used). With `labels`: the folder its file names
#'   are relative to.
#' @param epochs,batch_size,learning_rate,schedule See [fit_classifier()].
#' @param subset Use only this many training and test images (quick checks);
#'   of a folder or a table, at most this many images of each split folder (of
#'   the whole folder or table, before 20% are held out), chosen by `seed`
#'   keeping each class's share.
#' @param run_dir Where to save (default: a new `runs/<timestamp>/`). An
#'   unfinished run there resumes (with the same settings); a finished one is
#'   returned as it is, with a warning.
#' @param overwrite Discard what `run_dir` holds and train afresh.
#' @param strategy `NULL` or `"mirrored"` (see [distribution_strategy()]; with
#'   several workers only the chief writes `run_dir` and evaluates).
#' @param seed Seed for weights, subsets and shuffling.
#' @param verbose `"auto"` (see [fit_classifier()]), 0, 1 or 2.
#' @param precision `"auto"`, `"float32"` or `"mixed_bfloat16"` (see [fit_classifier()]).
#' @param head_epochs Transfer learning only: epochs of the frozen-backbone
#'   phase (`NULL`: 3).
#' @param image_size With `data` or `labels`: the size images are resized to
#'   (one number: square); `NULL`: 64 for the small models, the backbone's
#'   ImageNet size (224) for transfer learning.
#' @param labels A table of images and their classes (see [image_table()]): a
#'   data frame or a CSV file with a `file` and a `label` column (a factor's
#'   levels give the class order). Relative file names are relative to `data`
#'   when given, else to the CSV file's folder (a data frame: the working
#'   directory). 20% of its images are held out for testing.
#' @param label_smoothing As in [fit_classifier()] (both phases of transfer
#'   learning).
#' @param tta Test-time augmentation of the test evaluation, as in
#'   [evaluate_classifier()] (`TRUE`: each image and its mirror image). Not
#'   for the models the main job trains, which see no flipped images in
#'   training (`fashion_cnn` loses 3.5 points with it).
#' @param ema As in [fit_classifier()] (both phases of transfer learning): the
#'   momentum of the weight average the model ends with; `"auto"` (the
#'   default): `0.99` for the main job's 1,876 steps, lower for shorter runs
#'   (`1 - 10 / steps`), none below 20 steps; `0`: off.
#' @param mixup,cutmix As in [fit_classifier()] (both phases of transfer
#'   learning): blend training images; `0`: off.
#' @param tensorboard Also write TensorBoard logs in the run directory, as in
#'   [fit_classifier()] (per phase for transfer learning).
#' @param class_weight As in [fit_classifier()] (both phases of transfer
#'   learning): `"balanced"`, a named vector `c(bag = 2, shoe = 1)` of the
#'   classes' names, or an unnamed vector of one weight per class.
#' @return A list: `accuracy`, `train_seconds`, `run_dir`, `files`, `history`
#'   (a `cnnkit_history` data frame), `evaluation` (see [evaluate_classifier()]; `NULL` on a
#'   non-chief worker), `finished_earlier` and `worker`.
#' @examplesIf cnnkit_available()
#' run <- train_classifier(epochs = 1, subset = 200, run_dir = tempfile("run"), verbose = 0)  # a quick check
#' run$accuracy
#' run$evaluation
#' # train_classifier() with no arguments is the main job (4 epochs on all 60,000 images)
#' # transfer learning on a folder of photos:
#' # train_classifier("efficientnet_lite0", data = "photos", run_dir = "runs/photos")
#' @export
train_classifier <- function(model = "fashion_cnn", data = NULL, epochs = 4, batch_size = 128,
                             learning_rate = 3e-3, schedule = "cosine", subset = NULL, run_dir = NULL,
                             overwrite = FALSE, strategy = NULL, seed = 0, verbose = "auto", precision = "auto",
                             head_epochs = NULL, image_size = NULL, labels = NULL, label_smoothing = 0.1,
                             tta = FALSE, class_weight = NULL, ema = "auto", tensorboard = FALSE,
                             mixup = 0, cutmix = 0) {
  args <- capture_args(list(epochs = as_py_int, batch_size = as_py_int, subset = as_py_int, seed = as_py_int,
                            verbose = as_py_verbose, head_epochs = as_py_int, image_size = as_py_int,
                            labels = as_py_table,
                            class_weight = function(x) as_py_class_weight(x, "train_classifier")),
                       force = "verbose")
  r <- cnnkit_call_warn("train_classifier", .args = args)
  r$history <- as_r_history(r$history)
  if (!is.null(r$evaluation)) r$evaluation <- as_r_evaluation(r$evaluation)
  r
}
