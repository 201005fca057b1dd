# Test-time augmentation and label smoothing from R (issues 28, 31): R's doubles, logicals and factor
# labels reach Python as cnnkit takes them, and a bad value is an error that names the argument.

test_that("label_smoothing trains a model on factor labels; the smoothed loss is on the model", {
  skip_if_no_python()
  x <- array(runif(8 * 28 * 28), c(8, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 4))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  h <- fit_classifier(model, list(x, y), epochs = 1, verbose = 0, label_smoothing = 0.1)
  expect_equal(nrow(h), 1)
  expect_equal(model$loss$label_smoothing, 0.1)
  expect_error(fit_classifier(model, list(x, y), epochs = 1, verbose = 0, label_smoothing = 0.3),
               "compile_classifier\\(model, label_smoothing = 0.3\\)")
  expect_error(fit_classifier(simple_cnn(c(28, 28, 1), num_classes = 2), list(x, y), epochs = 1, verbose = 0,
                              label_smoothing = 1), "`label_smoothing` must be a number in \\[0, 1\\)")
})

test_that("tta = TRUE, a double 2 and 2L give the same averaged probabilities; FALSE the plain ones", {
  skip_if_no_python()
  x <- array(runif(6 * 28 * 28), c(6, 28, 28, 1))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 3)
  plain <- attr(predict_classes(model, x), "probabilities")
  mirrored <- attr(predict_classes(model, x[, , 28:1, , drop = FALSE]), "probabilities")
  both <- attr(predict_classes(model, x, tta = TRUE), "probabilities")
  expect_equal(both, (plain + mirrored) / 2, tolerance = 1e-5)
  expect_equal(attr(predict_classes(model, x, tta = 2), "probabilities"), both)
  expect_equal(attr(predict_classes(model, x, tta = 2L), "probabilities"), both)
  expect_equal(attr(predict_classes(model, x, tta = FALSE), "probabilities"), plain)
  ev <- evaluate_classifier(model, list(x, factor(c("a", "b", "c", "a", "b", "c"))), tta = 3)
  expect_equal(ev$n, 6)
  expect_error(predict_classes(model, x, tta = 2.5), "`tta` must be TRUE \\(the image")
  expect_error(predict_classes(model, x, tta = NA), "`tta`")
})
