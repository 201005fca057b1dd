#' Limits on untrusted files and unbounded requests
#'
#' Files from elsewhere cannot take unbounded memory or time, and requests for
#' unbounded work are clear errors. Each limit has a default and an environment
#' variable that changes it (set it with `Sys.setenv()`, before or during the
#' session; `"inf"` lifts it):
#'
#' * `image_pixels` (`CNNKIT_MAX_IMAGE_PIXELS`, 50,000,000): pixels (width x
#'   height) an image file may declare. Checked from the header, before
#'   decoding: [image_folder()] skips larger files (its warning counts them),
#'   [load_images()], [predict_classes()], [feature_maps()] and
#'   [classify_image()] refuse them.
#' * `image_side` (`CNNKIT_MAX_IMAGE_SIDE`, 4096): `image_size` of
#'   [image_folder()] and [load_images()].
#' * `model_bytes` (`CNNKIT_MAX_MODEL_BYTES`, 4 GiB): what a `.keras` file
#'   ([load_model()]) or a weights file ([backbone()], [transfer_model()],
#'   [efficientnet_lite0()]) may decompress to, checked before anything is
#'   extracted; a config whose variables would need more is refused too.
#' * `augment_bytes` (`CNNKIT_MAX_AUGMENT_BYTES`, 4 GiB): the images that
#'   [augment_dataset()] makes.
#' * `epochs` (`CNNKIT_MAX_EPOCHS`, 10,000): epochs of one training call.
#' * `plot_images` (`CNNKIT_MAX_PLOT_IMAGES`, 32): `n` of [plot_augmentation()].
#'
#' @return A data frame, one row per limit: `name`, `value` (what applies
#'   now), `default`, `env` (the environment variable) and `what`.
#' @examples
#' \dontrun{
#' limits()
#' Sys.setenv(CNNKIT_MAX_IMAGE_PIXELS = 1e8)   # allow 100-megapixel images
#' }
#' @export
limits <- function() {
  rows <- cnnkit_call("limits")
  data.frame(name = names(rows),
             value = vapply(rows, function(r) as.numeric(r$value), numeric(1)),
             default = vapply(rows, function(r) as.numeric(r$default), numeric(1)),
             env = vapply(rows, function(r) r$env, character(1)),
             what = vapply(rows, function(r) r$what, character(1)),
             row.names = NULL, stringsAsFactors = FALSE)
}
