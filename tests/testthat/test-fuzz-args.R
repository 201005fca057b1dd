# Argument fuzz suite (tests/spec/fuzz_args.json, shared with tests/python/test_fuzz_args.py).
#
# Generated from the R package's exports: every function in ls("package:cnnkit"), every argument of
# its formals(), every bad value of the spec (with R's own: NA, NA_real_, NA_integer_,
# NA_character_), each (function, argument, value) called once with tiny models and data. The
# contract: an R error whose message names the function ("fn()") and the argument ("`arg`"), or,
# for the values the spec lists as valid for that kind of argument, a result -- never a raw
# Python/TensorFlow message, a message that says True where R said NA, or a crash of R.

spec <- read_spec("fuzz_args")
tiny <- "fuzz_tiny"

exported <- function() {
  names <- setdiff(ls("package:cnnkit"), "keras")  # `keras` is an active binding (a module), not a function
  names[vapply(names, function(n) is.function(get(n, envir = asNamespace("cnnkit"))), logical(1))]
}

arg_spec <- function(fn, arg) {
  entry <- spec$arguments[[paste0(fn, ".", arg)]] %||% spec$arguments[[arg]]
  if (is.null(entry)) return(NULL)
  if (is.character(entry)) list(kind = entry) else entry
}

# "ok" or the argument names an error must mention, for this case in R.
expected <- function(fn, arg, value) {
  a <- arg_spec(fn, arg)
  kind <- spec$kinds[[a$kind]]
  valid <- unlist(a$r_valid %||% a$valid %||% kind$r_valid %||% kind$valid)
  if (value %in% valid) "ok" else unlist(a$names %||% kind$names %||% arg)
}

r_value <- function(id, fx) {
  switch(id,
    zero = 0, negative = -1, fractional = 2.5, huge = 1e12, nan = NaN, inf = Inf, true = TRUE,
    string = "abc", empty_string = "", empty = numeric(0), three = c(1, 2, 3), complex = 1 + 2i,
    dict = list(a = 1), none = NULL, matrix = matrix(0, 2, 3), regressor = fx$regressor,
    na = NA, na_real = NA_real_, na_integer = NA_integer_, na_character = NA_character_,
    stop("unknown value ", id))
}

# A default that is a constant (or c()/list() of constants); anything else cannot be equal.
default_value <- function(d) {
  if (missing(d) || is.symbol(d)) return(structure(list(), class = "no_default"))
  tryCatch(eval(d, baseenv()), error = function(e) structure(list(), class = "no_default"))
}

is_default <- function(value, d) {
  !inherits(d, "no_default") && identical(value, d) ||
    (is.numeric(value) && is.numeric(d) && length(value) == length(d) && length(d) > 0 &&
       !anyNA(value) && !anyNA(d) && all(value == d) && is.null(dim(value)) == is.null(dim(d)))
}

known <- local({
  out <- list()
  for (k in spec$known_failures) {
    if ((k$lang %||% "both") %in% c("r", "both")) {
      for (v in unlist(k$values)) out[[paste(k$call, k$arg, v, sep = "|")]] <- k$reason
    }
  }
  out
})

# --- fixtures: tiny models and data --------------------------------------------------------------

# A folder of two run directories, as fit_classifier(run_dir =) leaves them.
fixtures_runs <- function(root) {
  runs <- file.path(root, "runs")
  for (i in 1:2) {
    dir.create(file.path(runs, paste0("run", i)), recursive = TRUE, showWarnings = FALSE)
    writeLines(sprintf('{"fit": {"settings": {"epochs": 1, "learning_rate": %s}, "status": "finished", "epochs": 1}}',
                       c(0.001, 0.003)[i]), file.path(runs, paste0("run", i), "run.json"))
    writeLines(c("epoch,loss,accuracy", "1,1.0,0.5"), file.path(runs, paste0("run", i), "history.csv"))
  }
  runs
}

