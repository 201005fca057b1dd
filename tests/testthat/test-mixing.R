# MixUp and CutMix from R (issue 28 item 5): R's doubles and TRUE reach Python as cnnkit takes them, factor
# labels become one-hot rows, and a bad value is an error naming the argument.

test_that("mixup = 0.2 and cutmix = TRUE train on factor labels with a categorical loss", {
  skip_if_no_python()
  x <- array(runif(16 * 28 * 28), c(16, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe", "shirt", "coat"), 4))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 4)
  h <- fit_classifier(model, list(x, y), epochs = 2, batch_size = 8, verbose = 0, mixup = 0.2, cutmix = TRUE,
                      validation_split = 0.25)
  expect_equal(nrow(h), 2)
  expect_true(all(is.finite(h$val_loss)))
  expect_equal(class(model$loss)[1], "keras.src.losses.losses.CategoricalCrossentropy")
  p <- predict_classes(model, x)
  expect_true(all(levels(p$label) %in% levels(y)))
  h2 <- fit_classifier(model, list(x, y), epochs = 1, verbose = 0)  # again, without mixing
  expect_true(is.finite(h2$loss))
})

test_that("bad mixup/cutmix values name the argument", {
  skip_if_no_python()
  x <- array(runif(8 * 28 * 28), c(8, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 4))
  model <- function() simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, mixup = 2),
               "`mixup` must be a number in \\(0, 1\\]")
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, cutmix = "a"),
               "`cutmix` must be a number in \\(0, 1\\]")
  expect_error(fit_classifier(compile_classifier(model()), list(x, y), epochs = 1, verbose = 0, mixup = 0.2),
               "train on blended labels")
})
