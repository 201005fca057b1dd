# Bad input from the shared spec: a clear R error naming the argument; the session goes on.

cases <- read_spec("bad_input")$cases

test_that("each bad input gives an error that names the argument", {
  skip_if_no_python()
  for (case in cases) {
    fn <- get(case$call, envir = asNamespace("cnnkit"))
    args <- as_r_user(case$args)
    if ("x_shape" %in% names(case)) {
      x <- if (is.null(case$x_shape)) "not a tensor" else
        keras$layers$Input(do.call(tuple, as.list(as.integer(unlist(case$x_shape)))))
      args <- c(list(x), args)
    }
    label <- paste0(case$call, "(", paste(names(case$args), collapse = ", "), ")")
    err <- tryCatch({ do.call(fn, args); NULL }, error = function(e) e)
    expect_s3_class(err, "error")
    expect_match(conditionMessage(err), case$error_names, fixed = TRUE, label = label)
    expect_match(conditionMessage(err), paste0(case$call, "()"), fixed = TRUE, label = label)
    # short R errors: no reticulate call or Python traceback
    expect_null(conditionCall(err))
    expect_false(grepl("Detailed traceback", conditionMessage(err)))
  }
  # and the session is alive: Python still answers
  expect_equal(simple_cnn()$count_params(), 28097)
})

test_that("R-side coercion: whole doubles become integers, the rest is left for Python to reject", {
  expect_identical(cnnkit:::as_py_int(32), 32L)
  expect_identical(cnnkit:::as_py_int(c(3, 3)), c(3L, 3L))
  expect_identical(cnnkit:::as_py_int(2.5), 2.5)
  expect_identical(cnnkit:::as_py_int("a"), "a")
  expect_null(cnnkit:::as_py_int(NULL))
  expect_identical(cnnkit:::as_py_int(NA_real_), NA_real_)
  expect_identical(cnnkit:::as_py_int(1e12), 1e12)
})
