# The R/Python seam, in one file: how a wrapper's arguments go to Python (capture_args() and the
# as_py_*() converters), how Python's answer comes back (as_r_table() for every table), and
# cnnkit_call(), which makes the call. R numbers are doubles; Keras wants int sizes. Whole numbers
# become integers here; anything else is passed on unchanged so the Python side rejects it with a
# message that names the argument.
#
# A wrapper is declarative, as keras3's are: it lists one converter per argument that needs one
# and calls Python with the arguments the user gave (Python's own default applies to the others,
# so no default is repeated by hand; tests/python/test_r_parity.py keeps the R formals, which
# document them, equal to Python's):
#   conv_block <- function(x, filters = 32, kernel_size = 3, ...) {
#     cnnkit_call("conv_block", .args = capture_args(list(filters = as_py_int, kernel_size = as_py_int)))
#   }

# The arguments of the calling wrapper that the user gave, each through its converter, as a named
# list for cnnkit_call(.args = ). Arguments without a default are always taken (R's own error if
# one is missing); an argument the wrapper reassigned before the call counts as given; `force`:
# arguments taken (and converted) even when left out, for a default that R must decide
# (verbose = "auto": R knows whether the session is interactive, Python does not). `ignore`:
# arguments the wrapper passes some other way (freeze()'s layer selectors). `...` is passed on
# as it is (named arguments only).
capture_args <- function(converters = list(), force = character(), ignore = character()) {
  envir <- parent.frame()
  fn <- sys.function(sys.parent())
  formals <- formals(fn)
  unknown <- setdiff(c(names(converters), force, ignore), names(formals))
  if (length(unknown)) stop("capture_args(): no argument ", paste0("`", unknown, "`", collapse = ", "), call. = FALSE)
  args <- list()
  for (name in setdiff(names(formals), c("...", ignore))) {
    required <- identical(formals[[name]], quote(expr = ))
    if (!required && !(name %in% force) && eval(call("missing", as.name(name)), envir)) next
    value <- get(name, envir = envir)
    convert <- converters[[name]]
    args[name] <- list(if (is.null(convert)) value else convert(value))  # list(): keeps a NULL
  }
  if ("..." %in% names(formals)) args <- c(args, eval(quote(list(...)), envir))
  args
}

# 32 -> 32L, c(3, 3) -> c(3L, 3L) (a Python list); 2.5, "a", NULL unchanged.
as_py_int <- function(x) {
  if (is.numeric(x) && !is.object(x) && length(x) > 0 && is.null(dim(x)) &&
      all(is.finite(x)) && all(x == trunc(x)) && all(abs(x) <= .Machine$integer.max)) {
    return(as.integer(x))
  }
  x
}

# A shape such as c(32, 32, 3) -> tuple(32L, 32L, 3L); bad entries go to Python as they are.
as_py_shape <- function(x) {
  x <- as_py_int(x)
  if (is.numeric(x) && length(x) >= 1 && !anyNA(x)) return(do.call(reticulate::tuple, as.list(x)))
  x
}

# Call a function of the Python package and turn a Python exception into a
# short R error: the Python message (which names the argument) without the
# reticulate call and traceback. The R session is never at risk.
# R's NA is checked here, before reticulate converts it (a logical NA would become Python's True,
# NA_integer_ -2147483648, NA_character_ the string "NA"): see as_py_checked().
# `.name`: the function those messages name, for an internal helper called by an R function of
# another name (R's decode_predictions() calls imagenet.decode_records()).
# `.args`: the arguments capture_args() took (after those in `...`).
cnnkit_call <- function(.fn, ..., .name = .fn, .args = list()) {
  path <- strsplit(.fn, ".", fixed = TRUE)[[1]]   # "module.function" for an internal helper
  fun <- Reduce(function(obj, name) obj[[name]], path, py_cnnkit())
  args <- as_py_checked(c(list(...), .args), .name, fun)
  lang <- py_lang()
  lang$enter_r()
  on.exit(lang$leave_r(), add = TRUE)
  tryCatch(do.call(fun, args), error = function(e) stop(py_error_message(e), call. = FALSE))
}

py_lang <- function() {
  if (is.null(.cnnkit$lang)) {
    py_cnnkit()
    .cnnkit$lang <- reticulate::import("cnnkit._lang", convert = TRUE)
  }
  .cnnkit$lang
}

