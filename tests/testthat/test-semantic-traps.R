# Semantic traps (tests/spec/semantic_traps.json; the Python suite runs the same cases): data of the
# right type that means something else gets a correct result or a message that names the R fix.

traps <- read_spec("semantic_traps")
trap_shape <- as.numeric(unlist(traps$shape))

trap_model <- function(case) {
  m <- simple_cnn(trap_shape, blocks = 1, filters = 2, units = 4, num_classes = case$classes)
  if (!is.null(case$trained)) {
    x <- array(runif(8 * prod(trap_shape), 0, case$trained), c(8, trap_shape))
    fit_classifier(m, list(x, rep(0:(max(2, case$classes) - 1), length.out = 8)), epochs = 1, verbose = 0)
  }
  if (!is.null(case$model_names)) py_cnnkit()$saving$`_attach`(m, unlist(case$model_names))
  m
}

# The data of a trap, as an R user would write it.
trap_data <- function(case) {
  n <- traps$n
  k <- max(2, case$classes)
  x <- array(runif(n * prod(trap_shape)), c(n, trap_shape))
  ids <- (seq_len(n) - 1) %% k
  switch(case$trap,
    one_based_with_top = list(x, ids + 1),
    one_based_without_top = list(x, (seq_len(n) - 1) %% (k - 1) + 1),
    named_without_class_0 = list(x, factor(paste0("c", (seq_len(n) - 1) %% (k - 1) + 1), levels = paste0("c", 0:(k - 1)))),
    logical_labels = list(x, ids %% 2 == 1),
    range_255 = if (case$call == "predict_classes") x * 255 else list(x * 255, ids),
    range_1 = if (case$call == "predict_classes") x else list(x, ids),
    channels_first = aperm(x, c(1, 4, 2, 3)),
    flattened = matrix(x, nrow = n),
    dropped_one = x[1, , , ],
    dropped_channel = x[1:5, , , ],
    subset_named = list(x, factor(rep(c("a", "b", "c"), length.out = n))),
    unused_levels = list(x, factor(paste0("c", ids), levels = paste0("c", 0:9))),
    renamed = list(x, factor(c("cat", "fox", "wolf")[ids + 1], levels = c("cat", "fox", "wolf"))),
    reordered = list(x, factor(c("fox", "cat", "dog")[ids + 1], levels = c("fox", "cat", "dog"))),
    stop("unknown trap ", case$trap))
}

trap_call <- function(case, model, data) {
  switch(case$call,
    fit_classifier = fit_classifier(model, data, epochs = 1, verbose = 0),
    evaluate_classifier = evaluate_classifier(model, data),
    predict_classes = predict_classes(model, data))
}

for (case in traps$cases) {
  local({
    case <- case
    test_that(paste("semantic trap:", case$name), {
      skip_if_no_python()
      model <- trap_model(case)
      data <- trap_data(case)
      patterns <- Filter(Negate(is.null), list(case$match, case$match_r))
      if (case$expect == "error") {
        err <- tryCatch({ trap_call(case, model, data); NULL }, error = function(e) conditionMessage(e))
        expect_false(is.null(err), info = case$name)
        for (p in patterns) expect_match(err, p, info = case$name)
      } else if (case$expect == "warning") {
        seen <- character()
        withCallingHandlers(trap_call(case, model, data),
                            warning = function(w) { seen <<- c(seen, conditionMessage(w)); invokeRestart("muffleWarning") })
        expect_true(length(seen) > 0, info = case$name)
        for (p in patterns) expect_true(any(grepl(p, seen)), info = paste(case$name, p, paste(seen, collapse = " | ")))
      } else {
        expect_warning(result <- trap_call(case, model, data), NA)
        expect_false(is.null(result), info = case$name)
      }
    })
  })
}
