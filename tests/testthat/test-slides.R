# The slides' R chunks, verbatim (after library(cnnkit)), and the slides' numbers from the spec.

spec <- read_spec("models")
model_spec <- function(id) Filter(function(m) m$id == id, spec$models)[[1]]

test_that("slide chunk: conv_block pipe gives (None, 4, 4, 32)", {
  skip_if_no_python()
  out <- capture.output({
conv_block <- \(x) {
keras$layers$Conv2D(32L, tuple(3L, 3L), padding = "same")(x) |>
keras$layers$ReLU()() |>
keras$layers$MaxPool2D(tuple(2L, 2L))()
}
input <- keras$layers$Input(tuple(32L, 32L, 3L))
print(conv_block(input) |>
conv_block() |>
conv_block())
  })
  expect_match(paste(out, collapse = "\n"), "KerasTensor shape=(None, 4, 4, 32)", fixed = TRUE)
})

test_that("slide chunk: the CNN with its head has 28,097 parameters", {
  skip_if_no_python()
  out <- capture.output({
conv_block <- \(x) {
keras$layers$Conv2D(32L, tuple(3L, 3L), padding = "same")(x) |>
keras$layers$ReLU()() |>
keras$layers$MaxPool2D(tuple(2L, 2L))()
}
input <- keras$layers$Input(tuple(32L, 32L, 3L))
output <- conv_block(input) |>
conv_block() |>
conv_block() |>
keras$layers$GlobalAveragePooling2D()() |>
keras$layers$Dense(256L, activation = "relu")() |>
keras$layers$Dense(1L, activation = "sigmoid")()
model <- keras$Model(input, output)
print(model)
  })
  expect_equal(model$count_params(), model_spec("simple_cnn_slides")$total_params)
  expect_true(any(grepl("Total params: 28,097", out, fixed = TRUE)))
})

test_that("slide chunk: the MLP baseline has 3,146,498 parameters and predicts probabilities", {
  skip_if_no_python()
  out <- capture.output({
input <- keras$layers$Input(tuple(64L, 64L, 3L))
output <- input |>
keras$layers$Flatten()() |>
keras$layers$Dense(256L, activation = "relu")() |>
keras$layers$Dense(2L, activation = "softmax")()
model <- keras$Model(input, output)
print(model)
  })
  expect_true(any(grepl("Total params: 3,146,498", out, fixed = TRUE)))
  expect_equal(model$count_params(), model_spec("mlp_slides")$total_params)
  p <- model$predict(array(runif(64 * 64 * 3), c(1, 64, 64, 3)), verbose = 0L)
  expect_equal(sum(p), 1, tolerance = 1e-5)
  expect_equal(mlp_classifier()$count_params(), model$count_params())
})