fixtures <- function(root) {
  reticulate::py_run_string(paste(
    "import keras, numpy as np",
    "from PIL import Image",
    "def fuzz_tiny(include_top=True, weights=None, input_shape=None, pooling=None, classes=1000, **kw):",
    "    inputs = keras.Input(tuple(input_shape or (16, 16, 3)))",
    "    x = keras.layers.Conv2D(4, 3, padding='same', name='block1_conv')(inputs)",
    "    x = keras.layers.Conv2D(4, 3, padding='same', name='block2_conv')(x)",
    "    if include_top:",
    "        x = keras.layers.GlobalAveragePooling2D()(x)",
    "        x = keras.layers.Dense(classes, activation='softmax', name='predictions')(x)",
    "    elif pooling in ('avg', 'max'):",
    "        x = (keras.layers.GlobalAveragePooling2D if pooling == 'avg' else keras.layers.GlobalMaxPooling2D)()(x)",
    "    return keras.Model(inputs, x, name='fuzz_tiny')",
    "def fuzz_identity(x):",
    "    return x",
    "def fuzz_png(path, seed):",
    "    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)",
    sep = "\n"))
  py <- reticulate::py
  register_backbone(tiny, py$fuzz_tiny, py$fuzz_identity, min_size = 8, last_block = "block2", overwrite = TRUE)
  fresh_model <- function() simple_cnn(c(16, 16, 1), blocks = 1, filters = 2, units = 4, num_classes = 3)
  set.seed(0)
  images <- array(runif(8 * 16 * 16), c(8, 16, 16, 1))
  labels <- factor(rep(c("a", "b", "c"), length.out = 8))
  input <- keras$layers$Input(tuple(16L, 16L, 1L))
  hidden <- keras$layers$GlobalAveragePooling2D()(keras$layers$Conv2D(2L, 3L, padding = "same", name = "block1_conv")(input))
  folder <- file.path(root, "folder")
  for (class in c("cat", "dog")) {
    dir.create(file.path(folder, class), recursive = TRUE)
    for (i in 1:3) py$fuzz_png(file.path(folder, class, paste0(i, ".png")), i)
  }
  image_file <- file.path(root, "img.png")
  py$fuzz_png(image_file, 9L)
  keras_file <- file.path(root, "model.keras")
  save_model(fresh_model(), keras_file)
  fit_model <- compile_classifier(fresh_model())
  preds <- matrix(runif(2000), 2, 1000)
  list(
    tensor = function() keras$layers$Input(tuple(16L, 16L, 3L)),
    model = local({ m <- fresh_model(); function() m }),
    fresh_model = fresh_model,
    shared_model = local({ m <- fresh_model(); function() m }),
    fit_model = function() fit_model,
    regressor = keras$Model(input, keras$layers$Dense(3L, activation = "relu")(hidden), name = "regressor"),
    images = function() images,
    labels = function() labels,
    data = function() list(images, labels),
    rgb_data = function() list(array(runif(8 * 16 * 16 * 3), c(8, 16, 16, 3)), labels),
    rgb_images = function() array(128, c(1, 32, 32, 3)),
    image = function() images[1, , , , drop = FALSE][1, , , ],
    photo = function() array(runif(40 * 40 * 3) * 255, c(40, 40, 3)),
    preds = function() preds / rowSums(preds),
    aug = local({ a <- augmentation(rotate = 0.1, seed = 1); function() a }),
    tiny_backbone_name = function() tiny,
    tiny_factory = function() py$fuzz_tiny,
    identity = function() py$fuzz_identity,
    transfer_model = function() transfer_model(tiny, c(16, 16, 3), num_classes = 3, weights = NULL),
    history = function() data.frame(epoch = 1:2, loss = c(1, 0.5), accuracy = c(0.5, 0.75)),
    counts = function() matrix(c(3, 0, 1, 1, 2, 0, 0, 1, 4), 3, 3),
    scores = function() list(y_true = labels, probabilities = matrix(runif(24), 8, 3)),
    lr_result = function() list(learning_rate = c(1e-5, 1e-4, 1e-3), loss = c(2, 1.5, 3), smoothed_loss = c(2, 1.8, 2.2),
                                suggestion = 1e-5, minimum = 1e-4, diverged = TRUE),
    image_file = function() image_file,
    folder = function() folder,
    runs = function() fixtures_runs(root),
    run = function() file.path(fixtures_runs(root), "run1"),
    table = function() {
      files <- list.files(folder, recursive = TRUE, full.names = TRUE)
      data.frame(file = files, label = basename(dirname(files)))
    },
    keras_file = function() keras_file,
    loop_spec = function() layer ~ 1:3,
    letters = function() letters,
    # through the seam, as the plot wrappers get figures: not pyplot's, so none stays open (issue 25)
    figure = function() cnnkit:::cnnkit_call("plot_confusion_matrix", matrix(c(3L, 0L, 1L, 2L), 2))
  )
}

