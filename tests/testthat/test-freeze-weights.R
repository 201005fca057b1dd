# keras3's freeze_weights() / unfreeze_weights() (issue 25, item 2): the expectations of keras3's own
# tests/testthat/test-freeze.R (rstudio/keras3, read 2026-12), on the same models, written here with
# keras$ calls instead of keras3's layer_*() functions; then what differs from cnnkit's freeze().
# Python runs the same expectations in tests/python/test_freeze.py.

keras3_freeze_model <- function() {
  keras$Sequential(list(
    keras$Input(tuple(784L)),
    keras$layers$Dense(32L, kernel_initializer = "ones", name = "input"),
    keras$layers$Activation("relu", name = "relu_activation"),
    keras$layers$Dense(10L, name = "dense"),
    keras$layers$Activation("softmax", name = "softmax_activation")))
}

test_that("keras3's expectations: the whole model, indexes, names", {
  skip_if_no_python()
  model <- keras3_freeze_model()
  freeze_weights(model)
  expect_length(model$trainable_weights, 0)
  unfreeze_weights(model)
  expect_length(model$trainable_weights, 4)
  model <- keras3_freeze_model()
  freeze_weights(model, from = 2, to = 3)
  expect_length(model$trainable_weights, 2)
  model <- keras3_freeze_model()
  freeze_weights(model, from = "dense")
  expect_length(model$trainable_weights, 2)
})

test_that("keras3's expectations: which", {
  skip_if_no_python()
  layers <- c(list(keras$Input(tuple(32L)), keras$layers$Dense(32L, name = "input"),
                   keras$layers$Activation("relu", name = "relu_activation")),
              lapply(1:5, function(i) keras$layers$Dense(10L, name = paste0("dense", i))),
              list(keras$layers$Activation("softmax", name = "softmax_activation")))
  model <- keras$Sequential(layers)
  freeze_weights(model, from = -2)
  expect_length(model$non_trainable_weights, 2)  # kernel + bias of the last dense layer
  freeze_weights(model, from = -3)
  expect_length(model$non_trainable_weights, 4)
  freeze_weights(model, from = -4, to = -3)
  expect_length(model$non_trainable_weights, 4)
  freeze_weights(model, which = ~ grepl("^dense", .x$name))
  expect_length(model$trainable_weights, 2)      # just the first dense layer
  unfreeze_weights(model, which = ~ grepl("^dense", .x$name))
  expect_length(model$non_trainable_weights, 2)
  unfreeze_weights(model, which = c(6, 7))
  expect_length(model$trainable_weights, 4)
  unfreeze_weights(model, which = c("dense1", "dense2"))
  expect_length(model$trainable_weights, 4)
  freeze_weights(model, which = c(6, 7))
  expect_length(model$non_trainable_weights, 4)
  freeze_weights(model, which = c("dense1", "dense2"))
  expect_length(model$non_trainable_weights, 4)
  freeze_weights(model, which = list(3, "dense3"))
  expect_length(model$non_trainable_weights, 4)
})

test_that("freeze_weights() resets the layers outside its range; freeze() keeps them", {
  skip_if_no_python()
  model <- keras3_freeze_model()
  freeze(model)
  freeze(model, from = "dense")
  expect_length(model$trainable_weights, 0)              # cnnkit: the others stay frozen
  freeze_weights(model, from = model$layers[[3]])        # a layer as `from`, as keras3 takes
  expect_equal(trainable_layers(model)$trainable, c(TRUE, TRUE, FALSE, FALSE))
  unfreeze_weights(model, which = c(TRUE, FALSE, FALSE, FALSE))
  expect_equal(trainable_layers(model)$trainable, c(TRUE, FALSE, FALSE, FALSE))
  unfreeze_weights(model, which = function(layer) layer$name == "dense")
  expect_equal(trainable_layers(model)$trainable, c(FALSE, FALSE, TRUE, FALSE))
})

test_that("freeze_weights() errors name the argument in R's terms", {
  skip_if_no_python()
  model <- keras3_freeze_model()
  expect_error(freeze_weights(model, which = 9), "freeze_weights\\(\\): `which` position 9 is out of range.*1\\.\\.4")
  expect_error(freeze_weights(model, which = 0), "`which` position 0 is not a layer position")
  expect_error(freeze_weights(model, which = "dens"), "`which` .dens. is not a layer.*dense")
  expect_error(freeze_weights(model, which = c(TRUE, FALSE)), "2 TRUE/FALSE values but the model has 4 layers")
  expect_error(freeze_weights(model, which = ~ NA), "must return TRUE or FALSE")
  expect_error(freeze_weights(model, which = 1, from = 2), "either `which` or a range \\(from/to\\)")
  expect_error(freeze_weights(model, from = 3, to = 2), "`from` \\(layer 3, dense\\) comes after `to`")
  expect_error(unfreeze_weights(model, to = 5), "`to` = 5 is out of range")
})
