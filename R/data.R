#' Fashion-MNIST, offline first
#'
#' Reads the Debian package `dataset-fashion-mnist`
#' (`/usr/share/datasets/fashion-mnist`) when present, else the Keras cache
#' (`$KERAS_HOME/datasets/fashion-mnist`), else downloads through Keras.
#' Images arrive as R arrays `(n, height, width, channels)` in `[0, 1]`;
#' labels as factors whose levels are the class names (level 1 is class id 0;
#' [fit_classifier()] converts them).
#'
#' @param pad Zero-pad the 28x28 images to 32x32 (for [lenet5()]).
#' @param channels 1 (grayscale) or 3 (the gray value repeated).
#' @param classes Keep only these classes (ids 0-9 or names), relabelled in the
#'   order given: `classes = c(0, 9)` is a 2-class problem.
#' @param n,n_test Keep a random `n` training / `n_test` test images (`NULL`: all).
#' @param normalize `TRUE`: values in `[0, 1]`; `FALSE`: the raw 0-255 values.
#' @param seed Seed of the random subsets.
#' @return A list: `x_train`, `y_train` (factor), `x_test`, `y_test`,
#'   `class_names`, `source` (where the files were found).
#' @examplesIf cnnkit_available()
#' fm <- load_fashion_mnist(pad = TRUE, n = 1000)
#' dim(fm$x_train)     # 1000 32 32 1
#' table(fm$y_train)
#' @export
load_fashion_mnist <- function(pad = FALSE, channels = 1, classes = NULL, n = NULL, n_test = NULL,
                               normalize = TRUE, seed = 0) {
  args <- capture_args(list(channels = as_py_int, classes = as_py_classes, n = as_py_int, n_test = as_py_int,
                            seed = as_py_int))
  d <- cnnkit_call("load_fashion_mnist", .args = args)
  d$y_train <- as_r_factor(d$y_train, d$class_names)
  d$y_test <- as_r_factor(d$y_test, d$class_names)
  d
}

#' Your own images, in class sub-folders, as a tf.data pipeline
#'
#' `path/<class>/<image>` becomes a prefetched `tf.data` pipeline of
#' `(images, labels)` batches for [fit_classifier()]. Class ids follow the
#' sorted folder names. Images are read as an image viewer shows them, resized
#' (bicubic) and scaled to `[0, 1]`: a photo is turned upright by its EXIF
#' orientation (as phones store portrait photos), 16-bit images are scaled to
#' 8 bits, transparent pixels (RGBA, grey + alpha, palettes with a transparent
#' colour) are composited onto white, and an animation gives its first frame;
#' `"grayscale"` is the luma of that colour image (ITU-R 601).
#'
#' Every file under `path` is used or counted, by reason, in one warning (the
#' result's `skipped` lists them): files that are not readable PNG, JPEG, BMP,
#' GIF, WebP or TIFF images (not images, corrupt, another format or variant,
#' such as 32-bit floating point) or that declare more pixels than the limit
#' (50 megapixels, `CNNKIT_MAX_IMAGE_PIXELS`; see
#' [limits()]), checked from the header before decoding; hidden files and
#' folders (a name starting with `.`, such as `.DS_Store` or
#' `.ipynb_checkpoints/`, or `__MACOSX`) at any depth, a hidden folder counted
#' once and not read; and files lying beside the class folders, in no class.
#' Every file kept has been decoded once by the decoder the pipeline uses. A
#' class folder is read at any depth; linked folders (symbolic links) are
#' followed, each real folder once (a link loop is skipped and counted). An
#' empty folder, one class only or a missing path are errors.
#'
#' **Splits.** A `path` whose folders are `train/` and `test/`, `val/` or
#' `validation/` (any case) holds splits, not classes
#' (`path/train/<class>/<image>`, ...): the result's `train`, `validation` and
#' `test` are those splits, and each split must have the same class folders
#' (an error names the difference). `validation_split` then splits `train/`,
#' and only where there is no `val/` folder.
#'
#' @param path The folder holding one sub-folder per class (or the split
#'   folders).
#' @param image_size `c(height, width)` (one number: square), at most 4096 a
#'   side (`CNNKIT_MAX_IMAGE_SIDE`).
#' @param color_mode `"rgb"` or `"grayscale"` (the luma of colour images).
#' @param validation_split Fraction of the (training) images held out for
#'   validation (`NULL`: none).
#' @param seed Seed of the shuffle, of the split and of the subset.
#' @param batch_size Images per batch.
#' @param subset Use at most this many images of each split (of the whole
#'   folder without split folders): a random choice with `seed` in which each
#'   class keeps its share (at least one image a class), made before
#'   `validation_split`. `NULL`: all.
#' @return A list: `train`, `validation` and `test` (Python `tf.data.Dataset`s
#'   or `NULL`), `class_names`, `num_train`, `num_validation`, `num_test`,
#'   `skipped` (a folder ends with `/`). Each dataset carries `class_names`,
#'   `files`, `labels` and `fingerprint` (a hash of its files, sizes and classes,
#'   which a resumed run in a `run_dir` compares).
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag", "Dress"), n = 10)
#' d <- image_folder(photos, image_size = 32, validation_split = 0.2)
#' d$class_names
#' model <- simple_cnn(c(32, 32, 3), blocks = 1, filters = 4, units = 8, num_classes = length(d$class_names))
#' fit_classifier(model, d$train, validation_data = d$validation, epochs = 1, verbose = 0)
#' @export
image_folder <- function(path, image_size = c(64, 64), color_mode = "rgb", validation_split = NULL,
                         seed = 0, batch_size = 32, subset = NULL) {
  # Python's warning (skipped files, counted by reason) is raised as an R warning, word for word
  args <- capture_args(list(path = as_py_path, image_size = as_py_int, seed = as_py_int, batch_size = as_py_int,
                            subset = as_py_int))
  cnnkit_call_warn("image_folder", .args = args)
}

