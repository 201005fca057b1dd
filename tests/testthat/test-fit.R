# Training from R: factor labels, R arrays, a data.frame history, sensible progress output,
# evaluation tables, predictions, save/load, and the shared bad-input cases.

spec <- read_spec("training")

small_model <- function(num_classes = 10) {
  simple_cnn(c(28, 28, 1), blocks = 2, filters = 8, units = 16, num_classes = num_classes)
}

test_that("R arrays reach NumPy in the right orientation (no transposition)", {
  skip_if_no_python()
  x <- array(seq_len(2 * 4 * 3), c(2, 4, 3, 1))
  flat <- keras$Sequential(list(keras$Input(tuple(4L, 3L, 1L)), keras$layers$Flatten()))
  out <- flat$predict(x, verbose = 0L)
  expect_equal(out[1, ], as.vector(t(x[1, , , 1])))   # NumPy flattens row by row
  expect_equal(out[2, 5], x[2, 2, 2, 1])
})

test_that("fit_classifier() trains from R: factor labels, data.frame history, one line per epoch", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 400, n_test = 200)
  model <- small_model()
  out <- strsplit(reticulate::py_capture_output(
    h <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 2, validation_split = 0.2, batch_size = 50)
  ), "\n")[[1]]
  expect_s3_class(h, "data.frame")
  expect_equal(h$epoch, c(1, 2))
  expect_true(all(c("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate") %in% names(h)))
  expect_equal(model$loss, "sparse_categorical_crossentropy")
  # Rscript is not interactive: verbose = "auto" gives Keras' one line per epoch, no carriage returns
  expect_equal(sum(grepl("^Epoch [12]/2$", out)), 2)
  expect_equal(sum(grepl("^7/7 - .*loss: .*val_loss", out)), 2)
  expect_false(any(grepl("[\r\b]", out)))
  expect_equal(cnnkit:::as_py_verbose("auto"), 2L)
  # a named list and 0-based integer labels work too
  h2 <- fit_classifier(model, list(x = fm$x_train, y = as.integer(fm$y_train) - 1L), epochs = 1, verbose = 0)
  expect_equal(nrow(h2), 1)
  file <- tempfile(fileext = ".png")
  expect_equal(plot_history(h, file), file)
  expect_true(file.exists(file))
})

test_that("fit_classifier() from R: run directory, early stopping, mirrored strategy", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 300, n_test = 100)
  run_dir <- tempfile("run")
  h <- fit_classifier(small_model(), list(fm$x_train, fm$y_train), epochs = 2, batch_size = 100,
                      validation_data = list(fm$x_test, fm$y_test), early_stopping = 3, run_dir = run_dir,
                      verbose = 0)
  expect_equal(sort(list.files(run_dir)), c("best.keras", "history.csv", "model.weights.h5", "run.json"))
  expect_equal(utils::read.csv(file.path(run_dir, "history.csv"))$epoch, h$epoch)
  # the same call again: a finished run is loaded, not retrained; other settings are an error
  expect_warning(h2 <- fit_classifier(small_model(), list(fm$x_train, fm$y_train), epochs = 2, batch_size = 100,
                                      validation_data = list(fm$x_test, fm$y_test), early_stopping = 3,
                                      run_dir = run_dir, verbose = 0), "holds a finished run")
  expect_equal(h2$loss, h$loss)
  expect_error(fit_classifier(small_model(), list(fm$x_train, fm$y_train), epochs = 3, batch_size = 100,
                              validation_data = list(fm$x_test, fm$y_test), early_stopping = 3,
                              run_dir = run_dir, verbose = 0), "epochs 2 \\(now 3\\)")
  h3 <- fit_classifier(small_model(), list(fm$x_train, fm$y_train), epochs = 1, run_dir = run_dir,
                       overwrite = TRUE, verbose = 0)
  expect_equal(h3$epoch, 1)
  expect_error(fit_classifier(small_model(), list(fm$x_train, fm$y_train), overwrite = "yes"), "`overwrite`")
  m <- small_model()
  h <- fit_classifier(m, list(fm$x_train, fm$y_train), epochs = 1, strategy = "mirrored", verbose = 0)
  expect_true(is.finite(h$loss))
  expect_error(fit_classifier(m, list(fm$x_train, fm$y_train), strategy = "tpu"), "`strategy`")
})

