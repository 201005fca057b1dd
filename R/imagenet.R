# ImageNet's classes (python/cnnkit/imagenet.py), as Keras keeps them in imagenet_utils.

#' The top ImageNet classes of each image
#'
#' @param preds A matrix of ImageNet class scores, one row per image and 1000
#'   columns (`model$predict(x)` of an ImageNet classifier).
#' @param top How many classes per image.
#' @return A list with one data frame per image, best class first: `class_id`
#'   (the 0-based ImageNet class index, as [predict_classes()] counts classes),
#'   `wnid` (its WordNet id), `class_name`, `score`.
#' @examplesIf cnnkit_available()
#' model <- efficientnet_lite0(weights = "imagenet")
#' images <- array(runif(2 * 224 * 224 * 3) * 255, c(2, 224, 224, 3))
#' decode_predictions(model$predict(efficientnet_lite0_preprocess(images), verbose = 0L), top = 3)
#' @export
decode_predictions <- function(preds, top = 5) {
  rows <- cnnkit_call("imagenet.decode_records", .args = capture_args(list(top = as_py_int)),
                      .name = "decode_predictions")
  lapply(rows, as_r_table, types = c(class_id = "integer", wnid = "character", class_name = "character",
                                     score = "numeric"))
}
