#' Freeze or unfreeze layers of a model
#'
#' `freeze()` makes layers non-trainable, `unfreeze()` trainable: all layers, or
#' those chosen by `names`, a `regex`, a `block` prefix (`block = "block5"`
#' selects `block5_conv1` ... `block5_pool`), a range `from`/`to`, or a
#' predicate `where`. Several selectors together select every layer that any of
#' them selects; a selector that selects nothing is an error. Nested models (a
#' backbone inside a transfer model) are expanded: their layers can be selected
#' by name, and the name of a nested model selects all its layers.
#'
#' Positions in `from`/`to` follow R (and keras3): **1-based, negative counts
#' from the end, both ends included**, over the rows of [trainable_layers()]
#' (for a plain model, its `$layers`). So `unfreeze(vgg16, from = -5, to = -3)`
#' is Python's `vgg16.layers[-5:-2]`. Layer names work too. `0`, fractional or
#' out-of-range positions and `from` after `to` are errors.
#'
#' **Layers outside the selection keep their state.** `freeze(model, from = 3)`
#' freezes layers 3 to the last and leaves layers 1 and 2 as they were (frozen,
#' if they were frozen before). keras3's `freeze_weights(model, from = 3)` makes
#' layers 1 and 2 trainable again: for code ported from keras3, use
#' [freeze_weights()] and [unfreeze_weights()], which have keras3's meaning.
#'
#' `BatchNormalization` layers stay frozen when unfreezing unless
#' `batchnorm = TRUE` (fine-tuning with the statistics of small batches destroys
#' pretrained features).
#'
#' Keras trains the weights that were trainable when the model was compiled;
#' changing `trainable` later has no effect until the model is compiled again.
#' So a compiled model is recompiled with the same optimizer settings (a fresh
#' optimizer of the same class and configuration), loss and metrics; with
#' `recompile = FALSE` you get a warning instead. (If the model is part of a
#' larger compiled model, compile that one again.)
#'
#' @param model A Keras model.
#' @param names Layer name(s), or the name of a nested model.
#' @param regex A regular expression matched against layer names.
#' @param block Layer-name prefix(es), e.g. `"block5"`.
#' @param from,to A range of layers: positions (1-based, negative from the end,
#'   both included) or layer names.
#' @param where A function of a layer returning `TRUE` or `FALSE`.
#' @param batchnorm Also unfreeze `BatchNormalization` layers.
#' @param recompile Recompile a compiled model (see Details).
#' @return The model, invisibly (it is modified in place).
#' @seealso [freeze_weights()] (keras3's meaning), [trainable_layers()], [py_slice()], [transfer_model()]
#' @examplesIf cnnkit_available()
#' vgg16 <- backbone("vgg16", c(32, 32, 3), weights = NULL)
#' freeze(vgg16)
#' unfreeze(vgg16, block = "block5")          # block5_conv1..3 trainable
#' unfreeze(vgg16, from = -5, to = -3)        # the same layers by position (1-based, both ends included)
#' trainable_layers(vgg16)
#' @export
freeze <- function(model, names = NULL, regex = NULL, block = NULL, from = NULL, to = NULL,
                   where = NULL, recompile = TRUE) {
  sel <- layer_selection(model, names, regex, block, from, to, where, "freeze")
  args <- capture_args(ignore = c("names", "regex", "block", "from", "to", "where"))
  invisible(cnnkit_call_warn("freeze", .args = c(args, sel)))
}

#' @rdname freeze
#' @export
unfreeze <- function(model, names = NULL, regex = NULL, block = NULL, from = NULL, to = NULL,
                     where = NULL, batchnorm = FALSE, recompile = TRUE) {
  sel <- layer_selection(model, names, regex, block, from, to, where, "unfreeze")
  args <- capture_args(ignore = c("names", "regex", "block", "from", "to", "where"))
  invisible(cnnkit_call_warn("unfreeze", .args = c(args, sel)))
}

