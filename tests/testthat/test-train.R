test_that("compile_classifier() picks the loss from the output layer, from R", {
  skip_if_no_python()
  expect_equal(compile_classifier(simple_cnn())$loss, "binary_crossentropy")
  m <- lenet5()
  expect_invisible(compile_classifier(m, learning_rate = 0.01))
  expect_equal(m$loss, "sparse_categorical_crossentropy")
  expect_error(compile_classifier(simple_cnn(), learning_rate = -1), "`learning_rate`")
})