# The arguments of a call at the seam, NA-checked, named as the Python function names them.
# - A length-one NA where a value is expected (NA, NA_real_, NA_integer_, NA_character_) is an error
#   that names the function and the argument: "fn(): `arg` is NA".
# - NA in a plain vector (a shape, class names, file names) is an error naming the entry.
# - R arrays are data (images, labels as as_py_labels() makes them): integer and logical NA become
#   NaN, so Python counts them ("`y` contains 3 missing label(s)"); lists are checked one level down
#   (list(x, y) as as_py_data() makes it, class names, callbacks).
# NaN (is.nan()) is a number, not NA: it goes to Python, whose checks name it.
as_py_checked <- function(args, fn, fun) {
  if (!length(args)) return(args)
  arg_names <- names(args) %||% rep("", length(args))
  positional <- which(!nzchar(arg_names))
  if (length(positional)) arg_names[positional] <- py_param_names(fn, fun)[seq_along(positional)]
  for (i in seq_along(args)) {
    if (!is.null(args[[i]])) args[[i]] <- as_py_na(args[[i]], fn, arg_names[i])
  }
  args
}

as_py_na <- function(x, fn, arg, inside = FALSE) {
  if (inherits(x, "python.builtin.object")) return(as_py_live(x, fn, arg))
  if (is.null(x) || is.function(x) || is.environment(x)) return(x)
  if (is.list(x) && !is.data.frame(x)) {
    if (inside) return(x)
    for (i in seq_along(x)) {
      if (!is.null(x[[i]])) x[[i]] <- as_py_na(x[[i]], fn, arg, inside = TRUE)
    }
    return(x)
  }
  if (!is.atomic(x)) return(x)
  na <- if (is.double(x) || is.complex(x)) is.na(x) & !is.nan(x) else is.na(x)
  if (!any(na)) return(x)
  if (!is.null(dim(x))) {  # data: NA -> NaN, for Python to count
    if (is.integer(x) || is.logical(x)) storage.mode(x) <- "double"
    return(x)
  }
  if (length(x) == 1 && !inside) {
    stop(fn, "(): `", arg, "` is NA; give a value (or leave the argument out for its default).", call. = FALSE)
  }
  if (length(x) == 1 || !inside) {
    stop(fn, "(): `", arg, "` contains NA", if (length(x) > 1) paste0(" (entry ", which(na)[1], " of ", length(x), ")"),
         "; give values, not NA.", call. = FALSE)
  }
  x
}

# The parameter names of a cnnkit Python function, in order (to name positional arguments in errors).
py_param_names <- function(fn, fun) {
  if (is.null(.cnnkit$params)) .cnnkit$params <- list()
  if (is.null(.cnnkit$params[[fn]])) {
    params <- reticulate::import("inspect")$signature(fun)$parameters
    .cnnkit$params[[fn]] <- unlist(reticulate::import_builtins()$list(params$keys()))
  }
  .cnnkit$params[[fn]]
}

py_error_message <- function(e) {
  msg <- conditionMessage(e)
  msg <- sub("\n*Detailed traceback:.*$", "", msg)
  msg <- sub("\n*Run `reticulate::py_last_error\\(\\)` for details\\.?\\s*$", "", msg)
  r_terms(trimws(msg))
}

