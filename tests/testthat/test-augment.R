# Augmentation from R: R numbers for the factors, R arrays in, the three ways, the plot.

aug_spec <- read_spec("training")$augmentation_layers

test_that("augmentation() composes the slides' layers from R arguments", {
  skip_if_no_python()
  aug <- call_with(augmentation, as_r_user(aug_spec$args))
  classes <- vapply(aug$layers, function(l) class(l)[1], character(1))
  expect_equal(sub(".*\\.", "", classes), unlist(aug_spec$layers))
  fm <- load_fashion_mnist(n = 8)
  out <- aug(fm$x_train, training = TRUE)
  expect_equal(dim(out$numpy()), c(8, 24, 24, 1))
  expect_error(augmentation(), "at least one")
  expect_error(augmentation(rotate = -1), "`rotate`")
  expect_error(augmentation(flip = "diagonal"), "`flip`")
  expect_equal(class(rand_augment("augmix"))[1], "keras.src.layers.preprocessing.image_preprocessing.aug_mix.AugMix")
})

test_that("the three ways to apply augmentation work from R", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 64)
  aug <- augmentation(translate = 0.1, rotate = 0.05, seed = 1)
  once <- augment_dataset(fm$x_train, fm$y_train, aug, copies = 2)
  expect_equal(dim(once$x), c(192, 28, 28, 1))
  expect_equal(once$y, factor(rep(as.character(fm$y_train), 3), levels = fm$class_names))
  expect_equal(once$x[1:64, , , , drop = FALSE], fm$x_train, tolerance = 1e-6)
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
  h <- fit_classifier(model, augmented_dataset(fm$x_train, fm$y_train, aug, batch_size = 16), epochs = 1, verbose = 0)
  expect_equal(nrow(h), 1)
  wrapped <- with_augmentation(model, aug)
  expect_equal(wrapped$count_params(), model$count_params())
  h <- fit_classifier(wrapped, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
  expect_true(is.finite(h$loss))
})

test_that("plot_augmentation() writes the before/after grid from an R array", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 3)
  file <- tempfile(fileext = ".png")
  out <- plot_augmentation(fm$x_train, augmentation(rotate = 0.1, erase = 0.5), n = 3, file = file,
                           titles = fm$y_train)
  expect_equal(out, file)
  expect_equal(readBin(file, "raw", 4)[2:4], charToRaw("PNG"))
  expect_error(plot_augmentation(fm$x_train, augmentation(rotate = 0.1), file = tempfile(fileext = ".txt")), "`file`")
})

test_that("plot_augmentation() with a named list draws one row per augmentation", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 3)
  file <- tempfile(fileext = ".png")
  augs <- list(RandomRotation = keras$layers$RandomRotation(0.1),
               RandomErasing = augmentation(erase = 1))
  expect_equal(plot_augmentation(fm$x_train, augs, n = 3, file = file), file)
  # 2 rows (one per augmentation, not per image) x 4 columns: 560 x 300 pixels (PNG header)
  size <- readBin(readBin(file, "raw", 24)[17:24], "integer", n = 2, size = 4, endian = "big")
  expect_equal(size, c(560L, 300L))
  expect_error(plot_augmentation(fm$x_train, list(rot = "rotate"), file = file), "`aug`\\[\"rot\"\\]")
  expect_error(plot_augmentation(fm$x_train, list(), file = file), "`aug`")
})
