# The vignette engine `cnnkit::qmd`: cnnkit's four .qmd documents are installed vignettes (listed by
# vignette(package = "cnnkit") and browseVignettes("cnnkit"), and in RStudio's Help pane). R CMD build
# renders each with Quarto where the Quarto CLI is installed, and with rmarkdown (knitr, which also
# runs the Python chunks through reticulate) where it is not: the documents carry both `format: html`
# (Quarto) and `output: html_document` (rmarkdown). Registered when the package is loaded (.onLoad).

# render_vignette(): the weave function of the engine. Renders `file` to a self-contained HTML file
# next to it: with the Quarto CLI when one is found (QUARTO_PATH, else `quarto` on the PATH), otherwise
# with rmarkdown::render() (no Quarto needed; Mermaid diagrams then show as text).
# CNNKIT_VIGNETTE_RENDERER = "quarto" or "rmarkdown" chooses. Every chunk runs, so cnnkit's Python must
# be available (cnnkit_available()). Returns the HTML file's path.
render_vignette <- function(file, quiet = TRUE, renderer = Sys.getenv("CNNKIT_VIGNETTE_RENDERER", "auto"), ...) {
  if (!is.character(file) || length(file) != 1 || is.na(file) || !file.exists(file)) {
    stop("render_vignette(): `file` must be the path of a .qmd file, got ", describe_r_value(file), ".",
         call. = FALSE)
  }
  if (!is.character(renderer) || length(renderer) != 1 || !renderer %in% c("auto", "quarto", "rmarkdown")) {
    stop("render_vignette(): `renderer` must be \"auto\", \"quarto\" or \"rmarkdown\", got ",
         describe_r_value(renderer), ".", call. = FALSE)
  }
  if (!isTRUE(quiet) && !isFALSE(quiet)) {
    stop("render_vignette(): `quiet` must be TRUE or FALSE, got ", describe_r_value(quiet), ".", call. = FALSE)
  }
  quarto <- quarto_path()
  if (identical(renderer, "quarto") && !nzchar(quarto)) {
    stop("render_vignette(): `renderer` = \"quarto\" but no Quarto CLI was found (set QUARTO_PATH or put ",
         "quarto on the PATH), or use renderer = \"rmarkdown\".", call. = FALSE)
  }
  html <- sub("\\.[qQ]md$", ".html", file)
  if (nzchar(quarto) && !identical(renderer, "rmarkdown")) {
    args <- c("render", shQuote(file), "--to", "html", "-M", "embed-resources:true", if (quiet) "--quiet")
    status <- system2(quarto, args)
    if (!identical(status, 0L)) stop("render_vignette(): quarto render ", file, " failed (status ", status, ").",
                                     call. = FALSE)
  } else {
    if (!requireNamespace("rmarkdown", quietly = TRUE) || !rmarkdown::pandoc_available()) {
      stop("render_vignette(): rendering without Quarto needs the R package rmarkdown and pandoc; ",
           "install them, or Quarto.", call. = FALSE)
    }
    rmarkdown::render(file, output_format = rmarkdown::html_document(self_contained = TRUE),
                      output_file = basename(html), output_dir = dirname(html), quiet = quiet,
                      envir = new.env(parent = globalenv()))
  }
  html
}

quarto_path <- function() {
  path <- Sys.getenv("QUARTO_PATH")
  if (nzchar(path) && file.exists(path)) return(path)
  unname(Sys.which("quarto"))
}

# The tangle function: the code runs when the vignette is built (R CMD build, and R CMD check when it
# re-builds the vignettes); the R script R CMD check would run again from it holds no code, as
# knitr's *_notangle engines do.
tangle_vignette <- function(file, ..., encoding = "UTF-8", quiet = FALSE) {
  out <- sub("\\.[qQ]md$", ".R", basename(file))
  writeLines(c("# The code of this vignette runs when the vignette is built (R CMD build / check);",
               "# it is not run again from this file."), out)
  out
}

register_vignette_engine <- function() {
  tools::vignetteEngine("qmd", weave = function(file, ..., quiet = TRUE) render_vignette(file, quiet = quiet),
                        tangle = tangle_vignette, pattern = "[.][qQ]md$", package = "cnnkit")
}
