# Model factories against the shared spec, called as an R user would (doubles).

spec <- read_spec("models")

test_that("every model in the spec has the spec's output shape and parameter count", {
  skip_if_no_python()
  for (case in spec$models) {
    fn <- get(case$factory, envir = asNamespace("cnnkit"))
    model <- call_with(fn, as_r_user(case$args))
    expect_equal(as_shape(model$output_shape), as_shape(case$output_shape), label = case$id)
    expect_equal(model$count_params(), case$total_params, label = case$id)
    for (layer in names(case$layer_output_shapes)) {
      expect_equal(shape_of(model$get_layer(layer)$output), as_shape(case$layer_output_shapes[[layer]]),
                   label = paste(case$id, layer))
    }
  }
})

test_that("conv_block composes with the native pipe and gives the spec's shapes", {
  skip_if_no_python()
  for (case in spec$blocks) {
    x <- keras$layers$Input(do.call(tuple, as.list(as.integer(unlist(case$input_shape)))))
    y <- x
    for (i in seq_len(case$times)) y <- call_with(conv_block, as_r_user(case$args), y)
    expect_equal(shape_of(y), as_shape(case$output_shape), label = case$id)
  }
  input <- keras$layers$Input(tuple(32L, 32L, 3L))
  expect_equal(shape_of(conv_block(input) |> conv_block() |> conv_block()), c(NA, 4, 4, 32))
})

test_that("classifier_head matches the spec", {
  skip_if_no_python()
  for (case in spec$heads) {
    x <- keras$layers$Input(do.call(tuple, as.list(as.integer(unlist(case$input_shape)))))
    model <- keras$Model(x, call_with(classifier_head, as_r_user(case$args), x))
    expect_equal(model$count_params(), case$total_params, label = case$id)
    expect_equal(as_shape(model$output_shape), as_shape(case$output_shape), label = case$id)
  }
})

test_that("kernel_size = c(3, 3) and a vector of filters cross the bridge", {
  skip_if_no_python()
  model <- simple_cnn(c(28, 28, 1), blocks = 2, filters = c(16, 32), kernel_size = c(3, 3), num_classes = 10)
  expect_equal(model$get_layer("block2_conv")$filters, 32L)
  expect_equal(as_shape(model$output_shape), c(NA, 10))
})

test_that("the MLP predicts one row of class probabilities per image", {
  skip_if_no_python()
  model <- mlp_classifier()
  x <- array(runif(2 * 64 * 64 * 3), dim = c(2, 64, 64, 3))
  p <- model$predict(x, verbose = 0L)
  expect_equal(dim(p), c(2L, 2L))
  expect_equal(rowSums(p), c(1, 1), tolerance = 1e-5)
})

test_that("print() and summary() of a model show the Keras summary table", {
  skip_if_no_python()
  model <- simple_cnn()
  out <- capture.output(print(model))
  expect_true(any(grepl("Total params: 28,097", out, fixed = TRUE)))
  expect_true(any(grepl("block3_pool (MaxPooling2D)", out, fixed = TRUE)))
  out2 <- capture.output(res <- summary(model, show_trainable = TRUE))
  expect_true(any(grepl("Trainable", out2)))
  expect_identical(res, model)
  expect_match(summary_text(lenet5()), "61,706", fixed = TRUE)
})

test_that("Python's own printing (model$summary()) reaches R's console and capture.output()", {
  skip_if_no_python()
  out <- capture.output(simple_cnn()$summary())
  expect_true(any(grepl("Total params: 28,097", out, fixed = TRUE)))
})
