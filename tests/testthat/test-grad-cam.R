# grad_cam() and plot_grad_cam() from R (tests/spec/what_the_model_sees.json): the sanity check with
# re-randomised weights, known evidence on the garment, R's class ids (factor values, names), errors.

spec <- read_spec("what_the_model_sees")
lenet_spec <- spec$lenet
gc <- spec$grad_cam

trained_lenet <- function() {
  fm <- load_fashion_mnist(pad = TRUE, n = lenet_spec$n, n_test = lenet_spec$n_test, seed = lenet_spec$seed)
  keras$utils$set_random_seed(as.integer(lenet_spec$seed))
  model <- lenet5()
  fit_classifier(model, list(fm$x_train, fm$y_train), epochs = lenet_spec$epochs,
                 batch_size = lenet_spec$batch_size, verbose = 0)
  list(model = model, fm = fm)
}

test_that("grad_cam(): maps in [0, 1] that change when the weights are re-randomised (Adebayo et al.)", {
  skip_if_no_python()
  t <- trained_lenet()
  x <- t$fm$x_test
  maps <- grad_cam(t$model, x)
  expect_equal(dim(maps), c(dim(x)[1], 32L, 32L))
  expect_true(min(maps) >= 0 && max(maps) <= 1)
  expect_equal(apply(maps, 1, max), rep(1, dim(x)[1]), tolerance = 1e-6)
  ids <- predict_classes(t$model, x)$class_id
  keras$utils$set_random_seed(as.integer(lenet_spec$seed + 1))
  randomised <- keras$models$clone_model(t$model)
  other <- grad_cam(randomised, x, class_id = ids)
  rho <- vapply(seq_len(dim(x)[1]), function(i) {
    a <- as.vector(maps[i, , ]); b <- as.vector(other[i, , ])
    if (sd(a) == 0 || sd(b) == 0) NA_real_ else cor(a, b, method = "spearman")
  }, numeric(1))
  expect_lt(mean(rho, na.rm = TRUE), gc$max_rank_correlation)
  # class ids as R gives them: a factor value is its 0-based class, names work, one per image too
  x3 <- x[1:3, , , , drop = FALSE]
  by_factor <- grad_cam(t$model, x3, class_id = t$fm$y_test[1:3])
  expect_equal(by_factor, grad_cam(t$model, x3, class_id = as.integer(t$fm$y_test[1:3]) - 1))
  expect_equal(grad_cam(t$model, x3, class_id = factor("Bag", levels = t$fm$class_names)),
               grad_cam(t$model, x3, class_id = 8))
  one <- grad_cam(t$model, array(x[1, , , ], c(32, 32, 1)))   # one image, no batch axis
  expect_equal(one[1, , ], maps[1, , ], tolerance = 1e-6)
  file <- tempfile(fileext = ".png")
  expect_identical(plot_grad_cam(t$model, x[1:4, , , , drop = FALSE], file = file), file)
  expect_gt(file.size(file), 1000)
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_null(plot_grad_cam(t$model, x[1:2, , , , drop = FALSE], class_names = t$fm$class_names))
})

test_that("grad_cam(): a model's known evidence lies on the garment; nothing speaks for the other class", {
  skip_if_no_python()
  input <- keras$Input(tuple(32L, 32L, 1L))
  conv <- keras$layers$Conv2D(1L, 3L, padding = "same", activation = "relu")
  dense <- keras$layers$Dense(2L, activation = "softmax")
  model <- keras$Model(input, dense(keras$layers$GlobalAveragePooling2D()(conv(input))))
  conv$set_weights(list(array(1 / 9, c(3, 3, 1, 1)), array(0, 1)))
  dense$set_weights(list(matrix(c(1, -1), 1, 2), array(0, 2)))
  fm <- load_fashion_mnist(pad = TRUE, n = 10, n_test = 8, seed = 0)
  x <- fm$x_test
  maps <- grad_cam(model, x, class_id = 0)
  garment <- x[, , , 1] > gc$garment_threshold
  grown <- garment   # grown by one pixel (the 3x3 blur)
  for (dr in -1:1) for (dc in -1:1) {
    shifted <- array(FALSE, dim(garment))
    rows <- max(1, 1 + dr):min(32, 32 + dr); cols <- max(1, 1 + dc):min(32, 32 + dc)
    shifted[, rows - dr, cols - dc] <- garment[, rows, cols]
    grown <- grown | shifted
  }
  mass <- apply(maps * grown, 1, sum) / apply(maps, 1, sum)
  expect_gte(min(mass), gc$min_mass_on_garment)
  expect_true(all(grad_cam(model, x, class_id = 1) == 0))
})

test_that("grad_cam(): the last convolution inside a nested backbone; errors name the argument", {
  skip_if_no_python()
  nested <- gc$nested
  model <- transfer_model(nested$backbone, as_r_user(nested$input_shape), num_classes = 3, weights = NULL)
  x <- array(runif(2 * 64 * 64 * 3), c(2, 64, 64, 3))
  expect_equal(dim(grad_cam(model, x)), c(2L, 64L, 64L))
  expect_equal(grad_cam(model, x), grad_cam(model, x, layer = nested$default_layer))
  lenet <- lenet5()
  img <- array(runif(2 * 32 * 32), c(2, 32, 32, 1))
  expect_error(grad_cam(mlp_classifier(c(32, 32, 1), units = 4, num_classes = 10), img),
               "grad_cam\\(\\): `model` has no convolutional layer")
  expect_error(grad_cam(lenet, img, layer = "f6"), "grad_cam\\(\\): `layer` \"f6\".*4-D")
  expect_error(grad_cam(lenet, img, class_id = 10), "grad_cam\\(\\): `class_id`.*0 to 9")
  expect_error(grad_cam(lenet, img, class_id = NA), "grad_cam\\(\\): `class_id` is NA")
  expect_error(plot_grad_cam(lenet, img, alpha = 2), "plot_grad_cam\\(\\): `alpha`")
})
