# Data from R: Fashion-MNIST as R arrays with factor labels; image folders (with a corrupt file).

fm_spec <- read_spec("training")$fashion_mnist

test_that("load_fashion_mnist() gives R arrays, factor labels and the class names", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 100, n_test = 50)
  expect_equal(dim(fm$x_train), c(100, as_r_user(fm_spec$image_shape)))
  expect_equal(dim(fm$x_test), c(50, 28, 28, 1))
  expect_true(is.double(fm$x_train) && min(fm$x_train) >= 0 && max(fm$x_train) <= 1)
  expect_s3_class(fm$y_train, "factor")
  expect_equal(levels(fm$y_train), unlist(fm_spec$class_names))
  expect_equal(fm$class_names, unlist(fm_spec$class_names))
  expect_match(fm$source, "^debian:")
  full <- load_fashion_mnist(n_test = 10)
  expect_equal(as.integer(full$y_train[1:10]) - 1L, as.integer(unlist(fm_spec$first_train_labels)))
})

test_that("load_fashion_mnist() options: pad, channels, a 2-class subset", {
  skip_if_no_python()
  d <- load_fashion_mnist(pad = TRUE, channels = 3, classes = c(0, 9), n = 40, n_test = 20)
  expect_equal(dim(d$x_train), c(40, 32, 32, 3))
  expect_equal(levels(d$y_train), c("T-shirt/top", "Ankle boot"))
  expect_true(all(d$x_train[, 1:2, , ] == 0))                # the padding
  expect_equal(d$x_train[, , , 1], d$x_train[, , , 3])       # gray repeated
  named <- load_fashion_mnist(classes = c("Bag", "Sandal"), n = 10)
  expect_equal(levels(named$y_train), c("Bag", "Sandal"))
  expect_error(load_fashion_mnist(channels = 2), "`channels`")
  expect_error(load_fashion_mnist(classes = 3), "`classes`")
  expect_error(load_fashion_mnist(n = 0), "`n`")
})

write_folder <- function(root) {
  # real Fashion-MNIST images written as PNG and JPEG by Pillow, a truncated JPEG and a text file
  fm <- load_fashion_mnist(classes = c(0, 9), n = 200, normalize = FALSE)
  pil <- reticulate::import("PIL.Image")
  np <- reticulate::import("numpy", convert = FALSE)
  for (cls in c("shirts", "boots")) dir.create(file.path(root, cls), recursive = TRUE)
  for (i in 1:5) {
    for (k in 1:2) {
      img <- fm$x_train[which(as.integer(fm$y_train) == k)[i], , , 1]
      ext <- if (i %% 2 == 0) "jpg" else "png"
      pil$fromarray(np$array(img, dtype = "uint8"))$save(file.path(root, c("shirts", "boots")[k], paste0(i, ".", ext)))
    }
  }
  jpg <- readBin(file.path(root, "shirts", "2.jpg"), "raw", 10000)
  writeBin(jpg[1:150], file.path(root, "shirts", "broken.jpg"))
  writeLines("not an image", file.path(root, "boots", "notes.txt"))
}

test_that("image_folder() reads class folders, skips bad files with a counted warning", {
  skip_if_no_python()
  root <- file.path(tempfile("photos"))
  write_folder(root)
  expect_warning(d <- image_folder(root, image_size = 28, color_mode = "grayscale", batch_size = 4,
                                   validation_split = 0.2),
                 "skipped 2 file\\(s\\)")
  expect_equal(d$class_names, c("boots", "shirts"))
  expect_equal(d$num_train + d$num_validation, 10)
  expect_equal(sort(basename(unlist(d$skipped))), c("broken.jpg", "notes.txt"))
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 2)
  h <- fit_classifier(model, d$train, epochs = 1, validation_data = d$validation, verbose = 0)
  expect_equal(h$epoch, 1)
  x <- load_images(file.path(root, "boots", c("1.png", "2.jpg")), 28, "grayscale")
  expect_equal(dim(x), c(2, 28, 28, 1))
})

test_that("image_folder(): empty folder, one class, missing path are clear errors; R carries on", {
  skip_if_no_python()
  expect_error(image_folder(file.path(tempdir(), "no-such-folder")), "`path` .* does not exist")
  empty <- tempfile("empty")
  dir.create(empty)
  expect_error(image_folder(empty), "no readable images")
  one <- tempfile("one")
  write_folder(one)
  unlink(file.path(one, "boots"), recursive = TRUE)
  expect_error(suppressWarnings(image_folder(one)), "one class only")
  expect_error(image_folder(one, validation_split = 2), "`validation_split`")
  expect_equal(simple_cnn()$count_params(), 28097)
})
