# The R bridge's fixed costs: library(cnnkit) time (Python must not start) and moving a
# 10,000 x 32 x 32 x 3 R array to Python (the shape of a small image data set).
# Run: bash bench/run.sh acceptance/r_bridge_transfer.R   (prints a table, writes bench/results/r_bridge_transfer.md)

median_time <- function(expr_fn, rounds = 5) {
  times <- vapply(seq_len(rounds), function(i) system.time(expr_fn())[["elapsed"]], numeric(1))
  c(median = median(times), min = min(times), max = max(times))
}

# 1. library(cnnkit) in fresh R processes (the only honest way to time an attach)
rscript <- file.path(R.home("bin"), "Rscript")
lib_times <- vapply(1:5, function(i) {
  out <- system2(rscript, c("--vanilla", "-e",
    shQuote("cat(system.time(library(cnnkit))[['elapsed']])")), stdout = TRUE)
  as.numeric(tail(out, 1))
}, numeric(1))

library(cnnkit)
np <- reticulate::import("numpy", convert = FALSE)
invisible(py_cnnkit())   # start Python once, outside the timings

x <- array(runif(10000 * 32 * 32 * 3), dim = c(10000, 32, 32, 3))
to_py <- median_time(function() reticulate::r_to_py(x))
to_f32 <- median_time(function() np$asarray(reticulate::r_to_py(x), dtype = "float32"))
xi <- array(as.integer(round(x * 255)), dim = dim(x))
to_py_int <- median_time(function() reticulate::r_to_py(xi))

# correctness: element [i, j, k, c] in R is element [i-1, j-1, k-1, c-1] in NumPy
py_x <- reticulate::r_to_py(x)
ok <- isTRUE(all.equal(x[1234, 5, 6, 2], reticulate::py_to_r(reticulate::py_get_item(py_x, tuple(1233L, 4L, 5L, 1L)))))

rows <- rbind(
  `library(cnnkit), fresh process` = c(median(lib_times), min(lib_times), max(lib_times)),
  `r_to_py(double array), 246 MB` = to_py,
  `r_to_py + float32 NumPy copy` = to_f32,
  `r_to_py(integer array), 123 MB` = to_py_int
)
table <- c(
  sprintf("R bridge costs (seconds; median, min, max of 5) - %s, %s, %d cores, R %s, reticulate %s",
          format(Sys.Date()), Sys.info()[["nodename"]], parallel::detectCores(),
          getRversion(), utils::packageVersion("reticulate")),
  "", "| what | median | min | max |", "|---|---|---|---|",
  sprintf("| %s | %.3f | %.3f | %.3f |", rownames(rows), rows[, 1], rows[, 2], rows[, 3]),
  "", sprintf("Element order preserved across the bridge: %s", ok)
)
writeLines(table)
dir.create("bench/results", showWarnings = FALSE, recursive = TRUE)
writeLines(table, "bench/results/r_bridge_transfer.md")
