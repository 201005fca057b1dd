# Weight averaging from R (issue 31, cnnkit.ema): ema = 0.99, TRUE, 0 and an integer reach Python as the
# momentum cnnkit takes; the model ends with the average; a bad value or a clash is an error naming `ema`.

test_that("ema = 0.9 on factor labels: the model ends with its optimizer's averages", {
  skip_if_no_python()
  x <- array(runif(32 * 28 * 28), c(32, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 16))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  expect_warning(  # 4 steps at 0.9: the average keeps 66 % of the start, and says so
    h <- fit_classifier(model, list(x, y), epochs = 1, batch_size = 8, verbose = 0, ema = 0.9, recalibrate_bn = FALSE),
    "`ema`=0.9 over 4 training steps: the weight average still keeps 66 %")
  expect_equal(nrow(h), 1)
  opt <- model$optimizer
  expect_true(opt$use_ema)
  expect_equal(opt$ema_momentum, 0.9)
  # Compared in Python: the optimizer's list of averages is a Python list (0-based, not an R list)
  same <- reticulate::py_eval(paste(
    "lambda m: [bool(__import__('numpy').array_equal(__import__('numpy').asarray(v), __import__('numpy').asarray(a)))",
    "for v, a in zip(m.trainable_variables, m.optimizer._model_variables_moving_average)]"))
  agree <- unlist(same(model))
  expect_length(agree, length(model$trainable_variables))
  expect_true(all(agree))
})

test_that("ema = TRUE is 0.99 and 0 is off; compile_classifier(ema =) sets the optimizer up", {
  skip_if_no_python()
  m <- compile_classifier(simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2), ema = TRUE)
  expect_equal(m$optimizer$ema_momentum, 0.99)
  m0 <- compile_classifier(simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2), ema = 0)
  expect_false(m0$optimizer$use_ema)
  expect_error(compile_classifier(simple_cnn(c(28, 28, 1), num_classes = 2), ema = "auto"), "`ema`=.auto. picks")
})

test_that("ema = 'auto': no average for a short run, 1 - 10 / steps for a longer one", {
  skip_if_no_python()
  x <- array(runif(40 * 28 * 28), c(40, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 20))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  fit_classifier(model, list(x, y), epochs = 1, batch_size = 8, verbose = 0, ema = "auto")  # 5 steps
  expect_false(model$optimizer$use_ema)
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  fit_classifier(model, list(x, y), epochs = 10, batch_size = 8, verbose = 0, ema = "auto")  # 50 steps
  expect_equal(model$optimizer$ema_momentum, 0.8)
})

test_that("a bad ema, or ema with early_stopping or a compiled model, is an error that says what to do", {
  skip_if_no_python()
  x <- array(runif(8 * 28 * 28), c(8, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 4))
  model <- function() simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, ema = 0.1),
               "`ema` must be a momentum in \\[0.5, 1\\)")
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, ema = 1L),
               "`ema` must be a momentum in \\[0.5, 1\\)")
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, ema = "yes"), "TRUE for 0.99")
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, ema = NA), "`ema`")
  expect_error(fit_classifier(model(), list(x, y), epochs = 1, verbose = 0, ema = 0.99, early_stopping = 2),
               "`ema`=0.99 and `early_stopping`=2 cannot be used together")
  expect_error(fit_classifier(compile_classifier(model()), list(x, y), epochs = 1, verbose = 0, ema = 0.99),
               "compile_classifier\\(model, ema = 0.99\\)")
})

test_that("train_classifier(ema =) records it in the run directory; its default is 'auto'", {
  skip_if_no_python()
  dir <- file.path(tempfile(), "job")
  expect_warning(r <- train_classifier(epochs = 1, subset = 200, run_dir = dir, verbose = 0, ema = 0.9),
                 "the weight average still keeps")
  settings <- jsonlite::read_json(file.path(dir, "run.json"))$job$settings
  expect_equal(settings$ema, 0.9)
  expect_true(r$accuracy >= 0 && r$accuracy <= 1)
  expect_identical(formals(train_classifier)$ema, "auto")
})
