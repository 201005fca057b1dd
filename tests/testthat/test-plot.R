# The plotting convention (R/plot.R; Python: tests/python/test_plots.py): with `file = NULL` a plot
# is drawn on the current graphics device (a raster grob of the matplotlib figure), with a file name
# the file is written and its path returned invisibly.

history_df <- function() {
  data.frame(epoch = 1:3, loss = c(0.9, 0.6, 0.5), accuracy = c(0.6, 0.8, 0.85),
             val_loss = c(1, 0.7, 0.65), val_accuracy = c(0.55, 0.75, 0.8))
}

# Run `expr` with a fresh pdf device; the raster grobs drawn on it and the pdf's bytes.
drawn <- function(expr) {
  file <- tempfile(fileext = ".pdf")
  grDevices::pdf(file, width = 7, height = 5)
  value <- withVisible(force(expr))
  grobs <- grid::grid.ls(print = FALSE)$name
  rasters <- lapply(grep("rastergrob", grobs, value = TRUE), function(n) grid::grid.get(n)$raster)
  grDevices::dev.off()
  list(value = value, rasters = rasters, pdf = readBin(file, "raw", file.size(file)))
}

plot_calls <- function() {
  images <- array(runif(3 * 16 * 16), c(3, 16, 16, 1))
  model <- simple_cnn(c(16, 16, 1), blocks = 1, filters = 4, units = 8, num_classes = 3)
  aug <- augmentation(rotate = 0.1, seed = 1)
  list(
    plot_history = function(file) plot_history(history_df(), file = file),
    plot_confusion_matrix = function(file) plot_confusion_matrix(matrix(c(5, 2, 1, 7), 2), file = file),
    plot_augmentation = function(file) plot_augmentation(images[1:2, , , , drop = FALSE], aug, n = 2, file = file),
    plot_feature_maps = function(file) plot_feature_maps(model, images[1, , , ], 2, max_maps = 4, file = file),
    show_batch = function(file) show_batch(images, factor(c("a", "b", "a")), file = file),
    plot.cnnkit_history = function(file) plot(structure(history_df(), class = c("cnnkit_history", "data.frame")), file = file)
  )
}

test_that("plot functions draw on the current device without `file`, write a file with one", {
  skip_if_no_python()
  for (name in names(calls <- plot_calls())) {
    d <- drawn(calls[[name]](NULL))
    expect_false(d$value$visible, label = name)
    if (startsWith(name, "plot.")) expect_s3_class(d$value$value, "cnnkit_history") else expect_null(d$value$value, label = name)
    expect_length(d$rasters, 1)
    r <- d$rasters[[1]]
    expect_s3_class(r, "raster")
    expect_gt(nrow(r), 300)  # rendered at 150 dpi
    expect_true(any(r != "#FFFFFFFF"), label = paste(name, "draws something"))
    expect_true(length(grepRaw("/Subtype /Image", d$pdf, fixed = TRUE)) > 0, label = paste(name, "embeds an image"))
    file <- tempfile(fileext = ".png")
    out <- withVisible(calls[[name]](file))
    expect_false(out$visible)
    expect_identical(out$value, file)
    expect_identical(readBin(file, "raw", 4), as.raw(c(0x89, 0x50, 0x4e, 0x47)))
    expect_error(calls[[name]](tempfile(fileext = ".txt")), "\\w\\(\\): `file` must end in .png")
  }
})

test_that("draw_figure() draws any matplotlib figure and explains a wrong argument", {
  skip_if_no_python()
  fig <- py_cnnkit()$plot_confusion_matrix(matrix(c(5L, 2L, 1L, 7L), 2))
  d <- drawn(draw_figure(fig, dpi = 50))
  size <- as.numeric(fig$get_size_inches())
  expect_equal(dim(d$rasters[[1]]), round(rev(size) * 50))
  expect_error(draw_figure(1), "draw_figure\\(\\): `figure` must be a matplotlib Figure.*got 1\\.")
  expect_error(draw_figure(fig, dpi = 0), "draw_figure\\(\\): `dpi`")
})

test_that("a training history is a data frame of class cnnkit_history that prints and plots", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 200, n_test = 60)
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
  h <- fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 2, validation_split = 0.25, verbose = 0)
  expect_s3_class(h, c("cnnkit_history", "data.frame"), exact = TRUE)
  expect_equal(h$epoch, c(1, 2))
  out <- capture.output(print(h))
  expect_identical(out[1], "Training history: 2 epochs (plot() draws it)")
  expect_identical(strsplit(trimws(out[2]), " +")[[1]], names(h))
  expect_length(out, 4)
  expect_s3_class(h[, c("epoch", "loss")], "cnnkit_history")  # subsets and rbind() keep the class
  expect_s3_class(rbind(h, h), "cnnkit_history")
  d <- drawn(plot(h))
  expect_length(d$rasters, 1)
  expect_identical(d$value$value, h)
  # a long history shows its first and last epochs
  long <- h[rep(1:2, 15), ]
  long$epoch <- 1:30
  out <- capture.output(print(long, n = 6))
  expect_identical(out[1], "Training history: 30 epochs (plot() draws it)")
  expect_length(out, 2 + 6 + 1)
  expect_true("... (24 more epochs)" %in% out)
  expect_match(out[length(out)], "^ +30 ")
  # fine_tune()'s and train_classifier()'s histories are of the same class
  expect_s3_class(cnnkit:::as_r_history(list(epoch = list(1, 2), phase = list("head", "fine_tune"), loss = list(1, 0.5))),
                  "cnnkit_history")
})

