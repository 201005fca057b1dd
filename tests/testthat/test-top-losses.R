# top_losses(), plot_top_losses() and most_confused() from R: 1-based indices, factor labels' names,
# the losses as cross-entropy computes them, the confused pairs of an evaluation.

spec <- read_spec("what_the_model_sees")$lenet

test_that("top_losses(): the highest losses, 1-based indices, the data's class names", {
  skip_if_no_python()
  fm <- load_fashion_mnist(pad = TRUE, n = 500, n_test = spec$n_test, seed = spec$seed)
  keras$utils$set_random_seed(as.integer(spec$seed))
  model <- lenet5()
  fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, batch_size = spec$batch_size, verbose = 0)
  test <- list(fm$x_test, fm$y_test)
  tl <- top_losses(model, test, k = 5)
  expect_named(tl, c("index", "true_id", "true", "predicted_id", "predicted", "probability", "loss"))
  p <- attr(predict_classes(model, fm$x_test, precision = "float32"), "probabilities")
  truth <- as.integer(fm$y_test)
  loss <- -log(pmax(p[cbind(seq_along(truth), truth)], 1e-7))
  expect_equal(tl$index, order(-loss)[1:5])
  expect_equal(tl$loss, loss[tl$index], tolerance = 1e-4)
  expect_equal(tl$true, as.character(fm$y_test[tl$index]))
  expect_equal(tl$true_id, truth[tl$index] - 1L)
  expect_equal(tl$predicted, fm$class_names[tl$predicted_id + 1])
  file <- tempfile(fileext = ".png")
  expect_identical(plot_top_losses(model, test, k = 4, file = file), file)
  expect_gt(file.size(file), 1000)
  ev <- evaluate_classifier(model, test)
  mc <- most_confused(ev)
  off <- unclass(ev$confusion_matrix); diag(off) <- 0
  expect_equal(mc$count[1], max(off))
  expect_equal(sum(mc$count), sum(off))
  expect_true(all(mc$true != mc$predicted))
  expect_error(top_losses(model, test, k = 0), "top_losses\\(\\): `k`")
})

test_that("most_confused(): pairs from a count matrix, min_count, names", {
  skip_if_no_python()
  cm <- matrix(c(5, 7, 0, 3, 2, 3, 0, 1, 9), 3, 3)   # rows true, columns predicted
  mc <- most_confused(cm, class_names = c("a", "b", "c"))
  expect_equal(mc$true, c("b", "a", "c", "b"))
  expect_equal(mc$predicted, c("a", "b", "b", "c"))
  expect_identical(mc$count, c(7L, 3L, 3L, 1L))
  expect_equal(mc$share[1], 0.7)
  expect_equal(nrow(most_confused(cm, min_count = 3)), 3)
  expect_equal(nrow(most_confused(diag(c(4, 4)))), 0)
  expect_error(most_confused(cm, min_count = 0), "most_confused\\(\\): `min_count`")
  expect_error(most_confused(matrix(1, 2, 3)), "most_confused\\(\\): `evaluation`")
})
