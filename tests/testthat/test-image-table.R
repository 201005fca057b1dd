# Labels from a table (image_table(), train_classifier(labels =)) and the folder rules seen from R:
# split folders, subset, hidden files (issue 24, items 3 and 6).

table_photos <- function() {
  root <- tempfile("photos")
  example_image_folder(root, classes = c("Sneaker", "Bag", "Dress"), n = 4)
  root
}

test_that("image_table() reads a data frame; a factor's levels are the class order; NA labels are counted", {
  skip_if_no_python()
  root <- table_photos()
  files <- list.files(root, recursive = TRUE)
  tab <- data.frame(file = files, label = factor(dirname(files), levels = c("sneaker", "dress", "bag")))
  d <- image_table(tab, path = root, image_size = 16, color_mode = "grayscale", batch_size = 4)
  expect_equal(d$class_names, c("sneaker", "dress", "bag"))
  expect_equal(d$num_train, 12)
  expect_null(d$test)
  ids <- unlist(d$train$labels)
  got <- sort(paste(basename(dirname(unlist(d$train$files))), ids))
  expect_equal(got, sort(paste(as.character(tab$label), as.integer(tab$label) - 1L)))
  tab$label[2] <- NA
  expect_warning(d <- image_table(tab, path = root, image_size = 16), "skipped 1 file\\(s\\): 1 without a label")
  expect_equal(d$num_train, 11)
  # numbers as labels: sorted as numbers, names as text
  num <- data.frame(file = files, label = c(10, 2, 1)[as.integer(factor(dirname(files)))])
  expect_equal(image_table(num, path = root, image_size = 16)$class_names, c("1", "2", "10"))
  expect_error(image_table(tab, path = root, label_column = "class"),
               "`label_column` \"class\" is not a column of `table`; its columns are c\\(\"file\", \"label\"\\)")
})

test_that("image_table() reads a CSV file, relative to its folder; subset keeps every class", {
  skip_if_no_python()
  root <- table_photos()
  files <- list.files(root, recursive = TRUE)
  csv <- file.path(dirname(root), "labels.csv")
  write.csv(data.frame(file = file.path(basename(root), files), label = dirname(files)), csv, row.names = FALSE)
  d <- image_table(csv, image_size = 16, subset = 6, seed = 1)
  expect_equal(d$class_names, c("bag", "dress", "sneaker"))
  expect_equal(sort(unlist(d$train$labels)), c(0, 0, 1, 1, 2, 2))
})

test_that("image_folder(): split folders, hidden files, subset", {
  skip_if_no_python()
  root <- tempfile("split")
  example_image_folder(file.path(root, "train"), classes = c("Sneaker", "Bag"), n = 6)
  example_image_folder(file.path(root, "test"), classes = c("Sneaker", "Bag"), n = 2, seed = 1)
  dir.create(file.path(root, "train", "bag", ".ipynb_checkpoints"))
  file.copy(file.path(root, "train", "bag", "img_001.png"), file.path(root, "train", "bag", ".ipynb_checkpoints"))
  expect_warning(d <- image_folder(root, image_size = 16, subset = 4),
                 "1 hidden \\(a name starting with '.', or __MACOSX\\): train/bag/.ipynb_checkpoints/")
  expect_equal(d$class_names, c("bag", "sneaker"))
  expect_equal(c(d$num_train, d$num_validation, d$num_test), c(4, 0, 4))
  expect_null(d$validation)
  expect_error(suppressWarnings(image_folder(root, validation_split = 0.2, subset = 1)), "`subset` 1 is less than")
})

test_that("train_classifier(labels = a data frame) trains on the table and tests on a fifth of it", {
  skip_if_no_python()
  root <- table_photos()
  files <- list.files(root, recursive = TRUE)
  tab <- data.frame(file = files, label = dirname(files))
  run <- tempfile("run")
  r <- train_classifier("simple_cnn", data = root, labels = tab, epochs = 1, image_size = 16, run_dir = run,
                        verbose = 0)
  expect_equal(r$evaluation$n, 2)  # 20% of 12
  expect_true(file.exists(file.path(run, "model.keras")))
  expect_error(train_classifier("simple_cnn", labels = 3, epochs = 1), "train_classifier\\(\\): `labels` must be")
})