test_that("an evaluation prints Python's report (with macro and weighted averages) and plots its matrix", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 200, n_test = 60)
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
  fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, verbose = 0)
  ev <- evaluate_classifier(model, list(fm$x_test, fm$y_test))
  py <- py_cnnkit()$evaluate_classifier(model, cnnkit:::as_py_data(list(fm$x_test, fm$y_test)))
  # Python's str() (reticulate's py_str() abbreviates a dict of more than 10 items, as an evaluation is)
  report <- strsplit(reticulate::import_builtins()$str(py), "\n")[[1]]
  expect_identical(capture.output(print(ev)), report)
  expect_identical(ev$averages$average, c("macro", "weighted"))
  occurs <- (rowSums(ev$confusion_matrix) + colSums(ev$confusion_matrix)) > 0
  expect_equal(ev$averages$recall[1], mean(ev$per_class$recall[occurs]))
  expect_equal(ev$averages$f1[2], sum(ev$per_class$f1 * ev$per_class$support) / 60)
  expect_true(any(startsWith(report, "macro avg")) && any(startsWith(report, "weighted avg")))
  # an evaluation made before the averages were reported computes them the same way
  old <- ev
  old$averages <- NULL
  expect_identical(capture.output(print(old)), report)
  d <- drawn(plot(ev))
  expect_length(d$rasters, 1)
  file <- tempfile(fileext = ".png")
  expect_identical(plot(ev, file = file), file)
})

test_that("show_batch() titles images with factor levels, folder class names or ids", {
  skip_if_no_python()
  fm <- load_fashion_mnist(n = 30)
  titles <- function(...) {
    fig <- py_cnnkit()$show_batch(...)
    vapply(Filter(function(ax) length(ax$images) > 0, fig$axes), function(ax) ax$get_title(), "")
  }
  expect_length(drawn(show_batch(fm$x_train, fm$y_train, n = 9))$rasters, 1)
  # what the R wrapper sends: factor levels as the class names, 0-based ids
  py_titles <- titles(fm$x_train[1:5, , , , drop = FALSE], labels = cnnkit:::as_py_array(cnnkit:::as_py_labels(fm$y_train[1:5])),
                      class_names = as.list(levels(fm$y_train)))
  expect_identical(py_titles, as.character(fm$y_train[1:5]))
  photos <- example_image_folder(tempfile("photos"), classes = c("Sneaker", "Bag"), n = 3)
  expect_identical(sort(list.files(photos, recursive = TRUE)),
                   c(paste0("bag/img_00", 1:3, ".png"), paste0("sneaker/img_00", 1:3, ".png")))
  folder <- image_folder(photos, image_size = 28)
  expect_identical(folder$class_names, c("bag", "sneaker"))
  expect_length(drawn(show_batch(folder, n = 6))$rasters, 1)
  file <- tempfile(fileext = ".png")
  expect_identical(show_batch(list(fm$x_train, fm$y_train), n = 4, file = file), file)
  expect_error(show_batch(fm$x_train, fm$y_train[1:3]), "show_batch\\(\\): `labels` must hold one label per image \\(30\\)")
  expect_error(show_batch(fm$x_train, n = 40), "show_batch\\(\\): `n` = 40 is more than the limit of 32")
  expect_error(example_image_folder(photos), "example_image_folder\\(\\): `path` .* is not empty.*overwrite = TRUE")
})

test_that("plots drawn from R leave no matplotlib figure open, also after an error (issue 25)", {
  skip_if_no_python()
  plt <- reticulate::import("matplotlib.pyplot")
  before <- length(plt$get_fignums())
  cm <- matrix(c(5, 2, 1, 7), 2)
  for (i in 1:22) drawn(plot_confusion_matrix(cm))                     # more than matplotlib's 20
  expect_error(plot_confusion_matrix(cm, file = "cm.txt"), "`file`")
  expect_error(plot_confusion_matrix(cm, class_names = c("a", "b", "c")), "class_names")
  fig <- cnnkit:::cnnkit_call("plot_confusion_matrix", cm)   # what every plot wrapper gets from Python
  expect_null(fig$canvas$manager)   # never pyplot's: nothing left open whatever happens before it is drawn
  expect_equal(length(plt$get_fignums()), before)
})
