# Crafted files (tests/spec/fuzz_files.json) through the R functions: a clear R error naming the
# argument, a counted skip, or a correct result; every case within max_seconds, and the bombs with
# the address space limited and the peak memory checked.

spec <- read_spec("fuzz_files")
cases <- Filter(function(c) "r" %in% unlist(c$languages %||% list("python", "r")), spec$cases)
luma <- c(0.2989, 0.5870, 0.1140)  # tf.image.rgb_to_grayscale

crafted <- function() reticulate::import_from_path("crafted_files", test_path("..", "spec"))

case_label <- function(case) {
  paste0(case$call, "(", case$file, if (identical(case$args$color_mode, "grayscale")) ", grayscale", ")")
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# Evaluate `expr` with the address space limited to the current size + `headroom_mb` MiB, so that a
# bomb that is not refused fails to allocate instead of taking the machine's memory.
with_address_limit <- function(expr, headroom_mb) {
  resource <- reticulate::import("resource")
  status <- readLines("/proc/self/status")
  vm <- as.numeric(sub("\\D*(\\d+).*", "\\1", grep("^VmSize:", status, value = TRUE))) * 1024
  old <- resource$getrlimit(resource$RLIMIT_AS)
  resource$setrlimit(resource$RLIMIT_AS, tuple(reticulate::import_builtins()$int(vm + headroom_mb * 2^20), old[[2]]))
  on.exit(resource$setrlimit(resource$RLIMIT_AS, old))
  expr
}

peak_rss_mb <- function() {
  resource <- reticulate::import("resource")
  resource$getrusage(resource$RUSAGE_SELF)$ru_maxrss / 1024
}

small_model <- function(folder) load_model(crafted()$good_model(folder))

# Call the R function of `case` on the crafted path; return list(status, message, warnings, result).
run_case <- function(case, folder) {
  made <- crafted()$make(case$file, folder)
  path <- made$path
  args <- as_r_user(case$args %||% list())
  if (length(case$env)) {
    old_env <- Sys.getenv(names(case$env), unset = NA, names = TRUE)
    do.call(Sys.setenv, case$env)
    on.exit(for (n in names(old_env)) if (is.na(old_env[[n]])) Sys.unsetenv(n) else
      do.call(Sys.setenv, stats::setNames(list(old_env[[n]]), n)), add = TRUE)
  }
  if (case$call == "image_folder") {
    root <- file.path(folder, "photos")
    crafted()$good_images(root)
    file.rename(path, file.path(root, "a", basename(path)))
    path <- root
  }
  model <- if (case$call %in% c("predict_classes", "feature_maps", "plot_feature_maps")) small_model(folder)
  fashion <- NULL
  if (case$call == "load_fashion_mnist") {
    fashion <- reticulate::import("cnnkit.data")
    old_dir <- fashion$DEBIAN_DIR
    fashion$`_read_folder`$cache_clear()
    reticulate::py_set_attr(fashion, "DEBIAN_DIR", path)
    on.exit({ reticulate::py_set_attr(fashion, "DEBIAN_DIR", old_dir); fashion$`_read_folder`$cache_clear() }, add = TRUE)
  }
  call <- function() switch(case$call,
    load_images = call_with(load_images, args, path),
    image_folder = call_with(image_folder, args, path),
    predict_classes = predict_classes(model, path),
    feature_maps = feature_maps(model, path, "block1_conv"),
    plot_feature_maps = plot_feature_maps(model, path, "block1_conv", file = file.path(folder, "maps.png")),
    classify_image = call_with(classify_image, args, path),
    load_model = load_model(path),
    backbone = call_with(backbone, args, weights = path),
    transfer_model = call_with(transfer_model, args, weights = path),
    efficientnet_lite0 = call_with(efficientnet_lite0, args, weights = path),
    efficientnet_lite0_weights = efficientnet_lite0_weights(source = path, cache_dir = file.path(folder, "cache")),
    load_fashion_mnist = load_fashion_mnist(),
    stop("no R call for ", case$call))
  warned <- character()
  bomb <- isTRUE(spec$files[[case$file]]$bomb)
  rss <- peak_rss_mb()
  start <- proc.time()[["elapsed"]]
  out <- tryCatch({
    value <- withCallingHandlers(
      if (bomb) with_address_limit(call(), spec$address_space_headroom_mb) else call(),
      warning = function(w) { warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning") })
    list(status = "ok", value = value)
  }, error = function(e) list(status = "error", message = conditionMessage(e), error = e))
  out$seconds <- proc.time()[["elapsed"]] - start
  out$rss_growth_mb <- peak_rss_mb() - rss
  out$warnings <- warned
  out$reference <- made$reference
  out$folder <- folder
  out
}

# The number of images and whether all are finite, reading the whole pipeline.
read_pipeline <- function(ds) {
  n <- 0
  finite <- TRUE
  py_for(batch ~ ds, {
    x <- batch[[1]]$numpy()
    n <- n + dim(x)[1]
    finite <- finite && all(is.finite(x))
  })
  list(n = n, finite = finite)
}

check_case <- function(case, out) {
  label <- case_label(case)
  expect_lt(out$seconds, spec$max_seconds, label = paste(label, "seconds"))
  if (case$expect == "error") {
    expect_identical(out$status, "error", label = label)
    if (!identical(out$status, "error")) return(invisible())
    expect_match(out$message, paste0(case$call, "()"), fixed = TRUE, label = label)
    expect_match(out$message, case$names, fixed = TRUE, label = label)
    expect_match(out$message, r_terms(case$match), fixed = TRUE, label = label)  # spec in Python terms
    expect_null(conditionCall(out$error), label = label)                         # a short R error:
    expect_false(grepl("Detailed traceback", out$message), label = label)         # no Python traceback
    return(invisible())
  }
  expect_identical(out$status, "ok", label = paste(label, out$message))
  if (!identical(out$status, "ok")) return(invisible())
  value <- out$value
  if (case$expect == "skipped") {
    expect_equal(value$num_train, 4, label = label)
    expect_length(value$skipped, 1)
    expect_length(out$warnings, 1)
    expect_match(out$warnings, "skipped 1 file\\(s\\)", label = label)
    expect_match(out$warnings, case$match, fixed = TRUE, label = label)
    expect_equal(read_pipeline(value$train), list(n = 4, finite = TRUE), label = label)
    return(invisible())
  }
  tolerance <- spec$files[[case$file]]$tolerance
  switch(case$call,
    load_images = {
      ref <- out$reference
      if (identical(case$args$color_mode, "grayscale")) ref <- apply(ref, c(1, 2), function(p) sum(p * luma))
      expect_lte(max(abs(value[1, , , ] - ref)), tolerance, label = label)
    },
    image_folder = {
      expect_equal(value$num_train, 5, label = label)
      expect_length(out$warnings, 0)
      expect_equal(read_pipeline(value$train), list(n = 5, finite = TRUE), label = label)
    },
    predict_classes = {
      expect_true(as.character(value$label) %in% c("cat", "dog"), label = label)
      expect_equal(sum(attr(value, "probabilities")), 1, tolerance = 1e-4, label = label)
    },
    feature_maps = expect_equal(dim(value), c(16, 16, 4), label = label),
    plot_feature_maps = expect_true(file.exists(value), label = label),
    classify_image = expect_equal(nrow(value), case$args$top, label = label),
    load_model = expect_equal(cnnkit:::model_class_names(value), c("cat", "dog"), label = label),
    expect_gt(value$count_params(), 0, label = label))
}

test_that("crafted files: a clear error naming the argument, a counted skip or a correct result, in time", {
  skip_if_no_python()
  for (case in Filter(function(c) !isTRUE(spec$files[[c$file]]$bomb), cases)) {
    check_case(case, run_case(case, tempfile("fuzz")))
  }
})

test_that("bombs are refused before decoding: bounded time and memory", {
  skip_if_no_python()
  bombs <- Filter(function(c) isTRUE(spec$files[[c$file]]$bomb), cases)
  expect_gt(length(bombs), 10)
  # warm-up: each function once on a good file, so lazy start-up is not counted as the bomb's memory
  for (call in unique(vapply(bombs, function(c) c$call, ""))) {
    warm <- list(call = call, file = switch(call, load_model = "keras_good", backbone = , transfer_model = ,
                 efficientnet_lite0 = "h5_text", load_fashion_mnist = "idx_text", efficientnet_lite0_weights = "pth_text",
                 "png_rgb"), args = Filter(Negate(is.null), bombs[[match(call, vapply(bombs, function(c) c$call, ""))]]$args))
    run_case(warm, tempfile("warm"))
  }
  for (case in bombs) {
    out <- run_case(case, tempfile("bomb"))
    check_case(case, out)
    expect_lt(out$rss_growth_mb, spec$max_rss_growth_mb, label = paste(case_label(case), "peak memory growth (MB)"))
  }
})
