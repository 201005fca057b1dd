# export_model() from R (issue 28.4): R's arguments reach Python as cnnkit takes them, each format's
# artefact gives predict_classes()'s probabilities for 0-255 pixels and carries the class names, and a bad
# argument is an error in R's words. The shared numbers: tests/spec/export.json (pytest checks the same
# artefacts in a new process without cnnkit, and the transfer model).

spec <- read_spec("export")

trained_cnn <- function() {
  fm <- load_fashion_mnist(n = spec$models$cnn$train$n, n_test = spec$images)
  model <- fashion_cnn()
  fit_classifier(model, list(fm$x_train, fm$y_train), epochs = spec$models$cnn$train$epochs,
                 batch_size = spec$models$cnn$train$batch_size, verbose = 0, precision = "float32", seed = 0)
  list(model = model, fm = fm)
}

test_that("each format gives predict_classes()'s probabilities on 0-255 pixels and the class names", {
  skip_if_no_python()
  d <- trained_cnn()
  names <- d$fm$class_names
  want <- attr(predict_classes(d$model, d$fm$x_test, precision = "float32"), "probabilities")
  np <- reticulate::import("numpy", convert = FALSE)
  x255 <- np$ascontiguousarray(reticulate::np_array(round(d$fm$x_test * 255), dtype = "float32"))
  dir <- tempfile("export-")
  dir.create(dir)
  for (fmt in names(spec$formats)) {
    path <- file.path(dir, spec$formats[[fmt]]$path)
    expect_equal(export_model(d$model, path, format = fmt, class_names = names), path)
    expect_equal(readLines(file.path(dir, spec$formats[[fmt]]$labels)), names)
  }
  tf <- reticulate::import("tensorflow")
  sm <- tf$saved_model$load(file.path(dir, spec$formats$saved_model$path))
  got <- list(saved_model = sm$serve(x255)$probabilities$numpy())
  decode <- reticulate::py_eval("lambda t: [s.decode() for s in t.numpy()]")
  expect_equal(unlist(decode(sm$class_names())), names)
  ort <- reticulate::import("onnxruntime")
  session <- ort$InferenceSession(file.path(dir, spec$formats$onnx$path))
  got$onnx <- session$run(list("probabilities"), reticulate::dict(image = x255))[[1]]
  expect_equal(unlist(jsonlite::fromJSON(session$get_modelmeta()$custom_metadata_map$class_names)), names)
  runner <- cnnkit:::py_cnnkit()$export$litert_interpreter(file.path(dir, spec$formats$litert$path))$get_signature_runner()
  got$litert <- runner(image = x255)$probabilities
  expect_equal(dim(want), c(spec$images, 10L))
  for (fmt in names(got)) {
    expect_lt(max(abs(got[[fmt]] - want)), spec$atol, label = paste(fmt, "max abs difference"))
  }
})

test_that("a .keras file can be exported; bad arguments are errors that name them in R's words", {
  skip_if_no_python()
  model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 2, units = 4, num_classes = 3)
  dir <- tempfile("export-")
  dir.create(dir)
  file <- save_model(model, file.path(dir, "m.keras"), class_names = c("a", "b", "c"))
  expect_warning(out <- export_model(file, file.path(dir, "m.tflite"), format = "litert"), "no recorded input range")
  expect_equal(readLines(file.path(dir, "m.labels.txt")), c("a", "b", "c"))
  expect_error(export_model(model, file.path(dir, "x.onnx"), format = "pdf"),
               "export_model\\(\\): `format` must be one of")
  expect_error(export_model(model, file.path(dir, "x.tflite"), format = "onnx"),
               "must end in .onnx for format .onnx.; pass format = \"litert\"")
  expect_error(export_model(model, file.path(dir, "y.onnx"), format = "onnx", class_names = c("a", "b")),
               "`class_names` has 2 names but the model predicts 3 classes")
  expect_error(export_model(model, file.path(dir, "z.onnx"), format = "onnx", verify = NA), "`verify`")
  expect_error(export_model(model, file.path(dir, "z.onnx"), format = "onnx", verify = "yes"),
               "`verify` must be TRUE or FALSE")
  expect_error(export_model("no-such.keras", file.path(dir, "z.onnx"), format = "onnx"), "`model` .* does not exist")
  expect_setequal(list.files(dir), c("m.keras", "m.tflite", "m.labels.txt"))  # nothing half-written
})
