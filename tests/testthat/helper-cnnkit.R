# Shared by every test file: the shared spec and the Python check.

# Read tests/spec/<name>.json (the numbers the pytest suite reads too).
read_spec <- function(name) {
  jsonlite::read_json(test_path("..", "spec", paste0(name, ".json")), simplifyVector = FALSE)
}

# Numbers as an R user types them: doubles, vectors. JSON lists of numbers -> c(...), ints -> doubles.
as_r_user <- function(x) {
  if (is.list(x) && length(x) > 0 && is.null(names(x)) && all(vapply(x, is.numeric, logical(1)))) {
    return(as.numeric(unlist(x)))
  }
  if (is.list(x)) return(lapply(x, as_r_user))
  if (is.numeric(x)) return(as.numeric(x))
  x
}

# Call with a list of arguments that may hold NULL values (do.call keeps them).
call_with <- function(fn, args, ...) do.call(fn, c(list(...), args))

# Skip when Python/keras is missing, except in the project's own test run
# (CNNKIT_REQUIRE_PYTHON=1), where a missing Python is a failure, not a skip.
skip_if_no_python <- function() {
  ok <- tryCatch({ cnnkit::py_cnnkit(); TRUE }, error = function(e) conditionMessage(e))
  if (isTRUE(ok)) return(invisible(TRUE))
  if (identical(Sys.getenv("CNNKIT_REQUIRE_PYTHON"), "1")) stop("cnnkit's Python is required: ", ok)
  skip(paste("cnnkit's Python is not available:", ok))
}

shape_of <- function(tensor) {
  vapply(reticulate::py_to_r(reticulate::py_get_attr(tensor, "shape")),
         function(d) if (is.null(d)) NA_real_ else as.numeric(d), numeric(1))
}

as_shape <- function(spec_shape) vapply(spec_shape, function(d) if (is.null(d)) NA_real_ else as.numeric(d), numeric(1))
