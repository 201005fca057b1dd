# The input contract travels with the model (python/cnnkit/contract.py): the value range a model was
# trained on is recorded, saved with it and checked, so 0-255 images given to a [0, 1] model (and the
# reverse) are said, not silently scored as something else.

tiny_rgb <- function() simple_cnn(c(16, 16, 3), blocks = 1, filters = 4, units = 8, num_classes = 2)

test_that("a model trained on 0-255 arrays warns about [0, 1] arrays, in R words, after save and load", {
  skip_if_no_python()
  set.seed(1)
  x <- array(runif(16 * 16 * 16 * 3, 0, 255), c(16, 16, 16, 3))
  y <- factor(rep(c("a", "b"), 8))
  model <- tiny_rgb()
  fit_classifier(model, list(x, y), epochs = 1, verbose = 0)
  file <- tempfile(fileext = ".keras")
  save_model(model, file)
  loaded <- load_model(file)
  expect_warning(evaluate_classifier(loaded, list(x / 255, y)), "multiply them by 255")
  expect_warning(evaluate_classifier(loaded, list(x, y)), NA)   # the range it was trained on: silent
})

test_that("a transfer model refuses 0-255 training data and names value_range = c(0, 255)", {
  skip_if_no_python()
  model <- transfer_model("efficientnet_lite0", c(32, 32, 3), num_classes = 2)
  x <- array(runif(8 * 32 * 32 * 3, 0, 255), c(8, 32, 32, 3))
  y <- factor(rep(c("a", "b"), 4))
  expect_error(fit_classifier(model, list(x, y), epochs = 1, verbose = 0),
               "divide them by 255.*value_range = c\\(0, 255\\)")
})
