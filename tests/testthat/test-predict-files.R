# predict_classes() on image files from R (issue 24): a folder gives a data frame with a file column,
# sorted; a list keeps its order; bad files are an error or, with skip_unreadable, attr(, "skipped");
# top_losses() on an image_folder() dataset names the files and gives the same rows each call.

small_photos <- function() {
  root <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag", "Dress"), n = 3)
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 3)
  list(root = root, model = model,
       files = sort(list.files(root, recursive = TRUE, full.names = TRUE)))
}

test_that("predict_classes(): a folder gives one row per file, with its path, sorted", {
  skip_if_no_python()
  s <- small_photos()
  p <- predict_classes(s$model, s$root, batch_size = 4)
  expect_named(p, c("file", "class_id", "label", "probability"))
  expect_identical(p$file, s$files)
  expect_identical(attr(p, "skipped"), character(0))
  expect_equal(dim(attr(p, "probabilities")), c(9, 3))
  arrays <- predict_classes(s$model, load_images(s$files, 28, "grayscale"))
  expect_false("file" %in% names(arrays))
  expect_equal(attr(p, "probabilities"), attr(arrays, "probabilities"), tolerance = 1e-5)
  given <- rev(s$files[1:3])
  expect_identical(predict_classes(s$model, given)$file, given)   # a vector of paths keeps its order
})

test_that("predict_classes(): bad files are an error naming them, or skipped with skip_unreadable = TRUE", {
  skip_if_no_python()
  s <- small_photos()
  writeLines("not an image", file.path(s$root, "bag", "notes.txt"))
  expect_error(predict_classes(s$model, s$root), "notes.txt.*skip_unreadable = TRUE")
  expect_warning(p <- predict_classes(s$model, s$root, skip_unreadable = TRUE), "skipped 1 of 10")
  expect_identical(p$file, s$files)
  expect_identical(basename(attr(p, "skipped")), "notes.txt")
  expect_error(predict_classes(s$model, s$root, skip_unreadable = NA), "skip_unreadable")
})

test_that("top_losses() on an image_folder() dataset names its files, the same rows each call", {
  skip_if_no_python()
  s <- small_photos()
  d <- image_folder(s$root, image_size = 28, color_mode = "grayscale", batch_size = 4)
  tl <- top_losses(s$model, d$train, k = 4)
  expect_named(tl, c("index", "true_id", "true", "predicted_id", "predicted", "probability", "loss", "file"))
  expect_identical(top_losses(s$model, d$train, k = 4), tl)
  expect_true(all(tl$file %in% s$files))
  expect_identical(tl$index, match(tl$file, s$files))   # 1-based positions in the sorted files
  expect_identical(tl$true, basename(dirname(tl$file)))
})