# A message from Python in R's terms: no exception class in front ("ValueError: "), and the values
# Python wrote as Python values written as R values: None -> NULL, True/False -> TRUE/FALSE, nan -> NaN,
# (32, 32, 1) -> c(32, 32, 1) (None inside -> NA), [1, 2] -> c(1, 2), [] -> list(), {'a': 1} ->
# list(a = 1), 'text' -> "text", name=value -> name = value, a Python hint with its R form,
# "overwrite=True (R: overwrite = TRUE; CLI: --overwrite)", -> the R form. Prose is left alone: an
# apostrophe inside a word is not a quote, parentheses around words are not a tuple, an interval "in
# [0, 1]" stays one, and a subscript x['a'] is not a list.
r_terms <- function(msg) {
  if (!length(msg) || is.na(msg)) return(msg)
  msg <- sub("^(\\w+\\.)*\\w*(Error|Exception|Warning|Exit|Interrupt): ", "", msg, perl = TRUE)
  msg <- gsub("\\b\\w+=\\S+ \\(R: ([^;)]+)(; CLI: [^)]*)?\\)", "\\1", msg, perl = TRUE)
  msg <- gsub("\\bNone \\((NULL|NULL in R|R: NULL)\\)", "NULL", msg, perl = TRUE)
  msg <- gsub("\\bNoneType\\b", "NULL", msg, perl = TRUE)
  # 'text' -> "text" (a quote starts after a non-word character and ends before one)
  msg <- gsub("(?<![\\w'])'((?:[^'\\\\\n]|\\\\.)*)'(?![\\w])", "\"\\1\"", msg, perl = TRUE)
  msg <- gsub("\\bTrue\\b", "TRUE", msg, perl = TRUE)
  msg <- gsub("\\bFalse\\b", "FALSE", msg, perl = TRUE)
  msg <- gsub("\\bnan\\b", "NaN", msg, perl = TRUE)
  # name=value (code in a message) -> name = value
  msg <- gsub("(?<![\\w.=!<>-])(\\w+)=(?=[\"\\w(\\[{.-])(?!=)", "\\1 = ", msg, perl = TRUE)
  atom <- "(?:-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?|None|TRUE|FALSE|NaN|\"[^\"]*\")"
  items <- paste0(atom, "(?:, ", atom, ")*")
  for (pass in 1:2) {  # inner tuples first, then the ones around them
    msg <- gsub_fun(paste0("(?<![\\w])(?<! in )\\((?:", atom, "(?:, ", atom, ")+,?|", atom, ",)\\)"), msg, function(m) {
      paste0("c(", sub(",?\\)$", ")", substring(m, 2)))
    })
    atom <- paste0("(?:", atom, "|c\\(", items, "\\))")
    items <- paste0(atom, "(?:, ", atom, ")*")
  }
  msg <- gsub_fun(paste0("(?<![\\w`\\])])(?<! in )\\[(", items, ")?\\]"), msg, function(m) {
    if (m == "[]") "list()" else paste0("c(", substr(m, 2, nchar(m) - 1), ")")
  })
  msg <- gsub_fun(paste0("\\{\"\\w+\": ", atom, "(?:, \"\\w+\": ", atom, ")*\\}"), msg, function(m) {
    paste0("list(", gsub("\"(\\w+)\": ", "\\1 = ", substr(m, 2, nchar(m) - 1)), ")")
  })
  msg <- gsub_fun("(?<=\\(|got )(str|float|int|bool|dict|tuple|list)(?=\\)|[ .,;])", msg, function(m) {
    c(str = "character", float = "numeric", int = "integer", bool = "logical", dict = "list", tuple = "vector",
      list = "list")[[m]]
  })
  gsub("\\bNone\\b", "NULL", msg_vectors(msg), perl = TRUE)
}

# Inside c(...): None -> NA (a shape's unknown size; elsewhere None is NULL), 2.0 -> 2 (as R prints it).
msg_vectors <- function(msg) {
  gsub_fun("c\\([^()]*\\)", msg, function(m) {
    gsub("(?<![\\d.])(-?\\d+)\\.0(?![\\d])", "\\1", gsub("\\bNone\\b", "NA", m, perl = TRUE), perl = TRUE)
  })
}

# gsub() with a function of each match.
gsub_fun <- function(pattern, x, f) {
  m <- gregexpr(pattern, x, perl = TRUE)
  if (m[[1]][1] == -1) return(x)
  regmatches(x, m) <- list(vapply(regmatches(x, m)[[1]], f, character(1), USE.NAMES = FALSE))
  x
}

# An R layer index (1-based; negative counts from the end: -1 is the last) -> Python's 0-based
# index. Names pass through. 0, fractions and NA are errors that name the argument.
as_py_index <- function(i, arg = "layer", fn = "cnnkit") {
  if (is.character(i) || is.null(i)) return(i)
  if (!is.numeric(i) || length(i) != 1 || is.na(i) || i != trunc(i) || i == 0) {
    stop(fn, "(): `", arg, "` must be a layer name or a whole-number index (1 is the first layer, ",
         "-1 the last; 0 is not an index in R), got ", deparse(i), ".", call. = FALSE)
  }
  if (i > 0) as.integer(i - 1) else as.integer(i)
}