test_that("labels: the factor rule and 1-based numbers", {
  skip_if_no_python()
  expect_identical(cnnkit:::as_py_labels(factor(c("b", "a", "b"), levels = c("b", "a"))), c(0L, 1L, 0L))
  expect_identical(cnnkit:::as_py_labels(c(TRUE, FALSE)), c(1L, 0L))
  expect_identical(cnnkit:::as_py_labels(c(0, 2)), c(0L, 2L))
  expect_identical(cnnkit:::as_py_labels(c(0.5, 2)), c(0.5, 2))
  x <- array(0.5, c(6, 16, 16, 1))
  m <- simple_cnn(c(16, 16, 1), blocks = 1, filters = 4, units = 8, num_classes = 3)
  expect_error(fit_classifier(m, list(x, c(1, 2, 3, 1, 2, 3)), epochs = 1), "1-based")
  expect_silent(fit_classifier(m, list(x, factor(c("a", "b", "c", "a", "b", "c"))), epochs = 1, verbose = 0))
})

test_that("evaluate_classifier() gives a table, a per-class data frame and a plot", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 400, n_test = 200)
  model <- small_model()
  fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
  file <- tempfile(fileext = ".png")
  ev <- evaluate_classifier(model, list(fm$x_test, fm$y_test), file = file)
  expect_s3_class(ev, "cnnkit_evaluation")
  expect_s3_class(ev$confusion_matrix, "table")
  expect_equal(dimnames(ev$confusion_matrix), list(true = fm$class_names, predicted = fm$class_names))
  expect_equal(sum(ev$confusion_matrix), 200)
  expect_equal(as.vector(rowSums(ev$confusion_matrix)), as.vector(table(fm$y_test)))
  expect_equal(ev$accuracy, sum(diag(ev$confusion_matrix)) / 200)
  expect_equal(names(ev$per_class), c("class", "precision", "recall", "f1", "roc_auc", "pr_auc", "support"))
  expect_equal(ev$file, file)
  printed <- capture.output(print(ev))
  expect_match(printed[1], "^accuracy: ")
  expect_true(any(grepl("Ankle boot", printed)))
  file2 <- tempfile(fileext = ".png")
  expect_equal(plot_confusion_matrix(ev, file = file2), file2)
})

test_that("predict_classes() on R arrays and image files; save/load round trip", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 400, n_test = 20)
  model <- small_model()
  fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
  p <- predict_classes(model, fm$x_test[1:3, , , , drop = FALSE], class_names = fm$class_names)
  expect_equal(names(p), c("class_id", "label", "probability"))
  expect_equal(levels(p$label), fm$class_names)
  expect_equal(dim(attr(p, "probabilities")), c(3, 10))
  expect_equal(as.character(p$label), fm$class_names[p$class_id + 1])
  file <- tempfile(fileext = ".keras")
  save_model(model, file, class_names = fm$class_names)
  loaded <- load_model(file)
  expect_equal(loaded$predict(fm$x_test, verbose = 0L), model$predict(fm$x_test, verbose = 0L))
  expect_equal(levels(predict_classes(loaded, fm$x_test[1:2, , , , drop = FALSE])$label), fm$class_names)
  # image files, read at the model's input size
  png <- tempfile(fileext = ".png")
  pil <- reticulate::import("PIL.Image")
  np <- reticulate::import("numpy", convert = FALSE)
  pil$fromarray(np$array(round(fm$x_test[1, , , 1] * 255), dtype = "uint8"))$save(png)
  pf <- predict_classes(loaded, png)
  expect_equal(pf$file, png)
  expect_equal(as.numeric(attr(pf, "probabilities")[1, ]), as.numeric(attr(p, "probabilities")[1, ]), tolerance = 1e-3)
  # the file loads in Python with the same predictions (a fresh Python process)
  code <- sprintf("import cnnkit, numpy as np; m = cnnkit.load_model(%s); print(m.count_params())", shQuote(file, "sh"))
  out <- system2(reticulate::py_exe(), c("-c", shQuote(code)), stdout = TRUE, stderr = FALSE)
  expect_equal(as.numeric(out), model$count_params())
})

test_that("load_model(): corrupt and unsafe files are clear errors, nothing half-written by save_model()", {
  skip_if_no_python()
  bad <- tempfile(fileext = ".keras")
  writeBin(as.raw(1:100), bad)
  expect_error(load_model(bad), "not a .keras model file")
  expect_error(load_model(tempfile(fileext = ".keras")), "does not exist")
  lam <- tempfile(fileext = ".keras")
  reticulate::py_run_string(sprintf(paste0(
    "import keras\nkeras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2), ",
    "keras.layers.Dense(2, activation='softmax')]).save(%s)"), shQuote(lam, "sh")))
  expect_error(load_model(lam), "safe_mode = FALSE|safe_mode=False")
  expect_equal(load_model(lam, safe_mode = FALSE)$count_params(), 10)
  dir <- tempfile("out")
  dir.create(dir)
  expect_error(save_model(small_model(), file.path(dir, "m.h5")), "`file`")
  blocker <- file.path(dir, "a_file")
  writeLines("x", blocker)
  expect_error(save_model(small_model(), file.path(blocker, "m.keras")), "not a writable directory")
  expect_equal(list.files(dir, all.files = TRUE, no.. = TRUE), "a_file")
})

