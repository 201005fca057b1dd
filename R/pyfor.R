# py_for() and py_slice(): looping over Python lists from R, and Python's slices in R.
# R-only on purpose: they are about R syntax (Python has `for` and slices).

#' Loop over a Python (or R) iterable
#'
#' `py_for(var ~ iterable, body)` runs `body` once per element of `iterable`
#' with `var` bound to the element, like R's `for (var in iterable) body`, but
#' for any Python iterable too (a Python list, a generator, a `tf.data`
#' dataset) as well as R lists and vectors. As with `for`, `var` is left in the
#' calling environment, and `break` and `next` in `body` work as they do in
#' `for`. A Python iterable is stepped through one element at a time, never
#' collected first: a generator runs only as far as the loop goes, so
#' `py_for(i ~ itertools$count(), { if (i > 2) break })` ends.
#'
#' **The slides' trap.** `vgg16$layers` is converted to an R list, so
#' `vgg16$layers[-5:-2]` uses R indexing: it *drops* elements 2 to 5 and keeps
#' the other 16 of 20 layers, while Python's `layers[-5:-2]` selects 3 layers
#' (`block5_conv1` to `block5_conv3`). R's meaning is kept (never
#' reinterpreted), but `py_for()` warns when its iterable is written
#' `x[-a:-b]` and names the fix: `py_slice(x, -a, -b)` (Python's slice) or, for
#' a Keras model, `unfreeze(model, block = "block5")`.
#'
#' @param spec A formula `var ~ iterable`.
#' @param body An expression (usually a `{ }` block) evaluated for each element.
#' @return `NULL`, invisibly.
#' @seealso [py_slice()], [unfreeze()]
#' @examplesIf cnnkit_available()
#' vgg16 <- backbone("vgg16", c(32, 32, 3), weights = NULL)
#' vgg16$trainable <- FALSE
#' py_for(layer ~ py_slice(vgg16$layers, -5, -2), {
#'   layer$trainable <- TRUE
#' })
#' sum(trainable_layers(vgg16)$trainable)   # 3: block5_conv1..3
#' @export
py_for <- function(spec, body) {
  if (!inherits(spec, "formula") || length(spec) != 3 || !is.name(spec[[2]])) {
    stop("py_for(): `spec` must be a formula `var ~ iterable`, e.g. ",
         "py_for(layer ~ model$layers, { layer$trainable <- TRUE }); got ",
         paste(deparse(if (inherits(spec, "formula")) spec else substitute(spec)), collapse = " "),
         ".", call. = FALSE)
  }
  var <- as.character(spec[[2]])
  iter_expr <- spec[[3]]
  env <- environment(spec) %||% parent.frame()
  body <- substitute(body)
  iterable <- eval(iter_expr, env)
  warn_r_negative_slice(iter_expr, iterable, env)
  advance <- stepper(iterable, iter_expr, var, env)
  # The loop runs in the caller's environment, so `break` and `next` in `body` work as in `for`.
  eval(bquote(repeat {
    if (!.(advance)()) break
    .(body)
  }), env)
  invisible(NULL)
}

# A function that binds `var` in `env` to the next element and returns TRUE, or returns FALSE when
# the elements are used up. R vectors and lists as they are; a Python iterable one element at a
# time (reticulate::iter_next()), never collected first: a generator runs only as far as the loop
# goes, so an endless one (itertools.count()) ends at `break` and a huge one costs nothing up front.
stepper <- function(iterable, iter_expr, var, env) {
  if (inherits(iterable, "python.builtin.object")) {
    it <- tryCatch(reticulate::import_builtins()$iter(iterable), error = function(e) NULL)
    if (!is.null(it)) {
      done <- new.env()  # a sentinel no element can be identical to (elements may be NULL)
      return(function() {
        element <- reticulate::iter_next(it, completed = done)
        if (identical(element, done)) return(FALSE)
        assign(var, element, envir = env)
        TRUE
      })
    }
  } else if (is.null(iterable) || is.vector(iterable) || is.list(iterable)) {
    elements <- if (is.list(iterable)) iterable else as.list(iterable)
    i <- 0L
    return(function() {
      i <<- i + 1L
      if (i > length(elements)) return(FALSE)
      assign(var, elements[[i]], envir = env)
      TRUE
    })
  }
  stop("py_for(): `", paste(deparse(iter_expr), collapse = " "), "` is not iterable (",
       paste(class(iterable), collapse = "/"), "): give a list, a vector or a Python iterable ",
       "such as model$layers.", call. = FALSE)
}

# `x[-a:-b]` with literal whole negative bounds: R drops elements; the Python slice selects them.
# What the warning says R did is computed from R's own reading of the index (only the elements that
# exist are dropped: `x[-5:-2]` of 3 elements drops 2 and 3), and what Python would select from
# py_slice_positions(); tests/python/test_rpy2_seam.py checks both claims against R and Python.
warn_r_negative_slice <- function(iter_expr, iterable, env) {
  msg <- r_negative_slice_message(iter_expr, length(iterable), env)
  if (!is.null(msg)) warning(msg, call. = FALSE)
}

