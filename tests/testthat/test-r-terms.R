# Errors raised from R show R values (issue 13; tests/spec/r_terms.json, shared with
# tests/python/test_r_terms.py): NULL not None, c(32, 32, 1) not (32, 32, 1), weights = "path" not
# weights='path', 1-based positions, R's form of a hint, and no "ValueError: " in front.

spec <- read_spec("r_terms")

test_that("r_terms() writes Python values in a message as R values and leaves prose alone", {
  for (case in spec$translate) {
    expect_identical(cnnkit:::r_terms(case[[1]]), case[[2]])
  }
  expect_identical(cnnkit:::r_terms("the model's weights"), "the model's weights")
  expect_identical(cnnkit:::r_terms(NA_character_), NA_character_)
})

test_that("errors from R calls show R values, R positions and R hints", {
  skip_if_no_python()
  for (case in spec$calls) {
    err <- tryCatch({ eval(parse(text = case$r)); NULL }, error = function(e) e)
    expect_s3_class(err, "error")
    msg <- conditionMessage(err)
    expect_false(grepl("^\\w*(Error|Exception): ", msg), label = paste(case$id, ":", msg))
    expect_null(conditionCall(err))
    for (has in case$r_has) expect_true(grepl(has, msg, fixed = TRUE), label = paste0(case$id, " has '", has, "': ", msg))
    for (lacks in case$r_lacks) {
      expect_false(grepl(lacks, msg, fixed = TRUE), label = paste0(case$id, " lacks '", lacks, "': ", msg))
    }
  }
})

test_that("R's own warnings from Python are in R terms too; Python is told the call came from R", {
  skip_if_no_python()
  lang <- reticulate::import("cnnkit._lang")
  expect_false(lang$in_r())  # only during a call from R
  expect_identical(lang$code("x[None]", "array(x, c(1, dim(x)))"), "x[None]")
  err <- tryCatch(load_fashion_mnist(pad = "yes"), error = function(e) e)
  expect_false(lang$in_r())  # left again after an error
})
