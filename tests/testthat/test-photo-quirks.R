# Photos as phones and editors write them (tests/spec/photo_quirks.py: one picture as EXIF-turned
# copies in all 8 orientations, 16-bit PNG and TIFF, palettes, transparency hiding a colour, CMYK
# JPEG, WebP, TIFF, an animated GIF, ...) through the R functions: load_images() gives the pixels a
# viewer shows, predict_classes() the probabilities of the plain PNG, classify_image() its class.

quirks_module <- function() reticulate::import_from_path("photo_quirks", test_path("..", "spec"))

# Within the variant's tolerance: a mean difference under 3/255 (lossy) or a largest one of a level.
expect_within <- function(x, reference, lossy, label) {
  expect_equal(dim(x), dim(reference), label = label)
  d <- abs(x - reference)
  if (lossy) expect_lt(mean(d), 3 / 255, label = label) else expect_lte(max(d), 1.01 / 255, label = label)
}

test_that("load_images() reads every photo quirk as a viewer shows it", {
  skip_if_no_python()
  Q <- quirks_module()
  made <- Q$make(tempfile("quirks"))
  names <- names(made)
  files <- unname(vapply(made, function(m) m$path, character(1)))
  x <- load_images(files, c(48, 64))                 # the picture's own size: no resize
  grey <- load_images(files, c(48, 64), "grayscale")
  expect_equal(dim(x), c(length(files), 48, 64, 3))
  for (i in seq_along(names)) {
    ref <- made[[i]]$reference
    expect_within(x[i, , , ], ref, made[[i]]$lossy, names[i])
    ref_grey <- Q$luma(ref * 255) / 255              # ITU-R 601 luma
    expect_within(grey[i, , , 1], ref_grey, made[[i]]$lossy, paste(names[i], "grayscale"))
  }
  # a portrait photo stored sideways (EXIF orientation 6) comes out upright, 48 x 64
  turned <- load_images(made$jpeg_exif_6$path, c(48, 64))
  expect_lt(mean(abs(turned[1, , , ] - made$png$reference)), 3 / 255)
  # transparent pixels are white, not the magenta stored under them
  rgba <- load_images(made$rgba$path, c(48, 64))[1, , , ]
  expect_equal(rgba[1, 64, ], c(1, 1, 1))
})

test_that("predict_classes() gives each quirk the probabilities of its plain PNG", {
  skip_if_no_python()
  Q <- quirks_module()
  folder <- tempfile("quirks")
  made <- Q$make(folder, names = c("png", "jpeg_exif_3", "jpeg_exif_8", "png16_rgb", "png16_grey", "rgba",
                                   "palette_transparent", "webp", "tiff", "gif_animated"))
  model <- load_model(Q$linear_model(file.path(folder, "quirks.keras"), c(24L, 32L)))
  files <- unname(vapply(made, function(m) m$path, character(1)))
  p <- predict_classes(model, files, verbose = 0)
  ref <- predict_classes(model, unlist(Q$shown(made)), verbose = 0)
  expect_equal(p$file, files)
  lossy <- vapply(made, function(m) m$lossy, logical(1))
  far <- apply(abs(attr(p, "probabilities") - attr(ref, "probabilities")), 1, max)
  expect_true(all(far < ifelse(lossy, 0.03, 0.01)), label = paste(names(made), round(far, 4), collapse = ", "))
  expect_equal(as.character(p$label), as.character(ref$label))
})

test_that("classify_image() gives a turned, a 16-bit and a CMYK copy of a photo its class", {
  skip_if_no_python()
  Q <- quirks_module()
  made <- Q$make(tempfile("photo"), names = c("png", "jpeg_exif_6", "png16_rgb", "jpeg_cmyk"), base = Q$photo())
  files <- unname(vapply(made, function(m) m$path, character(1)))
  top <- classify_image(files, top = 1)
  expect_equal(top$image, files)
  expect_equal(top$class_name, rep("espresso", 4))
  expect_equal(length(unique(top$class_id)), 1)
  lossy <- vapply(made, function(m) m$lossy, logical(1))
  expect_true(all(abs(top$probability - top$probability[1]) < ifelse(lossy, 0.06, 0.01)))
})
