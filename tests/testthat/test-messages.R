# Off the path, round 3 (issue 25), from R: semantic traps at the seam get the R fix, not NumPy's text.

ten <- function() simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 10)
x28 <- function(n = 6) array(runif(n * 28 * 28), c(n, 28, 28, 1))

test_that("R's dropped dimensions and channels-first arrays get the R fix", {
  skip_if_no_python()
  x <- x28()
  expect_error(predict_classes(ten(), x[1, , , ]), "drop = FALSE")                 # (28, 28): one image, no channel
  expect_error(predict_classes(ten(), x[1:3, , , ]), "dim\\(x\\) <- c\\(dim\\(x\\), 1\\).*drop = FALSE")
  expect_error(predict_classes(ten(), aperm(x, c(1, 4, 2, 3))), "channels first.*aperm\\(x, c\\(1, 3, 4, 2\\)\\)")
  expect_error(predict_classes(ten(), matrix(runif(6 * 784), 6)), "flattened.*array_reshape")
})

test_that("a factor with unused levels is told droplevels(), evaluation on some classes the model's levels", {
  skip_if_no_python()
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 3)
  y <- factor(rep(c("a", "b", "c"), 2), levels = letters[1:10])
  expect_error(fit_classifier(model, list(x28(), y), epochs = 1, verbose = 0), "droplevels\\(y\\)")
  expect_error(evaluate_classifier(ten(), list(x28(), factor(rep(c("a", "b", "c"), 2)))),
               "factor\\(y, levels = <the model's classes>\\)")
})
