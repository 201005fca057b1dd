# The backbone's input scaling inside transfer models (from R), the adapter's momentum, and
# efficientnet_lite0()'s documented Keras way, run from its help page: classify_image()'s top 5.

spec <- read_spec("what_the_model_sees")$preprocessing

test_that("transfer_model(): a preprocessing layer that scales 0-1 images as the backbone expects", {
  skip_if_no_python()
  case <- spec$model
  keras$utils$set_random_seed(0L)
  model <- transfer_model(case$backbone, as_r_user(case$input_shape), num_classes = case$num_classes, weights = NULL)
  types <- vapply(model$layers, function(l) sub(".*\\.", "", class(l)[1]), character(1))
  expect_equal(types, unlist(spec$layer_types))
  raw <- transfer_model(model$get_layer(case$backbone), NULL, num_classes = case$num_classes, value_range = NULL)
  raw$get_layer("predictions")$set_weights(model$get_layer("predictions")$get_weights())
  x <- array(runif(2 * 32 * 32 * 3), c(2, 32, 32, 3))
  by_hand <- raw$predict(preprocess_input(x * 255, case$backbone), verbose = 0L)
  expect_equal(model$predict(x, verbose = 0L), by_hand, tolerance = 1e-4)
  file <- tempfile(fileext = ".keras")
  save_model(model, file)
  expect_equal(load_model(file)$predict(x, verbose = 0L), by_hand, tolerance = 1e-4)   # safe mode
  expect_error(transfer_model("vgg16", c(32, 32, 3), weights = NULL, value_range = c(1, 0)),
               "transfer_model\\(\\): `value_range`")
})

test_that("domain_adapted_model(): bn_momentum's default and the preprocessing layer", {
  skip_if_no_python()
  model <- domain_adapted_model("efficientnet_lite0", c(32, 32, 1), num_classes = 10, weights = NULL)
  expect_equal(model$get_layer("adapter_bn1")$momentum, spec$bn_momentum_default)
  expect_true("preprocessing" %in% vapply(model$layers, function(l) l$name, ""))
  other <- domain_adapted_model("efficientnet_lite0", c(32, 32, 1), weights = NULL, bn_momentum = 0.5,
                                preprocessing = FALSE)
  expect_equal(other$get_layer("adapter_bn2")$momentum, 0.5)
  expect_false("preprocessing" %in% vapply(other$layers, function(l) l$name, ""))
  expect_error(domain_adapted_model("efficientnet_lite0", c(32, 32, 1), weights = NULL, bn_momentum = 1),
               "domain_adapted_model\\(\\): `bn_momentum`")
})

test_that("efficientnet_lite0()'s documented Keras way gives classify_image()'s top 5", {
  skip_if_no_python()
  rd <- tools::Rd_db("cnnkit")[["efficientnet_lite0.Rd"]]
  ex <- tempfile(fileext = ".R")
  tools::Rd2ex(rd, ex, commentDontrun = FALSE)
  lines <- readLines(ex)
  start <- grep("^photo <- ", lines)
  expect_length(start, 1)
  code <- lines[(start + 1):length(lines)]
  code <- code[!grepl("^##|^\\}|^$", code)]
  expect_true(any(grepl("CenterCrop", code)))
  photos <- file.path(reticulate::import("skimage.data")$`__file__` |> dirname(), unlist(spec$photos))
  for (photo in photos) {
    env <- new.env(parent = globalenv())
    assign("photo", photo, envir = env)
    documented <- eval(parse(text = code), envir = env)      # the last line: top5$class_name
    expect_equal(documented, classify_image(photo, top = 5)$class_name, label = basename(photo))
  }
})
