# Every model cnnkit saves loads anywhere: saved by one R session, loaded and predicted by another
# (tests/spec/reload.json, `r_models`: the R wrappers build the same models as the Python suite's).
# A model saved and loaded in one session hid transfer models that no other session could load.

reload_spec <- read_spec("reload")

rscript <- function(code, ...) {
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script, ...),
                                  stdout = TRUE, stderr = TRUE))
  status <- attr(out, "status") %||% 0L
  list(status = status, output = paste(out, collapse = "\n"))
}

`%||%` <- function(a, b) if (is.null(a)) b else a

save_code <- '
library(cnnkit)
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
spec <- jsonlite::read_json(args[2], simplifyVector = FALSE)
entries <- Filter(function(e) e$name %in% unlist(spec$r_models), spec$models)
set.seed(1)
preds <- list()
for (e in entries) {
  a <- lapply(e$args, function(v) if (is.list(v)) as.numeric(unlist(v)) else v)
  model <- do.call(e$factory, a)
  if (!is.null(e$augmentation)) model <- with_augmentation(model, do.call(augmentation, e$augmentation))
  shape <- as.numeric(unlist(model$input_shape))   # NULL (the batch) drops out
  k <- max(2, as.numeric(unlist(model$output_shape)))
  if (!is.null(e$fine_tune)) {
    x <- array(runif(16 * prod(shape)), c(16, shape))
    y <- factor(paste0("class_", (0:15) %% k), levels = paste0("class_", 0:(k - 1)))
    do.call(fine_tune, c(list(model, list(x, y), batch_size = 8, verbose = 0), e$fine_tune))
  }
  x <- array(runif(3 * prod(shape)), c(3, shape))
  saveRDS(x, file.path(dir, paste0(e$name, ".rds")))
  preds[[e$name]] <- predict_classes(model, x)
  save_model(model, file.path(dir, paste0(e$name, ".keras")), class_names = paste0("class_", 0:(k - 1)))
}
saveRDS(preds, file.path(dir, "saved.rds"))
'

load_code <- '
library(cnnkit)
dir <- commandArgs(trailingOnly = TRUE)[1]
saved <- readRDS(file.path(dir, "saved.rds"))
out <- list()
for (name in names(saved)) {
  model <- load_model(file.path(dir, paste0(name, ".keras")))
  out[[name]] <- predict_classes(model, readRDS(file.path(dir, paste0(name, ".rds"))))
}
saveRDS(out, file.path(dir, "loaded.rds"))
'

test_that("models saved by one R session load and predict the same in another", {
  skip_if_no_python()
  dir <- tempfile("reload")
  dir.create(dir)
  s <- rscript(save_code, dir, test_path("..", "spec", "reload.json"))
  expect_equal(s$status, 0L, info = s$output)
  l <- rscript(load_code, dir)
  expect_equal(l$status, 0L, info = l$output)
  saved <- readRDS(file.path(dir, "saved.rds"))
  loaded <- readRDS(file.path(dir, "loaded.rds"))
  expect_setequal(names(saved), unlist(reload_spec$r_models))
  for (name in names(saved)) {
    expect_equal(unname(attr(loaded[[name]], "probabilities")), unname(attr(saved[[name]], "probabilities")),
                 tolerance = reload_spec$tolerance, info = name)
    expect_identical(loaded[[name]]$class_id, saved[[name]]$class_id, info = name)
    k <- ncol(attr(saved[[name]], "probabilities"))
    expect_identical(levels(loaded[[name]]$label), paste0("class_", 0:(k - 1)), info = name)  # saved with it
  }
})

test_that("a model restored by readRDS() is named as such, with save_model() as the fix", {
  skip_if_no_python()
  model <- simple_cnn(c(16, 16, 3), blocks = 1, filters = 2, units = 4, num_classes = 2)
  file <- tempfile(fileext = ".rds")
  saveRDS(model, file)
  restored <- readRDS(file)
  x <- array(runif(2 * 16 * 16 * 3), c(2, 16, 16, 3))
  expect_error(predict_classes(restored, x), "predict_classes\\(\\): `model` is an empty Python object.*save_model")
  expect_error(save_model(restored, tempfile(fileext = ".keras")), "readRDS\\(\\).*load_model")
  expect_output(print(restored), "empty Keras model object")
})
