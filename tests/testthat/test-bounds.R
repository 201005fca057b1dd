# Requests for unbounded work (tests/spec/bounds.json) through the R functions, limits(), and
# py_for() stepping through Python iterables lazily.

spec <- read_spec("bounds")

bounds_call <- function(case, folder) {
  args <- as_r_user(case$args)
  aug <- augmentation(flip = "horizontal")
  switch(case$call,
    augment_dataset = {
      out <- call_with(augment_dataset, args, array(0, c(4, 8, 8, 1)), 0:3, aug)
      expect_equal(length(out$y), dim(out$x)[1])
      dim(out$x)[1]
    },
    plot_augmentation = {
      file <- file.path(folder, "aug.png")
      out <- call_with(plot_augmentation, args, array(0, c(1, 8, 8, 1)), aug, file = file)
      file.exists(file) && identical(normalizePath(out), normalizePath(file))
    },
    image_folder = {
      reticulate::import_from_path("crafted_files", test_path("..", "spec"))$good_images(folder)
      d <- call_with(image_folder, args, folder)
      batch <- reticulate::iter_next(reticulate::as_iterator(d$train))
      dim(batch[[1]]$numpy())[2:3]
    },
    load_images = {
      files <- reticulate::import_from_path("crafted_files", test_path("..", "spec"))$good_images(folder)
      dim(call_with(load_images, args, unlist(files)))[2:3]
    })
}

test_that("requests for unbounded work: an error naming the argument and the limit, or a result at the limit", {
  skip_if_no_python()
  for (case in spec$cases) {
    label <- paste0(case$call, "(", paste(names(case$args), case$args, sep = " = ", collapse = ", "), ")")
    if (length(case$env)) do.call(Sys.setenv, case$env)
    folder <- tempfile("bounds")
    dir.create(folder)
    out <- tryCatch(list(value = bounds_call(case, folder)), error = function(e) list(error = conditionMessage(e)))
    if (length(case$env)) Sys.unsetenv(names(case$env))
    if (case$expect == "ok") {
      expect_null(out$error, label = label)
      expect_equal(out$value, as_r_user(case$result), label = label)
    } else {
      expect_false(is.null(out$error), label = label)
      expect_match(out$error, paste0(case$call, "()"), fixed = TRUE, label = label)
      expect_match(out$error, case$names, fixed = TRUE, label = label)
      # the spec's fragments are Python's words; R's message says them in R terms ('lots' -> "lots")
      for (fragment in unlist(case$match)) expect_match(out$error, r_terms(fragment), fixed = TRUE, label = label)
    }
  }
})

test_that("limits() lists the documented defaults and follows Sys.setenv()", {
  skip_if_no_python()
  l <- limits()
  expect_equal(l$default, as.numeric(unlist(spec$limits[l$name])))
  expect_equal(l$env, unlist(spec$envs[l$name], use.names = FALSE))
  expect_equal(l$value, l$default)
  Sys.setenv(CNNKIT_MAX_IMAGE_PIXELS = "1e8")
  expect_equal(limits()$value[limits()$name == "image_pixels"], 1e8)
  Sys.unsetenv("CNNKIT_MAX_IMAGE_PIXELS")
  expect_equal(limits()$value[limits()$name == "image_pixels"], spec$limits$image_pixels)
})

test_that("py_for() steps through a Python generator: nothing is produced before the body runs", {
  skip_if_no_python()
  py <- reticulate::py_run_string("
produced = 0
def counting(n):
    global produced
    for i in range(n):
        produced += 1
        yield i
", convert = FALSE)
  seen <- c()
  err <- tryCatch(py_for(i ~ py$counting(1000000L), {
    seen <- c(seen, i)
    if (length(seen) == 3) stop("the body stops here")
  }), error = function(e) conditionMessage(e))
  expect_equal(err, "the body stops here")
  expect_equal(seen, 0:2)
  expect_equal(reticulate::py_to_r(py$produced), 3L)   # collected first, this would be 1,000,000
})

test_that("py_for(): break ends an endless generator; next skips; R vectors too", {
  skip_if_no_python()
  py <- reticulate::py_run_string("
def endless():  # endless, but an implementation that collects it first fails fast instead of hanging
    i = 0
    while True:
        if i > 1000:
            raise RuntimeError('py_for() asked for more than 1000 elements')
        yield i
        i += 1
", convert = FALSE)
  first <- c()
  py_for(k ~ py$endless(), { first <- c(first, k); if (k == 2) break })
  expect_equal(first, 0:2)
  itertools <- reticulate::import("itertools")
  seen <- c()
  elapsed <- system.time(py_for(i ~ itertools$count(), {
    if (i %% 2 == 1) next
    seen <- c(seen, i)
    if (i >= 6) break
  }))[["elapsed"]]
  expect_equal(seen, c(0, 2, 4, 6))
  expect_lt(elapsed, 5)
  expect_equal(i, 6)                                   # the variable stays bound, as with for
  huge <- reticulate::py_eval("range(10 ** 12)", convert = FALSE)   # never materialised
  py_for(j ~ huge, if (j == 2) break)
  expect_equal(j, 2)
  got <- c()
  py_for(x ~ 1:10, { if (x == 2) next; if (x > 4) break; got <- c(got, x) })
  expect_equal(got, c(1, 3, 4))
})