#' Freeze or unfreeze weights as keras3 does
#'
#' keras3's `freeze_weights()` and `unfreeze_weights()`, with keras3's meaning,
#' for code ported from keras3. Without `from`, `to` or `which`, the whole model
#' is frozen (unfrozen). Otherwise the layers selected are frozen (unfrozen)
#' **and every other layer of the model is made trainable (frozen)**: the call
#' sets the whole model. cnnkit's own [freeze()] and [unfreeze()] differ: they
#' leave the layers outside their selection as they were.
#'
#' As in keras3: the layers are the model's top-level `model$layers` (a nested
#' model, such as a backbone inside a transfer model, is one layer, frozen or
#' unfrozen as a whole; to reach inside it, call these on the nested model);
#' `from` and `to` are both included, 1-based, negative from the end, or layer
#' names or layers; `BatchNormalization` layers are treated as any other. Where
#' keras3 would go on silently, these stop with an error: `which` together with
#' `from` or `to`, `from` after `to`, a position out of range, an unknown name,
#' `TRUE`/`FALSE` values not one per layer. A compiled model is recompiled, as
#' [freeze()] does (keras3 asks you to compile again; doing so does no harm).
#'
#' @param model A Keras model (or, without `from`, `to` and `which`, a layer).
#' @param from,to The first and last layer of a range (both included): a
#'   position (1-based, negative from the end), a layer name or a layer.
#' @param which Instead of a range: layer names, positions (1-based, negative
#'   from the end) or layers (a vector or a list); `TRUE`/`FALSE`, one per
#'   layer; or a function of a layer (or a formula such as
#'   `~ grepl("^dense", .x$name)`) returning `TRUE` or `FALSE`.
#' @return The model, invisibly (it is modified in place).
#' @seealso [freeze()] (leaves the other layers as they were), [trainable_layers()]
#' @examplesIf cnnkit_available()
#' model <- keras$Sequential(list(keras$Input(tuple(4L)),
#'   keras$layers$Dense(8L, name = "a"), keras$layers$Dense(2L, name = "b")))
#' freeze(model)
#' freeze(model, from = "b")           # cnnkit: "a" stays frozen
#' freeze_weights(model, from = "b")   # keras3: "a" is trainable again
#' unfreeze_weights(model, which = ~ .x$name == "b")
#' trainable_layers(model)
#' @export
freeze_weights <- function(model, from = NULL, to = NULL, which = NULL) {
  sel <- keras3_selection(from, to, which, "freeze_weights")
  invisible(cnnkit_call_warn("freeze_weights", .args = c(capture_args(ignore = c("from", "to", "which")), sel)))
}

#' @rdname freeze_weights
#' @export
unfreeze_weights <- function(model, from = NULL, to = NULL, which = NULL) {
  sel <- keras3_selection(from, to, which, "unfreeze_weights")
  invisible(cnnkit_call_warn("unfreeze_weights", .args = c(capture_args(ignore = c("from", "to", "which")), sel)))
}

# keras3's selectors as Python wants them: a layer as from/to stands for its name; from/to become
# slice bounds (as_py_range()); `which` as as_py_which() makes it. Python checks them.
keras3_selection <- function(from, to, which, fn) {
  if (inherits(from, "python.builtin.object")) from <- from$name
  if (inherits(to, "python.builtin.object")) to <- to$name
  range <- as_py_range(from, to, fn)
  list(start = range$start, stop = range$stop, which = as_py_which(which, fn))
}

# keras3's `which` at the seam: a formula (~ .x$name == "b") or function -> a predicate returning
# TRUE/FALSE (anything else reaches Python as text, which names it); R positions (1-based, negative
# from the end) -> Python's (0-based; -1 is the last layer in both); names, TRUE/FALSE and layers
# -> a Python list.
as_py_which <- function(which, fn) {
  if (is.null(which)) return(NULL)
  if (inherits(which, "formula")) {
    f <- which
    which <- function(.x) eval(f[[length(f)]], list(.x = .x, . = .x), environment(f))
  }
  if (is.function(which)) {
    predicate <- which
    return(function(layer) {
      v <- predicate(layer)
      if (is.logical(v) && length(v) == 1 && !is.na(v)) v else paste(deparse(v), collapse = " ")
    })
  }
  if (inherits(which, "python.builtin.object")) return(list(which))
  if (is.atomic(which) && anyNA(which)) stop(fn, "(): `which` contains NA; give layers, not NA.", call. = FALSE)
  items <- if (is.list(which)) which else as.list(which)
  lapply(items, function(i) {
    if (!is.numeric(i) || length(i) != 1) return(i)
    if (!is.finite(i) || i != trunc(i) || i == 0) {
      stop(fn, "(): `which` position ", i, " is not a layer position: positions are whole numbers from 1, ",
           "negative from the end (-1 is the last layer).", call. = FALSE)
    }
    as_py_int(if (i > 0) i - 1 else i)
  })
}

# The selectors as Python wants them; from/to translated to slice bounds here (the seam), checked
# by Python (see as_py_range()).
layer_selection <- function(model, names, regex, block, from, to, where, fn) {
  range <- as_py_range(from, to, fn)
  if (!is.null(where)) {
    if (!is.function(where)) {
      stop(fn, "(): `where` must be a function of a layer returning TRUE or FALSE.", call. = FALSE)
    }
    predicate <- where
    where <- function(layer) isTRUE(predicate(layer))
  }
  list(names = as_py_list(names), regex = regex, block = as_py_list(block),
       start = range$start, stop = range$stop, where = where)
}

#' Which layers train, with parameter counts
#'
#' One row per layer, nested models expanded (a backbone's layers are listed
#' with `parent` set to its name). The sums of `params` and `trainable_params`
#' equal the totals of `summary(model, show_trainable = TRUE)`.
#'
#' @param model A Keras model.
#' @return A data.frame with columns `index` (1-based position, what `from`/`to`
#'   of [unfreeze()] count), `name`, `type`, `parent`, `trainable`, `params`,
#'   `trainable_params`.
#' @examplesIf cnnkit_available()
#' tl <- trainable_layers(transfer_model("vgg16", mode = "fine_tune", weights = NULL))
#' sum(tl$trainable_params)   # 7,079,937
#' @export
trainable_layers <- function(model) {
  table <- as_r_table(cnnkit_call("trainable_layers", .args = capture_args()))
  table$index <- table$index + 1L
  table
}