# A table from Python -> a data.frame: the one way back for tables. `x` is a list of rows (dicts
# with the same keys, as Python's records) or a dict of equal-length columns (a history); None
# becomes NA. `types`: optional column types, c(count = "integer", share = "numeric", ...): the
# columns of the result, in this order, also when `x` is empty (then a table with no rows).
as_r_table <- function(x, types = NULL) {
  if (inherits(x, "python.builtin.object")) x <- reticulate::py_to_r(x)
  cell <- function(v) if (is.null(v)) NA else v
  if (!length(x)) {
    columns <- list()
  } else if (is.null(names(x))) {  # rows
    keys <- unique(unlist(lapply(x, names)))
    columns <- lapply(keys, function(k) unlist(lapply(x, function(r) cell(r[[k]])), use.names = FALSE))
    names(columns) <- keys
  } else {  # columns
    columns <- lapply(x, function(col) if (is.list(col)) unlist(lapply(col, cell), use.names = FALSE) else col)
  }
  if (!is.null(types)) {
    columns <- lapply(names(types), function(k) as.vector(columns[[k]] %||% vector(types[[k]], 0), types[[k]]))
    names(columns) <- names(types)
  }
  as.data.frame(columns, stringsAsFactors = FALSE, check.names = FALSE)
}

# A layer range as R users write it (positions 1-based, negative counting from the end, both ends
# included; or layer names) -> Python slice bounds: `start` 0-based, `stop` exclusive, NULL (None)
# for "through the last layer"; names pass through. Only the translation happens here: Python
# (freeze.py, layer_range()) resolves names, checks the range and the order and, called from R,
# words its errors in R's terms (`from`/`to`, 1-based positions). What has no translation -- NA, 0,
# fractions, infinities, anything but one number or one name -- is an error here.
#   from:  f > 0 -> f - 1;  f < 0 -> f;  NULL -> 0 (the first layer)
#   to:    t > 0 -> t;      t < -1 -> t + 1;  -1 or NULL -> None (through the last)
# A range always reaches Python as one (`start` is never None), so unfreeze(to = -1) is a selector.
# Both NULL: no range (list(start = NULL, stop = NULL)).
as_py_range <- function(from, to, fn) {
  if (is.null(from) && is.null(to)) return(list(start = NULL, stop = NULL))
  list(start = as_py_bound(from, "from", fn) %||% 0L, stop = as_py_bound(to, "to", fn))
}

as_py_bound <- function(x, arg, fn) {
  if (is.null(x)) return(NULL)
  if (length(x) != 1 || is.object(x) || !(is.numeric(x) || is.character(x)) || is.na(x)) {
    stop(fn, "(): `", arg, "` must be one layer position (1-based; negative counts from the end) ",
         "or one layer name, got ", paste(deparse(x), collapse = " "), ".", call. = FALSE)
  }
  if (is.character(x)) return(x)
  if (!is.finite(x) || x != trunc(x)) {
    stop(fn, "(): `", arg, "` must be a whole number (a 1-based layer position; negative counts ",
         "from the end), got ", x, ".", call. = FALSE)
  }
  if (x == 0) {
    stop(fn, "(): `", arg, "` = 0 is not a layer position: R positions start at 1, and -1 is the ",
         "last layer.", call. = FALSE)
  }
  bound <- if (arg == "from") (if (x > 0) x - 1 else x) else (if (x > 0) x else if (x < -1) x + 1 else NULL)
  as_py_int(bound)  # a whole double beyond R's integers stays a double (Python reads it as a number)
}

# Data for Keras: R vectors travel to Python as lists, which Keras' fit() rejects; 1-d arrays
# become NumPy arrays. (R arrays with dim already become NumPy arrays.) Integer and logical NA become
# NaN (reticulate would pass NA_integer_ as -2147483648 and a logical NA as TRUE), so Python's checks
# count them. Anything else unchanged.
as_py_array <- function(x) {
  if ((is.numeric(x) || is.logical(x)) && !is.object(x)) {
    if ((is.integer(x) || is.logical(x)) && anyNA(x)) storage.mode(x) <- "double"
    if (is.null(dim(x))) x <- array(x)
  }
  x
}

# A Python object restored by readRDS()/load() from an R file is an empty shell (reticulate's pointer
# is NULL): Python objects do not survive saveRDS(). Said with the fix, before reticulate's own text.
as_py_live <- function(x, fn, arg) {
  if (reticulate::py_is_null_xptr(x)) stop(dead_object_message(fn, arg), call. = FALSE)
  x
}

dead_object_message <- function(fn, arg) {
  paste0(fn, "(): `", arg, "` is an empty Python object: it was restored from an R file (readRDS(), load() ",
         "or a saved workspace), and Python objects such as Keras models do not survive saveRDS(). Save models ",
         "with save_model(model, \"model.keras\") and read them back with load_model(\"model.keras\").")
}

