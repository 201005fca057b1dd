# The R wrapper's cost on the real work: the same fit_classifier() and predict_classes() called
# from R (R arrays and a factor, converted by cnnkit's R layer) and from Python (NumPy arrays,
# the Python function called directly), same data, same model, in one process, alternating.
# A standalone Python process runs the same calls afterwards, for reference (embedded vs not).
# Goal: R <= 1.03x Python's time.
# Run: bash bench/run.sh acceptance/r_vs_python.R [n] [rounds]   (writes bench/results/r_vs_python.md)

args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1) as.integer(args[1]) else 24000L
rounds <- if (length(args) >= 2) as.integer(args[2]) else 5L
epochs <- 2L

library(cnnkit)
ck <- py_cnnkit()
np <- reticulate::import("numpy", convert = FALSE)
fm <- load_fashion_mnist(n = n, pad = TRUE)          # R arrays: x double (n, 32, 32, 1), y factor
# What a Python user holds: float32 NumPy images and integer labels (made once, outside the timings)
x_np <- np$asarray(reticulate::r_to_py(fm$x_train), dtype = "float32")
y_np <- np$asarray(as.integer(fm$y_train) - 1L, dtype = "int64")

timed <- function(f) { t <- proc.time()[["elapsed"]]; f(); proc.time()[["elapsed"]] - t }
model_r <- lenet5()
model_p <- ck$lenet5()
fit_r <- function() fit_classifier(model_r, list(fm$x_train, fm$y_train), epochs = epochs, verbose = 0)
fit_p <- function() ck$fit_classifier(model_p, reticulate::tuple(x_np, y_np), epochs = epochs, verbose = 0L)
pred_r <- function() predict_classes(model_r, fm$x_train)
pred_p <- function() ck$predict_classes(model_p, x_np)
invisible(c(fit_r(), fit_p(), pred_r(), pred_p()))   # warm-up: compile, trace

t <- list(fit_r = numeric(), fit_p = numeric(), pred_r = numeric(), pred_p = numeric())
for (i in seq_len(rounds)) {
  for (k in names(t)) t[[k]] <- c(t[[k]], timed(get(k)))
}
med <- vapply(t, median, numeric(1))

# Standalone Python, same calls and sizes (for reference: is embedding Python in R a cost?)
py_script <- sprintf('
import time, statistics, cnnkit, numpy as np
d = cnnkit.load_fashion_mnist(n=%d, pad=True)
x, y = d["x_train"].astype("float32"), np.asarray(d["y_train"], "int64")
m = cnnkit.lenet5()
fit = lambda: cnnkit.fit_classifier(m, (x, y), epochs=%d, verbose=0)
pred = lambda: cnnkit.predict_classes(m, x)
fit(); pred()
def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t
tf_, tp_ = [], []
for _ in range(%d):
    tf_.append(timed(fit)); tp_.append(timed(pred))
print(statistics.median(tf_), statistics.median(tp_))
', n, epochs, rounds)
script <- tempfile(fileext = ".py")
writeLines(py_script, script)
out <- system2(Sys.getenv("RETICULATE_PYTHON"), script, stdout = TRUE, stderr = FALSE)
standalone <- as.numeric(strsplit(tail(out, 1), " ")[[1]])

rows <- c(
  sprintf("R wrapper vs Python, LeNet-5 on %s Fashion-MNIST images (32x32x1), %d epochs per fit call; seconds, median of %d alternating rounds - %s, %s, %d cores, R %s, reticulate %s",
          format(n, big.mark = ","), epochs, rounds, format(Sys.Date()), Sys.info()[["nodename"]],
          parallel::detectCores(), getRversion(), utils::packageVersion("reticulate")),
  "", "| call | from R | from Python (same process) | R / Python | standalone Python process |",
  "|---|---|---|---|---|",
  sprintf("| fit_classifier | %.2f | %.2f | %.3f | %.2f |", med[["fit_r"]], med[["fit_p"]], med[["fit_r"]] / med[["fit_p"]], standalone[1]),
  sprintf("| predict_classes | %.2f | %.2f | %.3f | %.2f |", med[["pred_r"]], med[["pred_p"]], med[["pred_r"]] / med[["pred_p"]], standalone[2]),
  "", sprintf("Rounds (s): fit R %s; fit Python %s; predict R %s; predict Python %s",
              paste(sprintf("%.2f", t$fit_r), collapse = " "), paste(sprintf("%.2f", t$fit_p), collapse = " "),
              paste(sprintf("%.2f", t$pred_r), collapse = " "), paste(sprintf("%.2f", t$pred_p), collapse = " ")),
  "Goal: R <= 1.03x Python."
)
writeLines(rows)
dir.create("bench/results", showWarnings = FALSE, recursive = TRUE)
writeLines(rows, "bench/results/r_vs_python.md")
