# Numeric and logical labels at the R seam (issue 25, item 1). Plain numbers must be 0-based ids:
# 1-based ids are an error when the top class is present (it is out of range) and a warning when it is
# not (no 0 among at least 5 labels per class); logical labels are for 2-class models only;
# top_losses() checks labels as evaluate_classifier() does. Tiny MLPs on zeros: no training.

test_that("1-based numbers without the top class are warned about, with the fix in R's terms", {
  skip_if_no_python()
  m <- mlp_classifier(c(8, 8, 1), units = 4, num_classes = 10)
  x <- array(0, c(60, 8, 8, 1))
  y <- rep(1:9, length.out = 60)            # a 1-based sample without class 10
  expect_warning(evaluate_classifier(m, list(x, y)),
                 "evaluate_classifier\\(\\): `y` has no class 0 among its 60 labels.*1-based.*y - 1, or a factor")
  expect_warning(top_losses(m, list(x, y), k = 2), "top_losses\\(\\): `y` has no class 0.*factor\\(y, levels = 0:9\\)")
  expect_warning(fit_classifier(m, list(x, y), epochs = 1, verbose = 0), "fit_classifier\\(\\): `y` has no class 0")
  expect_error(evaluate_classifier(m, list(x, y + 1)), "from 2 to 10.*look 1-based.*y - 1")  # top class present
  # no warning: a factor (the ids' meaning stated), 0-based ids with class 0, or too few labels to tell
  expect_no_warning(evaluate_classifier(m, list(x, factor(y, levels = 0:9))))
  expect_no_warning(evaluate_classifier(m, list(x, y - 1)))
  expect_no_warning(evaluate_classifier(m, list(x[1:40, , , , drop = FALSE], y[1:40])))
})

test_that("logical labels only for a 1-unit sigmoid or 2-class model", {
  skip_if_no_python()
  x <- array(0, c(6, 8, 8, 1))
  y <- c(TRUE, FALSE, TRUE, FALSE, TRUE, TRUE)
  expect_error(evaluate_classifier(mlp_classifier(c(8, 8, 1), units = 4, num_classes = 10), list(x, y)),
               "`y` holds TRUE/FALSE \\(logical\\) labels.*10 classes.*a factor")
  ev <- evaluate_classifier(mlp_classifier(c(8, 8, 1), units = 4, num_classes = 1), list(x, y))
  expect_equal(sum(ev$confusion_matrix), 6)
  expect_equal(as.vector(rowSums(ev$confusion_matrix)), c(2, 4))    # FALSE = class 0, TRUE = class 1
  ev2 <- evaluate_classifier(mlp_classifier(c(8, 8, 1), units = 4, num_classes = 2), list(x, y))
  expect_equal(as.vector(rowSums(ev2$confusion_matrix)), c(2, 4))
})