#' Images listed in a table (file and label) as a tf.data pipeline
#'
#' A data frame (or tibble) or a CSV file with one row per image -- its file
#' and its label -- becomes the same pipeline and list as [image_folder()]
#' gives, with the same checks, split, subset and skip warning: rows without a
#' file or a label, files that do not exist, files listed twice and files that
#' are not readable images are skipped and counted; one file listed with two
#' labels is an error.
#'
#' Class order: `class_names` when given; else the levels of a factor label
#' column, in order (level 1 is class id 0); else the labels sorted (as numbers
#' when all are whole numbers, so `2` comes before `10`).
#'
#' @param table A data frame (or tibble) or the path of a CSV file (its first
#'   line names the columns).
#' @param path The folder relative file names are relative to; `NULL`: the CSV
#'   file's folder, or the working directory for a data frame. Absolute paths
#'   are used as they are.
#' @param file_column,label_column The columns' names (an error lists the
#'   columns there are).
#' @param class_names The class order; every label must be one of them.
#' @param image_size,color_mode,validation_split,seed,batch_size,subset As in
#'   [image_folder()].
#' @return A list as [image_folder()]'s (`test` is `NULL`).
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 3)
#' files <- list.files(photos, recursive = TRUE)
#' tab <- data.frame(file = files, label = factor(dirname(files), levels = c("sneaker", "bag")))
#' d <- image_table(tab, path = photos, image_size = 28)
#' d$class_names  # the factor's levels: "sneaker" "bag"
#' @export
image_table <- function(table, path = NULL, file_column = "file", label_column = "label", class_names = NULL,
                        image_size = c(64, 64), color_mode = "rgb", validation_split = NULL, seed = 0,
                        batch_size = 32, subset = NULL) {
  args <- capture_args(list(table = as_py_table, path = as_py_path, class_names = as_py_list,
                            image_size = as_py_int, seed = as_py_int, batch_size = as_py_int, subset = as_py_int))
  cnnkit_call_warn("image_table", .args = args)
}

# A data frame -> a Python dict of columns (lists; NA -> None, which Python counts as a row without a
# file or label); a factor column -> list(values, levels), whose levels Python takes as the class
# order. A CSV path is expanded; anything else goes as it is (Python checks it).
as_py_table <- function(x) {
  if (!is.data.frame(x)) return(as_py_path(x))
  lapply(x, function(col) {
    values <- as.list(if (is.factor(col)) as.character(col) else col)
    values[is.na(col)] <- list(NULL)
    if (is.factor(col)) list(values = values, levels = as.list(levels(col))) else values
  })
}

#' Read image files into an array
#'
#' Decodes and resizes exactly as [image_folder()] does, so a model trained on
#' a folder sees new files the same way: as an image viewer shows them (upright
#' by their EXIF orientation, 16-bit images scaled to 8 bits, transparent
#' pixels white, the first frame of an animation), resized with bicubic
#' interpolation. An unreadable file, or one declaring
#' more pixels than the limit (see [limits()]; checked before decoding), is an
#' error that names it.
#'
#' @param files Image paths (PNG, JPEG, BMP, GIF, WebP, TIFF).
#' @param image_size `c(height, width)`.
#' @param color_mode `"rgb"` or `"grayscale"`.
#' @return An array `(n, height, width, channels)` in `[0, 1]`.
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 2)
#' files <- list.files(photos, recursive = TRUE, full.names = TRUE)
#' dim(load_images(files, 28, "grayscale"))  # 4 28 28 1
#' @export
load_images <- function(files, image_size, color_mode = "rgb") {
  cnnkit_call("load_images", .args = capture_args(list(files = as_py_list, image_size = as_py_int)))
}

#' A small real image folder to try things on
#'
#' Writes Fashion-MNIST training images (28x28 grayscale PNG files) into one
#' sub-folder per class, `path/<class>/img_001.png`, ..., the layout
#' [image_folder()] reads: for examples, tests and a first try of the
#' your-own-images workflow without photos of your own. Class folders are
#' named after the classes (`t_shirt_top`, `trouser`, ..., `ankle_boot`).
#'
#' @param path The folder to write (created; it must be empty or absent unless
#'   `overwrite = TRUE`).
#' @param classes The classes to write: ids 0-9 or names, as in
#'   [load_fashion_mnist()] (default: all ten).
#' @param n Images per class, 1 to 6000 (a random choice, the same for the
#'   same `seed`).
#' @param seed Seed of the choice.
#' @param overwrite Write into a folder that is not empty (replacing the
#'   `img_*.png` files of these classes; nothing else is touched).
#' @return `path`.
#' @examplesIf cnnkit_available()
#' photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 3)
#' list.files(photos, recursive = TRUE)
#' image_folder(photos, image_size = 28)$num_train
#' @export
example_image_folder <- function(path, classes = NULL, n = 20, seed = 0, overwrite = FALSE) {
  args <- capture_args(list(classes = as_py_classes, n = as_py_int, seed = as_py_int))
  cnnkit_call("example_image_folder", .args = args)
}
