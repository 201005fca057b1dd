# The slides' fine-tuning chunk verbatim, py_for()/py_slice(), and freeze()/unfreeze() with R's
# 1-based, both-ends-inclusive positions.

spec <- read_spec("transfer")
slide <- spec$slide_fine_tuning

# keras$applications$VGG16() defaults to weights = "imagenet": a 58 MB download from
# storage.googleapis.com, impossible here and in CI. To run the slides' chunk exactly as written,
# Keras' vgg16 module gets a stand-in for the `file_utils` it downloads with: its get_file() returns
# a weights file this test wrote (random weights of the same architecture). Restored on exit.
with_vgg16_weights_standin <- function(code) {
  path <- tempfile(fileext = ".weights.h5")
  backbone("vgg16", c(32, 32, 3), weights = NULL)$save_weights(path)
  vgg16_module <- reticulate::import("keras.src.applications.vgg16")
  real <- vgg16_module$file_utils
  vgg16_module$file_utils <- reticulate::import("types")$SimpleNamespace(get_file = function(...) path)
  on.exit({
    vgg16_module$file_utils <- real
    unlink(path)
  }, add = TRUE)
  code
}

collect_warnings <- function(code) {
  warnings <- character()
  value <- withCallingHandlers(code, warning = function(w) {
    warnings <<- c(warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = warnings)
}

trainable_total <- function(model) sum(trainable_layers(model)$trainable_params)

test_that("slide chunk verbatim: R semantics kept (14,602,625 trainable) and a warning naming the fix", {
  skip_if_no_python()
  run <- collect_warnings(with_vgg16_weights_standin({
input <- keras$layers$Input(tuple(32L, 32L, 3L))
vgg16 <- keras$applications$VGG16(include_top = FALSE,
input_tensor = input,
pooling = "avg")
vgg16$trainable <- FALSE
py_for(layer ~ vgg16$layers[-5:-2], {
layer$trainable <- TRUE
})
output <- keras$layers$Dense(1L, activation = "sigmoid")(vgg16(input))
keras$Model(input, output)
  }))
  model <- run$value
  expect_length(run$warnings, 1)
  for (fix in unlist(slide$warning_fix)) expect_match(run$warnings, fix, fixed = TRUE)
  expect_match(run$warnings, "DROPS elements 2 to 5 and keeps the other 16 of 20", fixed = TRUE)
  expect_equal(trainable_total(model), slide$r_verbatim_trainable)
  expect_equal(model$count_params(), slide$total_params)
  expect_true(any(grepl("Trainable params: 14,602,625", capture.output(summary(model, show_trainable = TRUE)),
                        fixed = TRUE)))
  # the chunk's variables are in the test environment, as after running the slide
  expect_equal(layer$name, vgg16$layers[[20]]$name)
})

test_that("the fixed forms give 7,079,937 trainable: py_slice() and unfreeze(block = 'block5')", {
  skip_if_no_python()
  expect_silent(model <- with_vgg16_weights_standin({
input <- keras$layers$Input(tuple(32L, 32L, 3L))
vgg16 <- keras$applications$VGG16(include_top = FALSE,
input_tensor = input,
pooling = "avg")
vgg16$trainable <- FALSE
py_for(layer ~ py_slice(vgg16$layers, -5, -2), {
layer$trainable <- TRUE
})
output <- keras$layers$Dense(1L, activation = "sigmoid")(vgg16(input))
keras$Model(input, output)
  }))
  expect_equal(trainable_total(model), slide$fixed_trainable)
  expect_equal(vapply(py_slice(vgg16$layers, -5, -2), function(l) l$name, ""),
               unlist(slide$python_slice_layers))

  model <- with_vgg16_weights_standin({
input <- keras$layers$Input(tuple(32L, 32L, 3L))
vgg16 <- keras$applications$VGG16(include_top = FALSE,
input_tensor = input,
pooling = "avg")
vgg16$trainable <- FALSE
unfreeze(vgg16, block = "block5")
output <- keras$layers$Dense(1L, activation = "sigmoid")(vgg16(input))
keras$Model(input, output)
  })
  expect_equal(trainable_total(model), slide$fixed_trainable)
  expect_true(any(grepl("Trainable params: 7,079,937", capture.output(summary(model, show_trainable = TRUE)),
                        fixed = TRUE)))
  # and unfreeze() re-freezes reliably on an already-built model (no stale layers)
  freeze(vgg16)
  unfreeze(vgg16, from = -5, to = -3)
  expect_equal(trainable_total(model), slide$fixed_trainable)
})

test_that("from/to are 1-based, negative from the end, both ends included (same layers as Python)", {
  skip_if_no_python()
  vgg16 <- backbone("vgg16", c(32, 32, 3), weights = NULL)
  for (case in spec$range_cases$same_selection) {
    freeze(vgg16)
    do.call(unfreeze, c(list(vgg16), as_r_user(case$r)))
    tl <- trainable_layers(vgg16)
    expect_equal(tl$name[tl$trainable], unlist(case$names), label = deparse(case$r))
  }
  tl <- trainable_layers(vgg16)
  expect_equal(tl$index, seq_len(20))
  expect_equal(tl$name[16], "block5_conv1")
})

test_that("bad positions and selections: short errors naming the argument", {
  skip_if_no_python()
  vgg16 <- backbone("vgg16", c(32, 32, 3), weights = NULL)
  for (case in c(spec$range_cases$r_errors, spec$freeze_bad_input)) {
    fn <- get(if (is.null(case$call)) "unfreeze" else case$call, envir = asNamespace("cnnkit"))
    err <- tryCatch({ do.call(fn, c(list(vgg16), as_r_user(case$args))); NULL }, error = identity)
    expect_s3_class(err, "error")
    for (part in unlist(case$error_names)) expect_match(conditionMessage(err), part, fixed = TRUE)
    expect_null(conditionCall(err))
  }
  expect_error(unfreeze(vgg16, where = "block5"), "`where` must be a function")
  expect_error(unfreeze(vgg16, from = c(1, 2)), "`from` must be one layer position")
  expect_equal(trainable_total(unfreeze(freeze(vgg16), where = function(l) grepl("^block5_conv", l$name))),
               spec$vgg16_slides$block5_params)
})

test_that("trainable_layers() totals match summary(show_trainable = TRUE); BatchNorm stays frozen", {
  skip_if_no_python()
  model <- transfer_model("mobilenet_v2", c(32, 32, 3), mode = "fine_tune", weights = NULL)
  tl <- trainable_layers(model)
  out <- paste(capture.output(summary(model, show_trainable = TRUE)), collapse = "\n")
  grab <- function(label) as.numeric(gsub(",", "", sub(paste0(".*", label, " params: ([0-9,]+).*"), "\\1", out)))
  expect_equal(sum(tl$trainable_params), grab("Trainable"))
  expect_equal(sum(tl$params) - sum(tl$trainable_params), grab("Non-trainable"))
  expect_false(any(tl$trainable[tl$type == "BatchNormalization"]))
  expect_true(all(tl$trainable[grepl("^block_16_(expand|depthwise|project)$", tl$name)]))
  unfreeze(model, block = "block_16", batchnorm = TRUE)
  tl <- trainable_layers(model)
  expect_true(all(tl$trainable[grepl("^block_16_.*BN$", tl$name)]))
})

test_that("a compiled model is recompiled after unfreeze(); recompile = FALSE warns", {
  skip_if_no_python()
  model <- transfer_model("vgg16", c(32, 32, 3), weights = NULL)
  compile_classifier(model, learning_rate = 0.01, optimizer = "sgd")
  expect_silent(unfreeze(model, block = "block5"))
  expect_equal(class(model$optimizer)[1], "keras.src.optimizers.sgd.SGD")
  expect_equal(model$loss, "binary_crossentropy")
  expect_warning(freeze(model, names = "vgg16", recompile = FALSE), "compile it again")
})

test_that("py_for() loops over R and Python iterables and leaves the variable bound", {
  skip_if_no_python()
  seen <- c()
  py_for(x ~ reticulate::r_to_py(list(1, 2, 3)), seen <- c(seen, x))
  expect_equal(seen, c(1, 2, 3))
  py_for(x ~ letters[1:3], { seen <- c(seen, x) })
  expect_equal(seen, c("1", "2", "3", "a", "b", "c"))
  expect_equal(x, "c")
  gen <- reticulate::py_eval("(i * i for i in range(4))", convert = FALSE)
  total <- 0
  py_for(v ~ gen, total <- total + v)
  expect_equal(total, 14)
  expect_silent(py_for(v ~ list(), stop("never")))
})

test_that("py_for() bad input: a non-formula or a non-iterable is a clear error", {
  expect_error(py_for("layer", {}), "py_for\\(\\): `spec` must be a formula `var ~ iterable`")
  expect_error(py_for(~ letters, {}), "must be a formula")
  expect_error(py_for(f(x) ~ letters, {}), "must be a formula")
  expect_error(py_for(x ~ environment(), {}), "`environment\\(\\)` is not iterable")
  expect_error(py_for(x ~ mean, {}), "is not iterable")
  expect_equal(1 + 1, 2)  # the session goes on
})

test_that("py_slice() is Python's slice (checked against Python itself)", {
  skip_if_no_python()
  expect_equal(py_slice(letters, -5, -2), c("v", "w", "x"))
  expect_equal(py_slice(1:10, 2), 3:10)
  for (n in c(0, 1, 4, 7)) {
    for (start in list(NULL, 0, 2, -3, 9, -9)) for (stop in list(NULL, 1, -1, 5, -8)) for (step in c(1, 2, -1, -3)) {
      fmt <- function(v) if (is.null(v)) "" else as.character(v)
      py <- reticulate::py_eval(sprintf("list(range(%d))[%s:%s:%s]", n, fmt(start), fmt(stop), step))
      expect_equal(unlist(py_slice(as.list(seq_len(n) - 1L), start, stop, step)), unlist(py),
                   label = sprintf("[%s:%s:%s] of %d", fmt(start), fmt(stop), step, n))
    }
  }
  expect_error(py_slice(letters, 1.5), "`start` must be one whole number")
  expect_error(py_slice(letters, step = 0), "`step` must not be 0")
  expect_error(py_slice(mean, 1), "`x` must be a list or a vector")
})
