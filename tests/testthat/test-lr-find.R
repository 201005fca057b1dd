# lr_find() from R: factor labels, the model comes back with its weights and its (un)compiled state;
# the print and plot methods. (The suggestion's quality: tests/python/test_lr_find.py.)

spec <- read_spec("what_the_model_sees")
lr <- spec$lr_find
lenet_spec <- spec$lenet

fresh <- function() {
  keras$utils$set_random_seed(as.integer(lenet_spec$seed))
  lenet5()
}

test_that("lr_find(): factor labels, the result as a data frame, the model back uncompiled, print and plot", {
  skip_if_no_python()
  # Whether the suggestion trains better than 100x above and below it is tested once, in
  # tests/python/test_lr_find.py (the same function underneath); here: what the R wrapper adds.
  fm <- load_fashion_mnist(pad = TRUE, n = 256, n_test = 10, seed = lenet_spec$seed)
  data <- list(fm$x_train, fm$y_train)                         # labels: an R factor
  model <- fresh()
  start <- model$get_weights()
  result <- lr_find(model, data, steps = 40, batch_size = lr$batch_size)
  expect_s3_class(result, "cnnkit_lr_find")
  expect_named(result$history, c("step", "learning_rate", "loss", "smoothed_loss"))
  expect_lte(nrow(result$history), 40)
  expect_true(all(diff(log(result$history$learning_rate)) > 0))
  expect_equal(result$minimum, 10 * result$suggestion)
  expect_output(print(result), "suggested learning rate")
  expect_false(model$compiled)                                 # came back uncompiled ...
  expect_equal(model$get_weights(), start)                     # ... with its weights
  h <- fit_classifier(model, data, epochs = 1, batch_size = lr$batch_size, learning_rate = result$suggestion,
                      verbose = 0)
  expect_true(is.finite(h$loss[1]))
  file <- tempfile(fileext = ".png")
  expect_identical(plot_lr_find(result, file = file), file)
  expect_gt(file.size(file), 1000)
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_null(plot(result))
})

test_that("lr_find(): a compiled model keeps its optimizer and its state; errors name the argument", {
  skip_if_no_python()
  fm <- load_fashion_mnist(pad = TRUE, n = 256, n_test = 10, seed = lenet_spec$seed)
  data <- list(fm$x_train, fm$y_train)
  model <- fresh()
  fit_classifier(model, data, epochs = 1, learning_rate = 2e-3, verbose = 0)
  opt <- model$optimizer
  state <- lapply(opt$variables, function(v) v$numpy())
  weights <- model$get_weights()
  lr_find(model, data, steps = 20, batch_size = 32)
  expect_true(reticulate::py_id(model$optimizer) == reticulate::py_id(opt))
  expect_equal(lapply(opt$variables, function(v) v$numpy()), state)
  expect_equal(model$get_weights(), weights)
  expect_error(lr_find(model, data, end_learning_rate = 1e-8), "lr_find\\(\\): `end_learning_rate`")
  expect_error(lr_find(model, data, steps = 2), "lr_find\\(\\): `steps`")
  expect_error(lr_find(model, data, optimizer = "adamm"), "lr_find\\(\\): `optimizer`")
  expect_error(plot_lr_find(list(loss = 1)), "plot_lr_find\\(\\): `result`")
})
