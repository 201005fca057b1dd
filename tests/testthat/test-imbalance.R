# Class imbalance from R (issue 28.1): class_weight named by factor level or in level order, balanced
# accuracy and the AUC columns of an evaluation, a binary model's threshold, plot_roc_curves(). The Python
# side, with the definitions checked by hand: tests/python/test_imbalance.py.

dense_model <- function(k, shape = c(4, 4, 1)) {  # Flatten -> Dense: 1 sigmoid unit for 2 classes, else softmax
  keras <- reticulate::import("keras")
  keras$utils$set_random_seed(1L)
  inp <- keras$Input(shape = as.list(as.integer(shape)))
  out <- keras$layers$Dense(if (k == 2) 1L else as.integer(k), activation = if (k == 2) "sigmoid" else "softmax")(
    keras$layers$Flatten()(inp))
  keras$Model(inp, out)
}

images <- function(n, seed = 0) {
  set.seed(seed)
  array(runif(n * 16), c(n, 4, 4, 1))
}

# the class weights a run recorded in run.json (one per class, in level order)
recorded_weights <- function(model, data, ...) {
  run <- tempfile("run")
  fit_classifier(model, data, epochs = 1, verbose = 0, run_dir = run, ...)
  unlist(jsonlite::read_json(file.path(run, "run.json"))$fit$settings$class_weight)
}

test_that("class_weight: \"balanced\" is n / (k * count); by factor level; an unnamed vector in level order", {
  skip_if_no_python()
  y <- factor(rep(c("owl", "cat", "dog"), c(1, 6, 3)), levels = c("cat", "dog", "owl"))
  x <- images(10)
  expect_equal(recorded_weights(dense_model(3), list(x, y), class_weight = "balanced"),
               as.vector(10 / (3 * table(y))))  # 6, 3, 1 images of cat, dog, owl
  expect_equal(recorded_weights(dense_model(3), list(x, y), class_weight = c(owl = 5, cat = 0.5)), c(0.5, 1, 5))
  expect_equal(recorded_weights(dense_model(3), list(x, y), class_weight = list(dog = 2)), c(1, 2, 1))
  expect_equal(recorded_weights(dense_model(3), list(x, y), class_weight = c(1, 2, 4)), c(1, 2, 4))
  expect_equal(recorded_weights(dense_model(3), list(x, as.integer(y) - 1L), class_weight = c(3, 1, 1)), c(3, 1, 1))
})

test_that("class_weight errors name the argument", {
  skip_if_no_python()
  y <- factor(c("cat", "dog", "owl", "cat"))
  x <- images(4)
  fit <- function(cw, labels = y) fit_classifier(dense_model(3), list(x, labels), epochs = 1, verbose = 0,
                                                 class_weight = cw)
  expect_error(fit(c(zebra = 2)), "`class_weight` names class \"zebra\", which is not one of the classes \\(cat, dog, owl\\)")
  expect_error(fit(c(1, 2)), "`class_weight` has 2 weights but the model has 3 classes")
  expect_error(fit(c(1, -1, 1)), "`class_weight` entry 1 must be a finite number >= 0, got -1")
  expect_error(fit(c(cat = -1)), "`class_weight` entry \"cat\" must be a finite number >= 0")
  expect_error(fit(c(0, 0, 0)), "`class_weight` is 0 for every class: nothing would be learned")
  expect_error(fit(c(cat = 0, dog = 0, owl = 0)), "`class_weight` is 0 for every class")
  expect_error(fit("bal"), "fit_classifier\\(\\): `class_weight` must be NULL, \"balanced\" .*named vector")
  expect_error(fit(TRUE), "`class_weight` must be NULL, \"balanced\"")
  expect_error(fit(c(1, NA, 1)), "`class_weight` contains NA")
  expect_error(fit(c(cat = 1, 2, 3)), "fit_classifier\\(\\): `class_weight` names some classes but not others \\(entry 2")
  expect_error(fit(c(cat = 1, cat = 2)), "`class_weight` gives class \"cat\" twice")
  expect_error(fit("balanced", factor(c("cat", "dog", "dog", "cat"), levels = c("cat", "dog", "owl"))),
               "`class_weight`=\"balanced\" weighs .* but class 2 \\(\"owl\"\\) has none")
  expect_error(fit(c(cat = 2), c(0, 1, 2, 0)), "names class \"cat\", but neither the data nor the model carries class names")
  expect_error(train_classifier(subset = 10, epochs = 1, class_weight = c(1, 2)),
               "train_classifier\\(\\): `class_weight` has 2 weights but the model has 10 classes")
  expect_error(train_classifier(subset = 10, epochs = 1, class_weight = c(Bag = 1, 2)),
               "train_classifier\\(\\): `class_weight` names some classes but not others")
})

