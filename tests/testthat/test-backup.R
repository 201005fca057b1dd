# A run killed while writing its first backup (issue 25, item 7): the incomplete backup is removed
# and training starts again from epoch 1, with a warning that says so and how to start afresh in R's
# terms. (Python: tests/python/test_run_dir.py, where each way a kill can leave the files is tried.)

test_that("a run stopped during its first backup resumes from epoch 1, saying how to start afresh", {
  skip_if_no_python()
  x <- array(runif(40 * 8 * 8), c(40, 8, 8, 1))
  y <- rep(0:3, 10)
  run_dir <- tempfile("run")
  model <- function() { keras$utils$set_random_seed(0L); mlp_classifier(c(8, 8, 1), units = 4, num_classes = 4) }
  stop_after_1 <- keras$callbacks$LambdaCallback(on_epoch_end = function(epoch, logs) stop("killed"))
  expect_error(fit_classifier(model(), list(x, y), epochs = 2, batch_size = 20, run_dir = run_dir, verbose = 0,
                              callbacks = list(stop_after_1)))
  weights <- file.path(run_dir, "backup", "latest.weights.h5")
  expect_true(file.exists(weights))
  writeBin(readBin(weights, "raw", 1000), weights)   # what a kill in the middle of writing it leaves
  expect_warning(h <- fit_classifier(model(), list(x, y), epochs = 2, batch_size = 20, run_dir = run_dir, verbose = 0),
                 "no complete backup.*starts again from epoch 1.*overwrite = TRUE")
  expect_equal(h$epoch, c(1, 2))
})
