test_that("model_mermaid() draws LeNet-5 with the spec's output sizes", {
  skip_if_no_python()
  lenet <- Filter(function(m) m$id == "lenet5_slides", read_spec("models")$models)[[1]]
  text <- model_mermaid(lenet5())
  expect_match(text, "^graph LR\n")
  for (name in names(lenet$layer_output_shapes)) {
    size <- paste(unlist(lenet$layer_output_shapes[[name]][-1]), collapse = "\u00d7")
    expect_match(text, paste0("n_", name, "\\[\"[^\"]*Output: ", size, "\"\\]"), label = name)
  }
  expect_error(model_mermaid("lenet5"), "`model`")
})
