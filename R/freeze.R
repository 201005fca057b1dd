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
#' @seealso [trainable_layers()], [py_slice()], [transfer_model()]
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
