# The main job from R: train_classifier() (the same as `cnnkit train`), CI-sized.

job <- read_spec("training")$main_job

test_that("train_classifier() trains, evaluates and saves a run directory", {
  skip_if_no_python()
  run_dir <- tempfile("run")
  out <- strsplit(reticulate::py_capture_output(
    r <- train_classifier(epochs = job$ci_epochs, subset = job$ci_subset, run_dir = run_dir)
  ), "\n")[[1]]
  expect_true(r$accuracy > job$ci_min_accuracy && r$accuracy <= 1)
  expect_equal(r$run_dir, run_dir)
  expect_setequal(list.files(run_dir), c("confusion_matrix.png", "history.csv", "history.png", "metrics.json",
                                         "model.keras", "model.weights.h5", "run.json"))
  expect_s3_class(r$history, "data.frame")
  expect_equal(r$history$epoch, 1)
  expect_s3_class(r$evaluation, "cnnkit_evaluation")
  expect_equal(sum(r$evaluation$confusion_matrix), job$ci_subset)
  expect_true(any(grepl("^16/16 - .*loss: ", out)))   # one line per epoch (2000 images, batches of 128)
  metrics <- jsonlite::read_json(file.path(run_dir, "metrics.json"))
  expect_equal(metrics$accuracy, r$accuracy)
  model <- load_model(file.path(run_dir, "model.keras"))
  expect_equal(model$name, "fashion_cnn")
  expect_false(r$finished_earlier)
  # the same call again: the finished run is returned, not retrained or overwritten
  stamp <- file.mtime(file.path(run_dir, "model.keras"))
  expect_warning(again <- train_classifier(epochs = job$ci_epochs, subset = job$ci_subset, run_dir = run_dir,
                                           verbose = 0), "holds a finished run")
  expect_true(again$finished_earlier)
  expect_equal(again$accuracy, r$accuracy)
  expect_s3_class(again$evaluation, "cnnkit_evaluation")
  expect_equal(again$evaluation$confusion_matrix, r$evaluation$confusion_matrix)
  expect_equal(file.mtime(file.path(run_dir, "model.keras")), stamp)
  expect_error(train_classifier(epochs = 2, subset = job$ci_subset, run_dir = run_dir), "epochs 1 \\(now 2\\)")
})

test_that("the R defaults are the main job's defaults, and fashion_cnn() matches the spec", {
  skip_if_no_python()
  defaults <- py_cnnkit()$job$DEFAULTS
  f <- formals(train_classifier)
  # Python's signature says None where the default depends on the model (head_epochs: 3 for transfer
  # learning only); R says NULL there, and the job's default elsewhere
  params <- reticulate::import("inspect", convert = FALSE)$signature(py_cnnkit()$train_classifier)$parameters
  for (name in names(defaults)) {
    py_default <- reticulate::py_to_r(reticulate::py_get_item(params, name)$default)
    expect_equal(eval(f[[name]]), if (is.null(py_default)) NULL else defaults[[name]], label = name)
  }
  m <- fashion_cnn()
  expect_equal(m$count_params(), read_spec("training")$fashion_cnn$total_params)
})

test_that("train_classifier() bad input: clear errors, no run directory left, session alive", {
  skip_if_no_python()
  run_dir <- tempfile("run")
  expect_error(train_classifier(epochs = 0, run_dir = run_dir), "`epochs`")
  expect_error(train_classifier(model = "resnet", run_dir = run_dir), "`model`")
  expect_error(train_classifier(data = file.path(tempdir(), "nothing-here"), run_dir = run_dir), "does not exist")
  expect_false(dir.exists(run_dir))
  expect_error(train_classifier(subset = 100, run_dir = "/proc/version/run"), "`run_dir`")
  expect_equal(simple_cnn()$count_params(), 28097)
})

test_that("train_classifier() checks a user's model against the data before any training (issue 25)", {
  skip_if_no_python()
  run_dir <- tempfile("run")
  m <- mlp_classifier(c(28, 28, 1), units = 4, num_classes = 1)   # 1 unit: 2 classes, not Fashion-MNIST's 10
  expect_error(train_classifier(model = m, epochs = 1, subset = 100, run_dir = run_dir, verbose = 0),
               "train_classifier\\(\\): `data` has 10 classes.*num_classes = 10")
  expect_false(dir.exists(run_dir))   # nothing trained, the folder made for the run removed again
})