test_that("train_classifier(class_weight =) records it, a resume with another is refused, plots need the scores", {
  skip_if_no_python()
  run <- tempfile("run")
  r <- train_classifier("lenet5", subset = 30, epochs = 1, batch_size = 10, run_dir = run, verbose = 0,
                        class_weight = "balanced")
  record <- jsonlite::read_json(file.path(run, "run.json"))
  expect_identical(record$job$settings$class_weight, "balanced")
  expect_length(record$fit$settings$class_weight, 10)
  expect_error(train_classifier("lenet5", subset = 30, epochs = 1, batch_size = 10, run_dir = run, verbose = 0,
                                class_weight = c(Bag = 2)),
               "holds a run started with other settings: class_weight")
  expect_warning(again <- train_classifier("lenet5", subset = 30, epochs = 1, batch_size = 10, run_dir = run,
                                           verbose = 0, class_weight = "balanced"), "holds a finished run")
  # read back from metrics.json: the report, not the probabilities
  expect_equal(again$evaluation$balanced_accuracy, r$evaluation$balanced_accuracy)
  expect_identical(capture.output(print(again$evaluation)), capture.output(print(r$evaluation)))
  expect_null(again$evaluation$probabilities)
  expect_error(plot_roc_curves(again$evaluation, file = tempfile(fileext = ".png")),
               "plot_roc_curves\\(\\): `evaluation` must be what evaluate_classifier\\(\\) returns.*metrics.json")
  expect_true(file.exists(plot_roc_curves(r$evaluation, file = tempfile(fileext = ".png"))))
})

test_that("an evaluation: y_true a factor, probabilities a matrix, balanced accuracy and AUCs printed", {
  skip_if_no_python()
  y <- factor(rep(c("cat", "dog", "owl"), c(10, 6, 4)), levels = c("cat", "dog", "owl", "yak"))
  model <- dense_model(4)
  ev <- evaluate_classifier(model, list(images(20, seed = 3), y))
  expect_identical(ev$y_true, y)
  expect_identical(dim(ev$probabilities), c(20L, 4L))
  expect_identical(colnames(ev$probabilities), levels(y))
  cm <- unclass(ev$confusion_matrix)
  expect_equal(ev$balanced_accuracy, mean(diag(cm)[1:3] / rowSums(cm)[1:3]))  # yak has no images
  brute_auc <- function(pos, s) mean(outer(s[pos], s[!pos], function(a, b) (a > b) + 0.5 * (a == b)))
  for (c in 1:3) {
    expect_equal(ev$per_class$roc_auc[c], brute_auc(as.integer(y) == c, ev$probabilities[, c]))
  }
  expect_true(is.nan(ev$per_class$roc_auc[4]) && is.nan(ev$per_class$pr_auc[4]))
  expect_equal(ev$averages$roc_auc[1], mean(ev$per_class$roc_auc[1:3]))
  expect_identical(names(ev$per_class), c("class", "precision", "recall", "f1", "roc_auc", "pr_auc", "support"))
  printed <- capture.output(print(ev))
  expect_identical(printed[1], sprintf("accuracy: %.4f (20 images), balanced accuracy: %.4f", ev$accuracy,
                                       ev$balanced_accuracy))
  expect_identical(strsplit(trimws(printed[3]), " +")[[1]],
                   c("class", "precision", "recall", "f1", "roc", "auc", "pr", "auc", "support"))
  expect_match(printed[grepl("^yak ", printed)], "n/a +n/a +0$")
  # the same report as Python's
  py <- py_cnnkit()$evaluate_classifier(model, cnnkit:::as_py_data(list(images(20, seed = 3), y)))
  expect_identical(printed, strsplit(reticulate::import_builtins()$str(py), "\n")[[1]])
})

