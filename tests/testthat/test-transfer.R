# transfer_model() as in the slides, the exercise's domain_adapted_model(), two-phase fine_tune().

spec <- read_spec("transfer")
slide <- spec$slide_fine_tuning
domain <- spec$domain_adapter
ft <- spec$fine_tune

trainable_total <- function(model) sum(trainable_layers(model)$trainable_params)

test_that("transfer_model() reproduces the slides: 513 trainable (frozen), 7,079,937 (block5)", {
  skip_if_no_python()
  fe <- transfer_model("vgg16", as_r_user(slide$input_shape), 1, mode = "feature_extraction", weights = NULL)
  ftm <- transfer_model("vgg16", as_r_user(slide$input_shape), 1, mode = "fine_tune", weights = NULL)
  expect_equal(fe$count_params(), slide$total_params)
  expect_equal(trainable_total(fe), slide$feature_extraction_trainable)
  expect_equal(trainable_total(ftm), slide$fixed_trainable)
  tl <- trainable_layers(ftm)
  expect_equal(tl$name[tl$trainable & tl$params > 0], c(unlist(slide$python_slice_layers), "predictions"))
  expect_equal(shape_of(ftm$output), c(NA, 1))
})

test_that("domain_adapted_model(): the exercise's structure from the shared spec", {
  skip_if_no_python()
  model <- call_with(domain_adapted_model, as_r_user(domain$args))
  layers <- model$layers
  expect_equal(vapply(layers, function(l) l$name, ""), vapply(domain$layers, `[[`, "", "name"))
  expect_equal(vapply(layers, function(l) sub(".*\\.", "", class(l)[1]), ""),
               vapply(domain$layers, `[[`, "", "type"))
  for (i in seq_along(layers)) {
    expect_equal(layers[[i]]$count_params(), domain$layers[[i]]$params, label = domain$layers[[i]]$name)
    expect_equal(shape_of(layers[[i]]$output), as_shape(domain$layers[[i]]$output_shape))
  }
  expect_equal(model$count_params(), domain$total_params)
  expect_equal(trainable_total(model), domain$trainable_params)
  expect_false(model$get_layer("convnext_tiny")$trainable)
})

test_that("fine_tune(): two phases, one history data.frame with a phase column", {
  skip_if_no_python()
  set.seed(1)
  n <- ft$n
  x <- array(runif(n * 32 * 32 * 3), c(n, as_r_user(ft$input_shape)))  # in [0, 1], as transfer_model() expects
  y <- rep(c(0, 1), length.out = n)
  model <- transfer_model("vgg16", as_r_user(ft$input_shape), weights = NULL)
  block1 <- model$get_layer("vgg16")$get_layer("block1_conv1")$get_weights()[[1]]
  history <- fine_tune(model, list(x = x, y = y), head_epochs = ft$head_epochs, epochs = ft$epochs,
                       learning_rate = ft$lr, validation_data = list(x[1:4, , , ], y[1:4]), batch_size = 8)
  expect_s3_class(history, "data.frame")
  expect_equal(nrow(history), 2)
  expect_equal(history$phase, unlist(ft$phases))
  expect_equal(history$epoch, c(1, 2))
  expect_true(all(c("loss", "accuracy", "val_loss", "val_accuracy") %in% names(history)))
  expect_true(all(is.finite(history$loss)))
  expect_equal(model$get_layer("vgg16")$get_layer("block1_conv1")$get_weights()[[1]], block1)
  expect_equal(trainable_total(model), slide$fixed_trainable)
  expect_equal(as.numeric(model$optimizer$learning_rate$numpy()), ft$lr / 10, tolerance = 1e-6)
})

test_that("transfer bad input: short errors naming the argument", {
  skip_if_no_python()
  model <- transfer_model("vgg16", c(32, 32, 3), weights = NULL)
  x <- array(0, c(4, 32, 32, 3))
  expect_error(fine_tune(model, "images"), "`data`")
  expect_error(fine_tune(model, list(x, c(0, 1, 0, 1)), head_epochs = 1.5), "`head_epochs`")
  expect_error(fine_tune(model, list(x, c(0, 1, 0, 1)), learning_rate = 0), "`learning_rate`")
  expect_error(fine_tune(model, list(x, c(0, 1, 0, 1)), batchnorm = "yes"), "`batchnorm`")
  expect_error(fine_tune(model, list(x, c(1, 2, 1, 2))), "1-based")  # the engine's label check
  expect_error(fine_tune(model, list(x, c(0, 1, 0, 1)), head_epochs = 0, epochs = 0), "nothing to train")
  expect_error(fine_tune(simple_cnn(), list(x, c(0, 1, 0, 1))), "no nested backbone")
  err <- tryCatch(transfer_model("vgg16", c(32, 32, 1), weights = NULL), error = identity)
  expect_match(conditionMessage(err), "domain_adapted_model", fixed = TRUE)
  expect_null(conditionCall(err))
  expect_equal(simple_cnn()$count_params(), 28097)
})

test_that("fine_tune() from R: factor labels (the README's call), class names, the engine's levers", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 128, n_test = 32, pad = TRUE)
  m <- domain_adapted_model("efficientnet_lite0", c(32, 32, 1), num_classes = 10, weights = NULL,
                            adapter_layers = 1)
  out <- capture.output(history <- fine_tune(m, list(fm$x_train, fm$y_train), head_epochs = 1, epochs = 1,
                                             precision = "float32"))
  expect_equal(history$epoch, c(1, 2))
  expect_equal(history$phase, c("head", "fine_tune"))
  expect_equal(history$learning_rate, c(1e-3, 1e-4), tolerance = 1e-6)
  expect_true(any(grepl("^Epoch 2/2$", out)))  # verbose = "auto": a line per epoch under Rscript
  p <- predict_classes(m, fm$x_test[1:3, , , , drop = FALSE])
  expect_equal(levels(p$label), fm$class_names)  # the factor's levels, remembered on the model
  ev <- evaluate_classifier(m, list(fm$x_test, fm$y_test))
  expect_equal(ev$class_names, fm$class_names)
  expect_warning(fine_tune(m, list(fm$x_train, fm$y_train), head_epochs = 1, epochs = 0, lr = 1e-3, verbose = 0),
                 "`lr` is deprecated; use `learning_rate`")
})

test_that("fine_tune() from R resumes a finished run instead of training again", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 64, pad = TRUE)
  run <- file.path(tempfile("ft-"), "run")
  m <- domain_adapted_model("efficientnet_lite0", c(32, 32, 1), num_classes = 10, weights = NULL,
                            adapter_layers = 1)
  h1 <- fine_tune(m, list(fm$x_train, fm$y_train), head_epochs = 1, epochs = 1, run_dir = run, verbose = 0)
  expect_true(all(c("head", "fine_tune", "history.csv", "run.json") %in% list.files(run)))
  expect_warning(h2 <- fine_tune(m, list(fm$x_train, fm$y_train), head_epochs = 1, epochs = 1, run_dir = run,
                                 verbose = 0), "holds a finished run")
  expect_equal(h2$loss, h1$loss, tolerance = 1e-6)
  expect_error(fine_tune(m, list(fm$x_train, fm$y_train), head_epochs = 2, epochs = 1, run_dir = run, verbose = 0),
               "head_epochs 1 \\(now 2\\).*overwrite = TRUE")
})