resolve <- function(value, fx) {
  if (is.character(value) && length(value) == 1 && startsWith(value, "@")) return(fx[[substring(value, 2)]]())
  as_r_user(value)
}

# "ok", or the error message; R warnings are muffled (a case is judged by its error or its result).
run_case <- function(fn, arg, value_id, fx) {
  base <- spec$functions[[fn]]$base %||% list()
  args <- lapply(base, resolve, fx = fx)
  args[arg] <- list(r_value(value_id, fx))
  if (fn == "register_backbone") {  # leave no entries behind
    registry <- reticulate::import("cnnkit.backbones", convert = FALSE)$REGISTRY
    saved <- registry$copy()
    on.exit({ registry$clear(); registry$update(saved) }, add = TRUE)
  }
  tryCatch(withCallingHandlers({ do.call(fn, args, envir = asNamespace("cnnkit")); "ok" },
                               warning = function(w) invokeRestart("muffleWarning")),
           error = function(e) structure(conditionMessage(e), class = "fuzz_error"))
}

# The contract; for R's NA the message must not speak of what reticulate would have made of it.
meets_contract <- function(outcome, fn, want, value_id) {
  if (identical(want, "ok")) return(identical(outcome, "ok"))
  inherits(outcome, "fuzz_error") && grepl(paste0(fn, "()"), outcome, fixed = TRUE) &&
    any(vapply(want, function(n) grepl(paste0("`", n, "[` ]"), outcome), logical(1))) &&
    !(value_id == "na" && grepl("\\bTrue\\b", outcome)) &&
    !(value_id == "na_integer" && grepl("-2147483648", outcome, fixed = TRUE))
}

# --- the suite -----------------------------------------------------------------------------------

test_that("every argument of every exported function has a kind in the spec", {
  missing <- character()
  for (fn in exported()) {
    if (!is.null(spec$functions[[fn]]$skip)) next
    for (arg in setdiff(names(formals(get(fn, envir = asNamespace("cnnkit")))), "...")) {
      if (is.null(arg_spec(fn, arg))) missing <- c(missing, paste0(fn, ".", arg))
    }
  }
  expect_identical(missing, character(), label = "arguments without a kind in tests/spec/fuzz_args.json")
})

test_that("bad values give an R error naming the function and the argument, or a result", {
  skip_if_no_python()
  root <- tempfile("fuzz-")
  dir.create(root)
  old <- setwd(root)  # relative paths such as "abc" land here
  on.exit(setwd(old), add = TRUE)
  fx <- fixtures(root)
  on.exit(reticulate::import("cnnkit.backbones", convert = FALSE)$REGISTRY$pop(tiny, NULL), add = TRUE)
  cases <- 0
  for (fn in exported()) {
    if (!is.null(spec$functions[[fn]]$skip)) next
    formal <- formals(get(fn, envir = asNamespace("cnnkit")))
    for (arg in setdiff(names(formal), "...")) {
      a <- arg_spec(fn, arg)
      if (is.null(a) || a$kind == "skip") next
      d <- default_value(formal[[arg]])
      for (value_id in names(spec$values)) {
        value <- r_value(value_id, fx)
        if (is_default(value, d)) next
        case_dir <- tempfile("case-", tmpdir = root)
        dir.create(case_dir)
        setwd(case_dir)
        want <- expected(fn, arg, value_id)
        outcome <- run_case(fn, arg, value_id, fx)
        ok <- meets_contract(outcome, fn, want, value_id)
        what <- paste0(fn, "(", arg, " = <", value_id, ">): ",
                       if (identical(outcome, "ok")) "returned a result" else paste("error:", outcome))
        reason <- known[[paste(fn, arg, value_id, sep = "|")]]
        if (is.null(reason)) {
          expect_true(ok, label = what)
        } else {  # a known failure must still fail: once fixed, delete it from the spec
          expect_false(ok, label = paste0("known failure (", reason, ") now passes; delete it from known_failures: ", what))
        }
        cases <- cases + 1
      }
    }
  }
  message("fuzz cases run in R: ", cases)
  # the session is alive: Python still answers
  expect_equal(simple_cnn()$count_params(), 28097)
})