# cnnkit_call(), and cnnkit's own Python warnings (messages "fn(): ...") raised as R warnings:
# reticulate only prints Python warnings to stderr, where R code cannot catch them.
cnnkit_call_warn <- function(.fn, ...) {
  py_warnings <- reticulate::import("warnings", convert = FALSE)
  recorder <- py_warnings$catch_warnings(record = TRUE)
  caught <- recorder$`__enter__`()
  py_warnings$simplefilter("always")
  value <- tryCatch(cnnkit_call(.fn, ...), finally = recorder$`__exit__`(NULL, NULL, NULL))
  for (w in reticulate::import_builtins()$list(caught)) {
    msg <- reticulate::py_str(w$message)
    if (grepl("^[a-z_0-9]+\\(\\): ", msg)) warning(msg, call. = FALSE)
  }
  value
}

# Labels at the seam: class ids are 0-based in Keras. The rule: a factor's levels, in order, are
# classes 0, 1, 2, ... (as.integer(f) - 1); logicals become 0/1; whole numbers are taken as given
# (already 0-based ids) and become integers; NA (in a factor, a logical or a number) becomes a double
# NA, which reaches Python as NaN through as_py_array() (as_py_data() does that) and is counted there
# ("`y` contains 3 missing label(s)"). Anything else (character labels: Python says to make a
# factor) goes to Python to be rejected.
as_py_labels <- function(y) {
  d <- dim(y)
  if (is.factor(y)) {
    y <- as.integer(y) - 1L
  } else if (is.logical(y) && !is.object(y)) {
    y <- as.integer(y)
  } else if (is.numeric(y) && !is.object(y) && length(y) > 0 && all(is.finite(y) | is.na(y)) &&
             all(y == trunc(y), na.rm = TRUE) && all(abs(y) <= .Machine$integer.max, na.rm = TRUE)) {
    y <- as.integer(y)
  } else {
    return(y)
  }
  if (!is.null(d) && length(d) > 1) dim(y) <- d
  if (anyNA(y)) storage.mode(y) <- "double"
  y
}

# Labels as data: as_py_labels(), then as_py_array() (a 1-d NumPy array, NA as NaN).
as_py_label_array <- function(y) as_py_array(as_py_labels(y))

# show_batch()'s labels: a factor, logicals or class ids as label data (as_py_label_array()); class
# names (character) and anything else as they are.
as_py_show_labels <- function(labels) {
  if (is.factor(labels) || is.logical(labels) || is.numeric(labels)) as_py_label_array(labels) else labels
}

# Training data at the seam: list(x, y) (or list(x = , y = )) -> a Python dict with 0-based labels
# and, for factor labels, the factor's levels as `class_names` (fit_classifier() remembers them on the
# model); a Python object (a tf.data.Dataset from image_folder()) passes through. R arrays are
# handed to reticulate as they are: it converts column-major R arrays to NumPy correctly (never
# transpose). The one conversion path for fit_classifier(), fine_tune() and evaluate_classifier().
as_py_data <- function(data) {
  if (is.null(data) || inherits(data, "python.builtin.object")) return(data)
  if (is.data.frame(data)) return(as_py_table(data))   # a table of image files and labels (see image_table())
  if (is.list(data) && !is.data.frame(data) && length(data) == 2) {
    if (all(c("x", "y") %in% names(data))) data <- data[c("x", "y")]
    y <- data[[2]]
    # logical labels stay logical (a NumPy bool array): Python accepts them for 2-class models only
    logical <- is.logical(y) && !is.object(y) && !anyNA(y)
    out <- list(x = as_py_array(data[[1]]), y = if (logical) as_py_array(y) else as_py_label_array(y))
    if (is.factor(y)) out$class_names <- as_py_list(levels(y))
    return(out)
  }
  data
}

# Keras' display: "auto" means a progress bar in an interactive session and one line per epoch
# (verbose = 2) otherwise (Rscript, knitr, R CMD check), where a carriage-return bar would fill the
# log with partial lines.
as_py_verbose <- function(verbose) {
  if (identical(verbose, "auto")) {
    return(if (interactive() && !isTRUE(getOption("knitr.in.progress"))) 1L else 2L)
  }
  as_py_int(verbose)
}

# Class ids (0-based) -> a factor whose levels are the class names.
as_r_factor <- function(ids, class_names) {
  factor(class_names[as.integer(ids) + 1L], levels = class_names)
}

