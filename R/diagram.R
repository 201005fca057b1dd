#' A model as a Mermaid diagram
#'
#' Mermaid `graph` text with one node per layer (type, filters, kernel, units,
#' activation and output size) and edges as the data flows, styled like the
#' slides' LeNet-5 figure. Quarto renders it natively: put the text in a
#' ```` ```{mermaid} ```` block (in a knitr chunk use `results = "asis"` and
#' `cat()` the fences around it).
#'
#' @param model A Keras model.
#' @param direction `"LR"` (left to right) or `"TD"` (top down).
#' @param shapes Add each layer's output size to its node.
#' @return A character string starting with `graph LR`.
#' @examplesIf cnnkit_available()
#' cat(model_mermaid(lenet5()))
#' @export
model_mermaid <- function(model, direction = "LR", shapes = TRUE) {
  cnnkit_call("model_mermaid", .args = capture_args())
}
