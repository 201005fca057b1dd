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
#' * `plot_images` (`CNNKIT_MAX_PLOT_IMAGES`, 32): `n` of [plot_augmentation()]
#'   and of [show_batch()].
#'
#' @return A data frame, one row per limit: `name`, `value` (what applies
#'   now), `default`, `env` (the environment variable) and `what`.
#' @examplesIf cnnkit_available()
#' limits()
#' Sys.setenv(CNNKIT_MAX_IMAGE_PIXELS = 1e8)   # allow 100-megapixel images
#' limits()$value[limits()$name == "image_pixels"]
#' Sys.unsetenv("CNNKIT_MAX_IMAGE_PIXELS")
#' @export
limits <- function() {
  # unconverted (reticulate 1.28 turns Python ints of 2^32 and more, 4 GiB, into 0); py_cnnkit()
  # imports the bundled package first, so import() returns that same module
  py_cnnkit()
  table <- tryCatch(reticulate::import("cnnkit", convert = FALSE)$limits(),
                    error = function(e) stop(py_error_message(e), call. = FALSE))
  number <- reticulate::import_builtins()$float
  text <- reticulate::import_builtins()$str
  names <- unlist(reticulate::py_to_r(reticulate::import_builtins(convert = FALSE)$list(table)))
  column <- function(key, as) vapply(names, function(n) as(table$get(n)$get(key)), if (identical(as, text)) "" else 0)
  data.frame(name = names, value = column("value", number), default = column("default", number),
             env = column("env", text), what = column("what", text), row.names = NULL, stringsAsFactors = FALSE)
}
