# One resolver for data kinds (issue 25): what fit_classifier() takes, evaluate_classifier() and
# show_batch() take too -- from R, a data frame of image files and labels among them.

test_that("a data frame of files and factor labels trains and evaluates; the factor's levels are the classes", {
  skip_if_no_python()
  photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 4)
  files <- list.files(photos, recursive = TRUE, full.names = TRUE)
  table <- data.frame(file = files, label = factor(basename(dirname(files)), levels = c("sneaker", "bag")))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  fit_classifier(model, table, epochs = 1, verbose = 0)
  ev <- evaluate_classifier(model, table)
  expect_equal(ev$n, 8)
  expect_equal(ev$class_names, c("sneaker", "bag"))
})

test_that("list(x, y) is taken by show_batch() as by fit_classifier(); other kinds get one list of what is accepted", {
  skip_if_no_python()
  x <- array(runif(4 * 28 * 28), c(4, 28, 28, 1))
  y <- factor(c("a", "b", "a", "b"))
  expect_silent(show_batch(list(x, y), n = 4))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 2)
  expect_error(fit_classifier(model, x, epochs = 1, verbose = 0),
               "R: list\\(x, y\\), labels a factor.*a data frame with file and label columns")
  d <- image_folder(example_image_folder(tempfile("p"), classes = c("Sneaker", "Bag"), n = 2), image_size = 28,
                    color_mode = "grayscale")
  expect_error(fit_classifier(model, d, epochs = 1, verbose = 0), "d\\$train to train")
})