test_that("bad input from the shared spec: clear R errors, no files, the session goes on", {
  skip_if_no_python()
  base <- spec$bad_input_model
  for (case in spec$fit_bad_input) {
    model <- do.call(get(base$factory, envir = asNamespace("cnnkit")), c(as_r_user(base$args), as_r_user(case$model)))
    x <- array(0.5, unlist(case$x_shape))
    if (isTRUE(case$x_nan)) x[4] <- NaN
    args <- as_r_user(case$args)
    tmp <- tempfile("case")
    dir.create(tmp)
    if (identical(args$run_dir, "RUN_DIR_UNDER_A_FILE")) {
      writeLines("x", file.path(tmp, "a_file"))
      args$run_dir <- file.path(tmp, "a_file", "run")
    }
    if (case$call == "predict_classes") {
      call_args <- c(list(model, x), args)
    } else {
      y <- vapply(case$y, function(v) if (is.null(v)) NA_real_ else as.numeric(v), numeric(1))
      call_args <- c(list(model, list(x, y)), args)
    }
    err <- tryCatch({ do.call(get(case$call, envir = asNamespace("cnnkit")), call_args); NULL },
                    error = function(e) e)
    expect_s3_class(err, "error")
    expect_match(conditionMessage(err), case$error_names, fixed = TRUE, label = case$id)
    expect_match(conditionMessage(err), if (is.null(case$message)) "" else case$message, fixed = TRUE, label = case$id)
    expect_false(grepl("Traceback|Detailed traceback", conditionMessage(err)), label = case$id)
    expect_true(all(list.files(tmp, all.files = TRUE, no.. = TRUE) %in% "a_file"), label = case$id)
  }
  expect_equal(simple_cnn()$count_params(), 28097)
})

test_that("precision and steps_per_execution reach Python from R numbers, only while fitting", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 64)
  model <- small_model()
  seen <- reticulate::py_run_string("
import keras
class Seen(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.dtype = self.model.layers[1].compute_dtype
        self.steps = self.model.steps_per_execution
seen = Seen()
")$seen
  h <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, batch_size = 8,
                      precision = "mixed_bfloat16", steps_per_execution = 4,
                      callbacks = list(seen), verbose = 0)
  expect_equal(seen$dtype, "bfloat16")
  expect_identical(seen$steps, 4L)
  expect_equal(model$layers[[2]]$compute_dtype, "float32")
  expect_identical(model$steps_per_execution, 1L)
  expect_true(all(is.finite(h$loss)))
})

test_that("predict_classes and evaluate_classifier take precision from R", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 64)
  model <- small_model()
  exact <- model$predict(fm$x_test[1:20, , , , drop = FALSE], verbose = 0L)
  p32 <- predict_classes(model, fm$x_test[1:20, , , , drop = FALSE], precision = "float32")
  expect_equal(unname(attr(p32, "probabilities")), exact, tolerance = 1e-5)
  p16 <- predict_classes(model, fm$x_test[1:20, , , , drop = FALSE], precision = "mixed_bfloat16")
  expect_lt(max(abs(attr(p16, "probabilities") - exact)), 2e-2)
  ev <- evaluate_classifier(model, list(fm$x_test[1:20, , , , drop = FALSE], fm$y_test[1:20]),
                            precision = "float32")
  expect_equal(ev$n, 20)
  expect_error(predict_classes(model, fm$x_test[1:2, , , , drop = FALSE], precision = "half"),
               "`precision`")
})

test_that("class names travel from R factors through every data kind to the model", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 200, classes = c(0, 1, 9))
  m <- simple_cnn(c(28, 28, 1), num_classes = 3, blocks = 1, filters = 4, units = 8)
  ds <- augmented_dataset(fm$x_train, fm$y_train, augmentation(translate = 0.05), batch_size = 50)
  fit_classifier(m, ds, epochs = 1, verbose = 0)
  expect_equal(levels(predict_classes(m, fm$x_train[1:2, , , , drop = FALSE])$label), levels(fm$y_train))
  path <- tempfile(fileext = ".keras")
  save_model(m, path)   # no class_names given: the remembered ones are stored
  expect_equal(levels(predict_classes(load_model(path), fm$x_train[1:2, , , , drop = FALSE])$label),
               c("T-shirt/top", "Trouser", "Ankle boot"))
})