test_that("threshold moves a binary model's decision (1 sigmoid, 2 softmax) and is refused for 3 classes", {
  skip_if_no_python()
  y <- factor(rep(c("no", "yes"), c(12, 8)))
  x <- images(20, seed = 5)
  keras <- reticulate::import("keras")
  inp <- keras$Input(shape = list(4L, 4L, 1L))
  softmax2 <- keras$Model(inp, keras$layers$Dense(2L, activation = "softmax")(keras$layers$Flatten()(inp)))
  for (model in list(dense_model(2), softmax2)) {
    ev <- evaluate_classifier(model, list(x, y))
    p_yes <- ev$probabilities[, "yes"]
    t <- median(p_yes)
    p <- predict_classes(model, x, class_names = levels(y), threshold = t)
    expect_identical(p$class_id, as.integer(p_yes >= t))
    expect_identical(p$label, factor(ifelse(p_yes >= t, "yes", "no"), levels = levels(y)))
    expect_identical(predict_classes(model, x, threshold = 0)$class_id, rep(1L, 20))
    e <- evaluate_classifier(model, list(x, y), threshold = 0.25)
    expect_identical(e$threshold, 0.25)
    expect_equal(sum(e$confusion_matrix[, "yes"]), sum(p_yes >= 0.25))
    expect_equal(e$per_class$roc_auc, ev$per_class$roc_auc)
    expect_match(capture.output(print(e))[1], ", threshold: 0.25$")
  }
  three <- dense_model(3)
  y3 <- factor(c("a", "b", "c", "a"))
  expect_error(evaluate_classifier(three, list(images(4), y3), threshold = 0.3),
               "evaluate_classifier\\(\\): `threshold`=0.3 is for a binary model .* this model has 3 classes")
  expect_error(predict_classes(three, images(4), threshold = 0.3), "predict_classes\\(\\): `threshold`=0.3")
  expect_error(predict_classes(three, images(4), threshold = 2), "`threshold` must be a number from 0 to 1")
  expect_null(evaluate_classifier(three, list(images(4), y3))$threshold)
})

test_that("plot_roc_curves() writes a png or draws on the device; a list of y_true and probabilities works too", {
  skip_if_no_python()
  y <- factor(rep(c("cat", "dog", "owl"), 5))
  ev <- evaluate_classifier(dense_model(3), list(images(15, seed = 2), y))
  file <- tempfile(fileext = ".png")
  expect_identical(withVisible(plot_roc_curves(ev, file = file)), list(value = file, visible = FALSE))
  expect_identical(readBin(file, "raw", 8), as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)))
  pdf_file <- tempfile(fileext = ".pdf")
  grDevices::pdf(pdf_file)
  expect_null(plot_roc_curves(ev))
  grDevices::dev.off()
  expect_gt(file.size(pdf_file), 1000)
  own <- list(y_true = factor(c("cat", "cat", "dog", "dog")),
              probabilities = cbind(cat = c(0.9, 0.6, 0.65, 0.2), dog = c(0.1, 0.4, 0.35, 0.8)))
  expect_true(file.exists(plot_roc_curves(own, file = tempfile(fileext = ".png"))))
  expect_error(plot_roc_curves(list(accuracy = 1)), "`evaluation` must be what evaluate_classifier\\(\\) returns")
})
