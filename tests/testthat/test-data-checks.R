# Data checked against the model on every entry point and kind of R data (tests/spec/data_checks.json,
# shared with tests/python/test_data_checks.py): arrays with factor, logical, integer, numeric and
# character labels (with NA), tf.data datasets, image_folder() datasets; class names; arguments of
# the wrong type; R's NA at the seam (the message says NA, never True).

spec <- read_spec("data_checks")

model_for <- function(num_classes) {
  do.call(spec$model$factory, c(as_r_user(spec$model$args), list(num_classes = num_classes)))
}

images <- function(kind = NULL) {
  x <- array(0.5, as.numeric(unlist(spec$x_shape)))
  if (is.null(kind)) return(x)
  switch(kind,
    missing = { x[6] <- NA; x },
    integer_missing = { x <- array(1L, dim(x)); x[6] <- NA; x },
    bool = x > 0.2,
    complex = x + 1i,
    strings = array(as.character(x), dim(x)))
}

na_values <- function(values, na) vapply(values, function(v) if (is.null(v)) na else v, na)

labels <- function(case) {
  k <- case$num_classes
  if (!is.null(case$r_y)) {
    v <- case$r_y$values
    return(switch(case$r_y$type,
      factor = factor(na_values(v, NA_character_)),
      logical = na_values(v, NA),
      integer = as.integer(na_values(v, NA_real_)),
      character = na_values(v, NA_character_)))
  }
  y <- case$y
  if (identical(y, "one_hot")) return(diag(k)[(0:5 %% k) + 1, ])
  if (identical(y, "complex")) return((0:5 %% k) + 0i)
  if (identical(y, "strings")) return(rep(c("a", "b", "c"), 2))
  na_values(y, NA_real_)
}

run <- function(fn, model, data) {
  switch(fn,
    fit_classifier = fit_classifier(model, data, epochs = 1, verbose = 0),
    evaluate_classifier = evaluate_classifier(model, data),
    predict_classes = predict_classes(model, if (is.list(data)) data[[1]] else data))
}

# One expectation per call: the error names the function, the argument and says `message`; or a
# result for `ok` cases. `xfail` cases must still fail (delete the mark once they pass).
check <- function(case, fn, expr) {
  label <- paste0(case$id, " / ", fn)
  outcome <- tryCatch(withCallingHandlers({ force(expr); "ok" }, warning = function(w) invokeRestart("muffleWarning")),
                      error = function(e) conditionMessage(e))
  meets <- if (isTRUE(case$ok)) identical(outcome, "ok") else
    !identical(outcome, "ok") && grepl(paste0(fn, "()"), outcome, fixed = TRUE) &&
      grepl(case$error_names, outcome, fixed = TRUE) && grepl(case$r_message %||% case$message %||% "", outcome, fixed = TRUE)
  if (is.null(case$xfail)) {
    expect_true(meets, label = paste(label, "->", outcome))
  } else {
    expect_false(meets, label = paste("known failure (", case$xfail, ") now passes:", label))
  }
}

r_cases <- function(cases) Filter(function(case) (case$lang %||% "r") == "r", cases)

test_that("arrays with every kind of R label: a clear error or a result, nothing trained on bad data", {
  skip_if_no_python()
  for (case in r_cases(spec$array_cases)) {
    for (fn in unlist(case$calls)) {
      model <- model_for(case$num_classes)
      before <- model$get_weights()
      check(case, fn, run(fn, model, list(images(case$x), labels(case))))
      if (!isTRUE(case$ok)) expect_identical(model$get_weights(), before, label = paste(case$id, fn, "weights"))
    }
  }
})

test_that("datasets: labels and images are checked batch by batch as they are read", {
  skip_if_no_python()
  aug <- augmentation(rotate = 1e-6, seed = 1)
  for (case in r_cases(spec$dataset_cases)) {
    ds <- augmented_dataset(images(case$x), labels(case), aug, batch_size = 2, shuffle = FALSE)
    for (fn in unlist(case$calls)) check(case, fn, run(fn, model_for(case$num_classes), ds))
  }
})

make_folder <- function(root, classes) {
  reticulate::py_run_string(paste(
    "import numpy as np", "from PIL import Image",
    "def data_checks_png(path, value):",
    "    Image.fromarray(np.full((16, 16, 3), int(value), np.uint8)).save(path)", sep = "\n"))
  for (i in seq_along(classes)) {
    dir.create(file.path(root, classes[i]), recursive = TRUE)
    for (j in 1:2) reticulate::py$data_checks_png(file.path(root, classes[i], paste0(j, ".png")), 40 * (i + j))
  }
  root
}

test_that("image_folder() datasets: the folder's classes must be the model's", {
  skip_if_no_python()
  for (case in r_cases(spec$folder_cases)) {
    folder <- make_folder(tempfile("folder-"), unlist(case$folder_classes))
    model <- model_for(case$num_classes)
    if (!is.null(case$saved_class_names)) {
      file <- tempfile(fileext = ".keras")
      save_model(model, file, class_names = unlist(case$saved_class_names))
      model <- load_model(file)
    }
    d <- image_folder(folder, image_size = 8, color_mode = "grayscale", batch_size = 2)
    for (fn in unlist(case$calls)) check(case, fn, run(fn, model, d$train))
  }
})

test_that("class names: one per class the model predicts (a 1-unit sigmoid output: 2)", {
  skip_if_no_python()
  for (case in r_cases(spec$class_name_cases)) {
    model <- model_for(case$num_classes)
    names <- unlist(case$class_names)
    x <- images()
    y <- (0:5) %% (if (case$num_classes == 1) 2 else case$num_classes)
    file <- tempfile(fileext = ".keras")
    check(case, case$call, switch(case$call,
      save_model = save_model(model, file, class_names = names),
      evaluate_classifier = evaluate_classifier(model, list(x, y), class_names = names),
      predict_classes = predict_classes(model, x, class_names = names)))
    if (case$call == "save_model" && isTRUE(case$ok)) {
      expect_true(as.character(predict_classes(load_model(file), x)$label[1]) %in% names)
    }
  }
})

test_that("arguments of the wrong type are errors, not truthy", {
  skip_if_no_python()
  for (case in r_cases(spec$argument_cases)) {
    args <- as_r_user(case$args)
    if (case$call == "fit_classifier") {
      args <- c(list(model_for(case$num_classes), list(images(), (0:5) %% 3), verbose = 0), args)
    }
    check(case, case$call, do.call(case$call, args))
  }
})

test_that("R's NA where a value is expected: the error names the argument and says NA", {
  skip_if_no_python()
  model <- model_for(3)
  base <- list(load_fashion_mnist = list(n = 10, n_test = 10), save_model = list(model),
               predict_classes = list(model, images()), simple_cnn = list())
  for (case in spec$r_na_cases) {
    args <- base[[case$call]]
    args[case$arg] <- list(eval(parse(text = case$value)))
    outcome <- tryCatch({ do.call(case$call, args); "ok" }, error = function(e) conditionMessage(e))
    expect_match(outcome, paste0(case$call, "(): "), fixed = TRUE, label = case$id)
    expect_match(outcome, case$message, fixed = TRUE, label = case$id)
    expect_false(grepl("True", outcome, fixed = TRUE), label = paste(case$id, "does not say True"))
  }
})
