#' The tf.distribute strategy for training on several devices or hosts
#'
#' `distribution_strategy("mirrored")` picks the strategy from the
#' environment: with `TF_CONFIG` set, or inside a Slurm job step with more
#' than one task (`srun`), `MultiWorkerMirroredStrategy` (one R or Python
#' process per worker, each running the same script; worker 0 is the chief);
#' otherwise `MirroredStrategy` over the local GPUs (or the CPU). The strategy
#' is made once per session and used by every later `strategy = "mirrored"`.
#'
#' TensorFlow can set up several workers only before it runs anything, so a
#' multi-worker script calls this first, right after `library(cnnkit)`,
#' before it builds a model or loads data; later it is an error that says so.
#' `batch_size` is then the global batch, split across the workers; only the
#' chief writes the run directory. See the README for an `sbatch` example.
#'
#' @param strategy `"mirrored"` (or `NULL`: no strategy).
#' @return The strategy (a Python object), invisibly.
#' @examplesIf cnnkit_available()
#' strategy <- distribution_strategy("mirrored")   # first thing in a script, on every worker
#' strategy$num_replicas_in_sync
#' fm <- load_fashion_mnist(n = 64)
#' model <- simple_cnn(c(28, 28, 1), blocks = 1, filters = 4, units = 8, num_classes = 10)
#' fit_classifier(model, list(fm$x_train, fm$y_train), epochs = 1, strategy = "mirrored", verbose = 0)
#' @export
distribution_strategy <- function(strategy = "mirrored") {
  invisible(cnnkit_call("distribution_strategy", .args = capture_args()))
}
