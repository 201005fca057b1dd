# Runs from R (issue 28 items 2-3): seed = (a double, as R users type it) repeats a run bit for bit; the
# run card, compare_runs() (a data frame) and plot_runs() work on run directories written from R.

small <- function() simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)

test_that("seed = 3 (a double) gives the same weights twice; another seed other weights", {
  skip_if_no_python()
  x <- array(runif(32 * 28 * 28), c(32, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 16))
  weights <- function(seed) {
    keras$utils$set_random_seed(0L)
    m <- small()
    fit_classifier(m, list(x, y), epochs = 2, batch_size = 8, verbose = 0, seed = seed, precision = "float32")
    unlist(lapply(m$get_weights(), as.numeric))
  }
  a <- weights(3)
  expect_identical(weights(3), a)
  expect_false(identical(weights(4), a))
  expect_error(fit_classifier(small(), list(x, y), epochs = 1, verbose = 0, seed = 1.5), "`seed`")
  expect_error(fit_classifier(small(), list(x, y), epochs = 1, verbose = 0, seed = NA), "`seed`")
})

test_that("run_card(), compare_runs() and plot_runs() on runs trained from R", {
  skip_if_no_python()
  x <- array(runif(32 * 28 * 28), c(32, 28, 28, 1))
  y <- factor(rep(c("bag", "shoe"), 16))
  root <- tempfile("runs")
  for (lr in c(1e-3, 3e-3)) {
    fit_classifier(small(), list(x, y), epochs = 2, batch_size = 8, verbose = 0, learning_rate = lr,
                   run_dir = file.path(root, paste0("lr", lr)), validation_split = 0.25, seed = 1,
                   tensorboard = TRUE)
  }
  card <- run_card(file.path(root, "lr0.001"))
  expect_s3_class(card, "cnnkit_run_card")
  expect_equal(card$status, "finished")
  expect_equal(card$seed, 1)
  expect_equal(card$epochs, 2)
  expect_true(card$seconds > 0)
  expect_true(dir.exists(file.path(root, "lr0.001", "tensorboard", "train")))
  out <- capture.output(print(card))
  expect_match(out[1], "\\(fit, finished\\)")
  expect_true(any(grepl("seed      1", out)))
  expect_identical(paste(out, collapse = "\n"),
                   paste0(py_cnnkit()$runs$format_run_card(py_cnnkit()$run_card(file.path(root, "lr0.001"))), ""))
  table <- compare_runs(root)
  expect_s3_class(table, "data.frame")
  expect_equal(table$run, c("lr0.001", "lr0.003"))
  expect_equal(table$learning_rate, c(1e-3, 3e-3))
  expect_equal(nrow(compare_runs(file.path(root, c("lr0.001", "lr0.003")))), 2)
  png <- tempfile(fileext = ".png")
  expect_equal(plot_runs(root, file = png), png)
  expect_true(file.size(png) > 1000)
  expect_error(run_card(tempfile()), "run_card\\(\\): `run_dir` .* does not exist")
  expect_error(compare_runs(42), "compare_runs\\(\\): `runs`")
  expect_error(plot_runs(root, metric = "val_loss"), "without .val_.")
  expect_error(fit_classifier(small(), list(x, y), epochs = 1, verbose = 0, tensorboard = TRUE),
               "`tensorboard`=TRUE writes TensorBoard logs into the run directory")
})
