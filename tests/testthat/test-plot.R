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
    plot_feature_maps = function(file) plot_feature_maps(model, images[1, , , ], 2, max_maps = 4, file = file)
  )
}

test_that("plot functions draw on the current device without `file`, write a file with one", {
  skip_if_no_python()
  for (name in names(calls <- plot_calls())) {
    d <- drawn(calls[[name]](NULL))
    expect_false(d$value$visible, label = name)
    expect_null(d$value$value, label = name)
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
    expect_error(calls[[name]](tempfile(fileext = ".txt")), paste0(name, "\\(\\): `file` must end in .png"))
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
