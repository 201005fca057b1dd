# The vignette engine cnnkit::qmd (R/vignette.R): the four .qmd documents are built by R CMD build
# with Quarto where it is installed and rmarkdown where it is not. The documents themselves are
# rendered once per test run by tests/python/test_r_check.py's R CMD build (test_vignettes.py).

test_that("cnnkit registers the vignette engine cnnkit::qmd for .qmd files", {
  engine <- tools::vignetteEngine("qmd", package = "cnnkit")
  expect_identical(engine$package, "cnnkit")
  expect_true(grepl(engine$pattern, "workshop-r.qmd"))
  desc <- read.dcf(system.file("DESCRIPTION", package = "cnnkit"))
  expect_identical(unname(desc[, "VignetteBuilder"]), "cnnkit")
})

test_that("render_vignette() renders a .qmd without Quarto; a plot drawn on the device is embedded", {
  skip_if_no_python()
  skip_if_not(rmarkdown::pandoc_available())
  dir <- tempfile("qmd"); dir.create(dir)
  qmd <- file.path(dir, "tiny.qmd")
  writeLines(c("---", "title: tiny", "format: html", "output: html_document", "---", "",
               "```{r}", "library(cnnkit)",
               "plot_history(data.frame(epoch = 1:2, loss = c(1, 0.5), accuracy = c(0.5, 0.8)))", "```"), qmd)
  html <- cnnkit:::render_vignette(qmd, renderer = "rmarkdown")
  expect_identical(normalizePath(html), normalizePath(file.path(dir, "tiny.html")))
  page <- paste(readLines(html, warn = FALSE), collapse = "\n")
  expect_match(page, "<img src=\"data:image/png", fixed = TRUE)   # drawn on knitr's device, embedded
  expect_false(grepl("## Error", page, fixed = TRUE))
})

test_that("render_vignette() says what is wrong in R terms", {
  expect_error(cnnkit:::render_vignette(NULL), "`file` must be the path of a .qmd file, got NULL")
  qmd <- tempfile(fileext = ".qmd"); writeLines("---\ntitle: x\n---", qmd)
  expect_error(cnnkit:::render_vignette(qmd, renderer = "pdf"), "`renderer` must be \"auto\", \"quarto\" or \"rmarkdown\"")
  old <- Sys.getenv(c("QUARTO_PATH", "PATH")); on.exit(do.call(Sys.setenv, as.list(old)), add = TRUE)
  Sys.setenv(QUARTO_PATH = "", PATH = "/nonexistent")
  expect_error(cnnkit:::render_vignette(qmd, renderer = "quarto"), "no Quarto CLI was found")
})
