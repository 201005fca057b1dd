test_that("feature maps from R: 1-based layer indices, grayscale matrices, a PNG file", {
  skip_if_no_python()
  model <- lenet5()
  img <- matrix(runif(32 * 32), 32, 32)
  maps <- feature_maps(model, img, "c1")
  expect_equal(dim(maps), c(28L, 28L, 6L))
  expect_equal(feature_maps(model, img, 2), maps)  # R: layer 1 is the input layer, 2 is c1
  file <- tempfile(fileext = ".png")
  expect_identical(plot_feature_maps(model, array(img, c(32, 32, 1)), "c3", file = file), file)
  expect_true(file.size(file) > 1000)
})

test_that("feature maps from R: bad layer indices and files fail clearly", {
  skip_if_no_python()
  model <- lenet5()
  img <- matrix(runif(32 * 32), 32, 32)
  expect_error(feature_maps(model, img, 0), "0 is not an index in R")
  expect_error(feature_maps(model, img, 2.5), "`layer`")
  expect_error(feature_maps(model, img, -1), "4-D output")   # -1 is the last layer: the Dense output
  expect_error(plot_feature_maps(model, img, "c1", file = tempfile(fileext = ".txt")), "`file`")
})