# An R vector -> a Python list (length-one vectors too): the one way R vectors become lists.
# A factor gives its values as text; NULL stays NULL (Python None, not []); a list, a function or a
# Python object is left as it is (Python checks it). Numbers are not changed: compose with
# as_py_int() for whole numbers (as_py_list(as_py_int(classes))).
as_py_list <- function(x) {
  if (is.null(x) || is.list(x) || is.function(x) || inherits(x, "python.builtin.object")) return(x)
  if (is.factor(x)) x <- as.character(x)
  as.list(x)
}

# A named R list -> a Python dict (list(brightness_factor = 0.2)); anything else as it is.
as_py_dict <- function(x) {
  if (is.list(x) && !inherits(x, "python.builtin.object")) reticulate::dict(x) else x
}

# class_weight at the seam: "balanced" (one string) as it is; a named numeric vector c(bag = 2, shoe = 1) or a
# named list list(bag = 2) -> a Python dict {class name: weight}; an unnamed vector -> a list of one weight per
# class, in class order (a factor's levels); NULL as it is. Names given to some weights but not all, or one name
# twice, are errors here (reticulate would drop the names, or keep the last of two); anything else (a matrix,
# TRUE) goes to Python as reticulate converts it, to be rejected there with a message naming `class_weight`.
# `fn`: the function the message names.
as_py_class_weight <- function(x, fn = "fit_classifier") {
  if (is.null(x) || inherits(x, "python.builtin.object") || !is.null(dim(x)) || is.function(x)) return(x)
  if (is.character(x) && length(x) == 1 && is.null(names(x))) return(x)
  if ((is.numeric(x) || is.list(x)) && !is.object(x)) {
    keys <- names(x)
    if (is.null(keys)) return(as.list(x))
    if (anyNA(keys) || !all(nzchar(keys))) {
      stop(fn, "(): `class_weight` names some classes but not others (entry ", which(is.na(keys) | !nzchar(keys))[1],
           " has no name); name every weight, c(bag = 2, shoe = 1), or none: one weight per class, in class order.",
           call. = FALSE)
    }
    if (anyDuplicated(keys)) {
      stop(fn, "(): `class_weight` gives class \"", keys[anyDuplicated(keys)], "\" twice.", call. = FALSE)
    }
    return(reticulate::dict(as.list(x)))
  }
  x
}

# Class ids 0-9 or class names -> a Python list (whole numbers as integers).
as_py_classes <- function(x) as_py_list(as_py_int(x))

# A file or folder path with `~` expanded; anything else as it is ("imagenet" stays "imagenet").
as_py_path <- function(x) {
  if (is.character(x)) path.expand(x) else x
}

# Image files: a character vector -> a Python list of paths; a list -> its paths expanded (its
# arrays as they are); anything else (an array of images) as it is.
as_py_files <- function(x) {
  if (is.character(x)) return(as_py_list(path.expand(x)))
  if (is.list(x) && !inherits(x, "python.builtin.object")) return(lapply(x, as_py_path))
  x
}

# class_id for grad_cam(): a factor value -> its 0-based class id (levels in order are classes 0, 1, ...);
# whole numbers -> integers; names (character) and anything else as they are (Python checks them).
as_py_class_id <- function(class_id) {
  if (is.factor(class_id)) return(as_py_labels(class_id))
  as_py_int(class_id)
}

# An evaluation (evaluate_classifier()'s result) or a count matrix -> list(matrix = integer counts,
# class_names = the names given, else the table's dimnames); other values go to Python unchanged.
as_py_confusion <- function(evaluation, class_names = NULL) {
  cm <- if (inherits(evaluation, "cnnkit_evaluation")) evaluation$confusion_matrix else evaluation
  if (is.null(class_names) && !is.null(dimnames(cm))) class_names <- dimnames(cm)[[1]]
  cm <- unclass(cm)
  if (is.matrix(cm) && is.numeric(cm) && all(is.finite(cm) | is.na(cm)) && all(cm == trunc(cm), na.rm = TRUE)) {
    cm <- matrix(as.integer(cm), nrow(cm), ncol(cm))  # counts (Python checks what is left)
  }
  list(matrix = cm, class_names = class_names)
}

# top_losses() rows -> a data frame: index 1-based (R positions), class ids as Keras counts (0-based).
as_r_losses <- function(rows) {
  out <- as_r_table(rows, c(index = "integer", true_id = "integer", true = "character",
                            predicted_id = "integer", predicted = "character", probability = "numeric",
                            loss = "numeric"))
  out$index <- out$index + 1L
  out
}
