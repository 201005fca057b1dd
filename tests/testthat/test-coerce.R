# The R/Python seam of R/coerce.R: capture_args() (what a wrapper passes to Python), the one list
# converter (as_py_list) and the one table converter (as_r_table). No Python needed, except where
# a Python object is made on purpose.

capture_args <- cnnkit:::capture_args
as_py_list <- cnnkit:::as_py_list
as_r_table <- cnnkit:::as_r_table

# A wrapper as the package writes them, returning what it would pass to Python.
wrapper <- function(x, size = 3, name = NULL, verbose = "auto", ...) {
  capture_args(list(size = cnnkit:::as_py_int, verbose = function(v) paste("converted", v)), force = "verbose")
}

test_that("capture_args() passes what the user gave, converted, and leaves the rest to Python's defaults", {
  expect_identical(wrapper(1), list(x = 1, verbose = "converted auto"))
  expect_identical(wrapper(1, size = 4, name = NULL), list(x = 1, size = 4L, name = NULL, verbose = "converted auto"))
  expect_identical(wrapper(x = 2, 5), list(x = 2, size = 5L, verbose = "converted auto"))
  expect_identical(wrapper(1, verbose = 0), list(x = 1, verbose = "converted 0"))
  expect_identical(wrapper(1, extra = TRUE), list(x = 1, verbose = "converted auto", extra = TRUE))
  expect_identical(do.call(wrapper, list(1, size = 2.5)), list(x = 1, size = 2.5, verbose = "converted auto"))
  expect_error(wrapper(), "argument \"x\" is missing, with no default")
  # an argument the wrapper sets before capturing counts as given
  sets <- function(y, class_names = NULL) {
    if (is.null(class_names) && is.factor(y)) class_names <- levels(y)
    capture_args(list(class_names = as_py_list))
  }
  expect_identical(sets(factor(c("b", "a"))), list(y = factor(c("b", "a")), class_names = list("a", "b")))
  expect_identical(sets(1:2), list(y = 1:2))
  ignores <- function(model, from = NULL, recompile = TRUE) capture_args(ignore = "from")
  expect_identical(ignores("m", from = 1, recompile = FALSE), list(model = "m", recompile = FALSE))
  typo <- function(x, size = 1) capture_args(list(sise = identity))
  expect_error(typo(1), "capture_args\\(\\): no argument `sise`")
})

test_that("as_py_list() is the one way an R vector becomes a Python list", {
  expect_identical(as_py_list("a"), list("a"))
  expect_identical(as_py_list(c(a = "x", b = "y")), list(a = "x", b = "y"))
  expect_identical(as_py_list(factor(c("dog", "cat"))), list("dog", "cat"))
  expect_identical(as_py_list(c(0, 1)), list(0, 1))
  expect_identical(cnnkit:::as_py_classes(c(0, 9)), list(0L, 9L))
  expect_identical(cnnkit:::as_py_classes(c("Bag", "Sneaker")), list("Bag", "Sneaker"))
  expect_identical(as_py_list(character()), list())
  expect_null(as_py_list(NULL))
  expect_identical(as_py_list(list("accuracy", 1)), list("accuracy", 1))
  expect_identical(as_py_list(identity), identity)
})

test_that("as_r_table() is the one way a table comes back: rows or columns, None as NA, typed columns", {
  rows <- list(list(name = "a", n = 1L, parent = NULL), list(name = "b", n = 2L, parent = "a"))
  expect_identical(as_r_table(rows), data.frame(name = c("a", "b"), n = 1:2, parent = c(NA, "a")))
  columns <- list(epoch = list(1L, 2L), val_loss = list(NULL, 0.5))
  expect_identical(as_r_table(columns), data.frame(epoch = 1:2, val_loss = c(NA, 0.5)))
  expect_identical(as_r_table(list(), c(true = "character", count = "integer")),
                   data.frame(true = character(), count = integer()))
  expect_identical(as_r_table(list(list(count = 3, extra = "x")), c(count = "integer")), data.frame(count = 3L))
  expect_identical(as_r_table(list()), data.frame())
  skip_if_no_python()
  py_rows <- reticulate::r_to_py(list(list(a = 1L, b = "x"), list(a = 2L, b = NULL)))
  expect_identical(as_r_table(py_rows), data.frame(a = 1:2, b = c("x", NA)))
})
