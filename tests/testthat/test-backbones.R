# The backbone registry and offline-first weights, from R (no downloads: weights = NULL or files
# the tests write; the network is made absent deterministically by pointing downloads at a local
# address that refuses connections).

spec <- read_spec("transfer")
backbone_names <- setdiff(names(spec$backbones), "_about")
unreachable <- "http://127.0.0.1:9/keras-weights"

# Python's os.environ is a copy taken when Python started: set the variable there, then restore it.
with_py_env <- function(name, value, code) {
  environ <- reticulate::import("os", convert = FALSE)$environ
  old <- reticulate::py_to_r(environ$get(name))
  reticulate::py_set_item(environ, name, value)
  on.exit(if (is.null(old)) reticulate::py_del_item(environ, name) else
    reticulate::py_set_item(environ, name, old), add = TRUE)
  code
}

expect_short_error <- function(err, parts) {
  expect_s3_class(err, "error")
  for (part in parts) expect_match(conditionMessage(err), part, fixed = TRUE)
  expect_null(conditionCall(err))
  expect_false(grepl("Traceback|Detailed traceback", conditionMessage(err)))
}

test_that("list_backbones() is a data.frame with every registry entry", {
  skip_if_no_python()
  tab <- list_backbones()
  expect_s3_class(tab, "data.frame")
  expect_true(all(backbone_names %in% tab$name))
  expect_true(all(c("factory", "min_size", "channels", "preprocessing", "last_block", "weights_file",
                    "hash", "cached") %in% names(tab)))
  expect_type(tab$cached, "logical")
  expect_equal(tab$min_size[tab$name == "vgg16"], 32)
  for (name in backbone_names) {
    expect_equal(strsplit(tab$last_block[tab$name == name], ", ")[[1]],
                 unlist(spec$backbones[[name]]$last_block))
  }
})

test_that("backbone() builds from R numbers; names ignore case and underscores", {
  skip_if_no_python()
  vgg <- backbone("VGG16", c(32, 32, 3), weights = NULL)
  expect_equal(vgg$count_params(), spec$backbones$vgg16$params_notop_32)
  expect_equal(length(vgg$layers), spec$backbones$vgg16$layers)
  mobile <- backbone("MobileNetV2", c(32, 32, 3), weights = NULL, trainable = FALSE)
  expect_equal(mobile$count_params(), spec$backbones$mobilenet_v2$params_notop_32)
  expect_equal(sum(trainable_layers(mobile)$trainable_params), 0)
})

test_that("the slides' VGG16 summary: 138,357,544 parameters with the top at 224x224", {
  skip_if_no_python()
  vgg <- backbone("vgg16", as_r_user(spec$vgg16_slides$input_shape), weights = NULL, include_top = TRUE)
  expect_equal(vgg$count_params(), spec$vgg16_slides$total_params)
  expect_true(any(grepl("Total params: 138,357,544", capture.output(print(vgg)), fixed = TRUE)))
  for (layer in names(spec$vgg16_slides$layer_params)) {
    expect_equal(vgg$get_layer(layer)$count_params(), spec$vgg16_slides$layer_params[[layer]])
  }
})

test_that("weights from a file the test wrote; another architecture's file is a clear error", {
  skip_if_no_python()
  path <- tempfile(fileext = ".weights.h5")
  other <- tempfile(fileext = ".weights.h5")
  on.exit(unlink(c(path, other)), add = TRUE)
  source <- backbone("vgg16", c(32, 32, 3), weights = NULL)
  source$save_weights(path)
  loaded <- backbone("vgg16", c(32, 32, 3), weights = path)
  expect_equal(loaded$get_layer("block5_conv3")$get_weights()[[1]],
               source$get_layer("block5_conv3")$get_weights()[[1]])
  backbone("resnet50", c(32, 32, 3), weights = NULL)$save_weights(other)
  err <- tryCatch(backbone("vgg16", c(32, 32, 3), weights = other), error = identity)
  expect_short_error(err, c("backbone(): `weights` file", 'does not fit "vgg16"', "another architecture"))
})

test_that("weights = 'imagenet' offline: one paragraph naming the file, the cache and the fixes", {
  skip_if_no_python()
  err <- with_py_env("CNNKIT_WEIGHTS_URL", unreachable,
                     tryCatch(backbone("vgg16", c(32, 32, 3), weights = "imagenet"), error = identity))
  expect_short_error(err, c("backbone():", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                            "not in the Keras cache", 'prefetch_weights("vgg16")', "~/.keras/models",
                            "weights = "))
  expect_false(grepl("\n", conditionMessage(err)))
  err <- with_py_env("CNNKIT_WEIGHTS_URL", unreachable,
                     tryCatch(transfer_model("vgg16", c(32, 32, 3)), error = identity))
  expect_short_error(err, c("transfer_model():", 'prefetch_weights("vgg16")'))
  err <- with_py_env("CNNKIT_WEIGHTS_URL", unreachable,
                     tryCatch(prefetch_weights("convnext_tiny"), error = identity))
  expect_short_error(err, c("prefetch_weights():", "convnext_tiny_notop.h5"))
  expect_equal(simple_cnn()$count_params(), 28097)  # the session goes on
})

test_that("prefetch_weights() verifies the hash Keras publishes and removes a wrong file", {
  skip_if_no_python()
  mirror <- tempfile("mirror")
  dir.create(mirror)
  on.exit(unlink(mirror, recursive = TRUE), add = TRUE)
  fname <- list_backbones()$weights_file[list_backbones()$name == "vgg16"]
  backbone("vgg16", c(32, 32, 3), weights = NULL)$save_weights(file.path(mirror, "x.weights.h5"))
  file.rename(file.path(mirror, "x.weights.h5"), file.path(mirror, fname))
  url <- paste0("file://", normalizePath(mirror))
  err <- with_py_env("CNNKIT_WEIGHTS_URL", url, tryCatch(prefetch_weights("vgg16"), error = identity))
  expect_short_error(err, c("prefetch_weights():", "does not match the hash Keras publishes"))
  expect_false(list_backbones()$cached[list_backbones()$name == "vgg16"])
})

test_that("bad input (shared spec): short errors naming the argument; the session survives", {
  skip_if_no_python()
  for (case in spec$bad_input) {
    fn <- get(case$call, envir = asNamespace("cnnkit"))
    err <- tryCatch({ do.call(fn, as_r_user(case$args)); NULL }, error = identity)
    expect_short_error(err, c(paste0(case$call, "()"), unlist(case$error_names)))
  }
  err <- tryCatch(register_backbone("vgg16", keras$applications$VGG16, identity), error = identity)
  expect_short_error(err, c("register_backbone()", "`name`", "already registered"))
  expect_equal(backbone("vgg16", c(32, 32, 3), weights = NULL)$count_params(),
               spec$backbones$vgg16$params_notop_32)
})

test_that("preprocess_input() applies the backbone's convention to R arrays", {
  skip_if_no_python()
  x <- array(255, c(1, 4, 4, 3))
  expect_equal(as.vector(preprocess_input(x, "mobilenet_v2")), rep(1, 48), tolerance = 1e-6)
  caffe <- preprocess_input(array(0, c(1, 2, 2, 3)), "vgg16")
  expect_equal(caffe[1, 1, 1, ], c(-103.939, -116.779, -123.68), tolerance = 1e-5)
  expect_equal(x[1, 1, 1, 1], 255)
})