r_negative_slice_message <- function(iter_expr, kept, env) {
  if (!is.call(iter_expr) || !identical(iter_expr[[1]], as.name("[")) || length(iter_expr) != 3) return()
  idx <- iter_expr[[3]]
  neg <- function(e) {
    is.call(e) && identical(e[[1]], as.name("-")) && length(e) == 2 && is.numeric(e[[2]]) &&
      length(e[[2]]) == 1 && is.finite(e[[2]]) && e[[2]] == trunc(e[[2]])
  }
  if (!is.call(idx) || !identical(idx[[1]], as.name(":")) || !neg(idx[[2]]) || !neg(idx[[3]])) return()
  a <- idx[[2]][[2]]
  b <- idx[[3]][[2]]
  target <- paste(deparse(iter_expr[[2]]), collapse = " ")
  n <- tryCatch(length(eval(iter_expr[[2]], env)), error = function(e) NA_integer_)
  fix <- sprintf("py_slice(%s, -%s, -%s)", target, a, b)
  if (grepl("\\$layers$", target)) {
    model <- sub("\\$layers$", "", target)
    fix <- paste0(fix, " (Python's slice), or unfreeze(", model, ", block = \"block5\") to unfreeze ",
                  "VGG16's last convolutional block (other backbones: see list_backbones()$last_block)")
  }
  if (is.na(n)) {
    drops <- sprintf("it DROPS elements %s to %s and keeps the others", min(a, b), max(a, b))
    python <- "different elements"
  } else {
    # R's own reading of the index: of those elements, the ones that exist are dropped (x[-0:-0],
    # which is x[0], keeps none)
    dropped <- setdiff(seq_len(n), seq_len(n)[eval(idx, baseenv())])
    drops <- sprintf("it DROPS %s and keeps the other %s of %s",
                     if (!length(dropped)) "no element (none of them exists)"
                     else if (length(dropped) == 1) paste("element", dropped)
                     else if (all(diff(dropped) == 1)) sprintf("elements %s to %s", min(dropped), max(dropped))
                     else paste0("elements ", paste(dropped, collapse = ", ")), kept, n)
    python <- paste(length(py_slice_positions(n, -a, -b)), "elements")
  }
  sprintf("py_for(): `%s` is R indexing: %s; Python's [-%s:-%s] would select %s. If you meant Python's slice, write %s.",
          paste(deparse(iter_expr), collapse = " "), drops, a, b, python, fix)
}

#' Python's slice semantics on an R or Python list
#'
#' `py_slice(x, start, stop)` is Python's `x[start:stop]`: positions are
#' **0-based**, `stop` is excluded and negative positions count from the end,
#' so `py_slice(vgg16$layers, -5, -2)` is Python's `vgg16.layers[-5:-2]`
#' (`block5_conv1` to `block5_conv3`). R's own `x[-5:-2]` means something else:
#' drop elements 2 to 5.
#'
#' @param x A list or vector (R), or a Python list or tuple.
#' @param start,stop Python positions (`NULL`: from the start / to the end).
#' @param step Step (not 0; negative goes backwards, as in Python).
#' @return The selected elements: an R list for lists and Python sequences, a
#'   vector for vectors.
#' @examples
#' py_slice(letters, -5, -2)   # "v" "w" "x"
#' py_slice(1:10, 2)           # 3:10
#' @export
py_slice <- function(x, start = NULL, stop = NULL, step = 1L) {
  # base::stop(): the argument `stop` may be a callable Python object, which R would call instead
  if (inherits(x, "python.builtin.object")) x <- reticulate::py_to_r(x)
  if (!is.vector(x) && !is.list(x)) {
    base::stop("py_slice(): `x` must be a list or a vector, got ", paste(class(x), collapse = "/"), ".",
         call. = FALSE)
  }
  whole <- function(v, arg, clamp = FALSE) {
    if (is.null(v)) return(NULL)
    ok <- !inherits(v, "python.builtin.object") && is.numeric(v) && length(v) == 1 && !is.na(v) &&
      is.finite(v) && v == trunc(v) && (clamp || abs(v) <= .Machine$integer.max)
    if (!ok) {
      shown <- if (inherits(v, "python.builtin.object")) "a Python object" else paste(deparse(v), collapse = " ")
      base::stop("py_slice(): `", arg, "` must be one whole number (0-based, Python style) or NULL, got ",
           shown, ".", call. = FALSE)
    }
    as.integer(max(min(v, .Machine$integer.max), -.Machine$integer.max))  # past the end: as Python, empty
  }
  step <- whole(step, "step")
  if (is.null(step) || step == 0L) base::stop("py_slice(): `step` must not be 0.", call. = FALSE)
  x[py_slice_positions(length(x), whole(start, "start", TRUE), whole(stop, "stop", TRUE), step)]
}

# R positions (1-based) selected by Python's slice(start, stop, step) over n elements.
py_slice_positions <- function(n, start = NULL, stop = NULL, step = 1L) {
  clamp <- function(v, default, lo, hi) {
    if (is.null(v)) return(default)
    if (v < 0) v <- v + n
    min(max(v, lo), hi)
  }
  if (step > 0) {
    i0 <- clamp(start, 0L, 0L, n)
    i1 <- clamp(stop, n, 0L, n)
    if (i0 >= i1) return(integer())
    return(seq(i0, i1 - 1L, by = step) + 1L)
  }
  i0 <- clamp(start, n - 1L, -1L, n - 1L)
  i1 <- clamp(stop, -1L, -1L, n - 1L)
  if (is.null(stop)) i1 <- -1L
  if (i0 <= i1) return(integer())
  seq(i0, i1 + 1L, by = step) + 1L
}
