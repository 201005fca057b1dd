# Which Python cnnkit uses, the paragraph its first call gives where that Python cannot run cnnkit,
# the set-up doctor cnnkit_config(), and the requirements declared with py_require(). The cases that
# depend on how Python was chosen run in an Rscript of their own (a Python, once started, stays).

# Rscript running `code` after `setup` (lines run before anything loads); its output, one string.
run_r <- function(code, setup = character()) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script), add = TRUE)
  writeLines(c("Sys.unsetenv(c('RETICULATE_PYTHON', 'RETICULATE_PYTHON_ENV', 'RETICULATE_PYTHON_FALLBACK', 'VIRTUAL_ENV'))",
               setup, code), script)
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", shQuote(script)),
                                  stdout = TRUE, stderr = TRUE))
  paste(out, collapse = "\n")
}

# A virtual environment with nothing installed: no Keras, TensorFlow or NumPy.
bare_venv <- function() {
  env <- tempfile("cnnkit-bare-")
  status <- system2(Sys.which("python3"), c("-m", "venv", "--without-pip", shQuote(env)))
  if (!identical(as.integer(status), 0L)) stop("could not create a test venv")
  file.path(env, "bin", "python")
}

# A virtualenv root holding `r-cnnkit`: a link to this test run's working environment.
env_root_with_r_cnnkit <- function() {
  root <- tempfile("cnnkit-venvs-")
  dir.create(root)
  working <- dirname(dirname(reticulate::py_config()$python))
  file.symlink(working, file.path(root, "r-cnnkit"))
  root
}

venv_roots <- function(root) {
  sprintf("Sys.setenv(WORKON_HOME = '%s', RETICULATE_VIRTUALENV_ROOT = '%s')", root, root)
}

test_that("cnnkit_config() reports R's side and the Python report on one screen", {
  skip_if_no_python()
  cfg <- cnnkit_config()
  expect_s3_class(cfg, "cnnkit_config")
  expect_true(cfg$ok)
  expect_length(cfg$problems, 0)
  text <- cfg$text
  expect_match(text, paste0("R +", format(getRversion()), ", reticulate ", utils::packageVersion("reticulate")))
  expect_match(text, "Chosen +chosen by the environment variable RETICULATE_PYTHON")
  expect_match(text, "With R +yes: reticulate exchanges arrays with NumPy")
  for (row in c("Python", "Packages", "Together", "CPU", "GPUs", "precision", "Keras cache", "limits")) {
    expect_match(text, paste0("\n", row, " "))
  }
  expect_match(text, "AVX-512 (yes|no)")
  expect_lte(length(strsplit(text, "\n")[[1]]), 26)
  expect_equal(cfg$facts$keras_cache, py_cnnkit()$backbones$cache_dir())
  expect_output(print(cfg), "cnnkit can build and train models here", fixed = TRUE)
  expect_true(cnnkit_available())
})

test_that("a Python without Keras: one paragraph with the fix, never '_Package' object is not subscriptable", {
  python <- bare_venv()
  on.exit(unlink(dirname(dirname(python)), recursive = TRUE), add = TRUE)
  out <- run_r(c(
    "library(cnnkit)",
    "cat('available:', cnnkit_available(), '\\n')",
    "tryCatch(lenet5(), error = function(e) cat('ERROR:', conditionMessage(e), '\\n'))",
    "tryCatch(keras$layers$Dense(1L), error = function(e) cat('KERAS:', conditionMessage(e), '\\n'))",
    "cfg <- cnnkit_config(); cat('ok:', cfg$ok, '\\n'); print(cfg)"),
    setup = sprintf("Sys.setenv(RETICULATE_PYTHON = '%s')", python))
  expect_match(out, "available: FALSE", fixed = TRUE)
  expect_match(out, paste0("ERROR: cnnkit cannot run on this Python: it has no TensorFlow, Keras and NumPy. ",
                           "Python in use: ", python, " (chosen by the environment variable RETICULATE_PYTHON). ",
                           "To fix it: you chose this Python with the environment variable RETICULATE_PYTHON"), fixed = TRUE)
  expect_match(out, "cnnkit_config() shows the whole set-up.", fixed = TRUE)
  expect_match(out, "KERAS: cnnkit cannot run on this Python: it has no TensorFlow", fixed = TRUE)
  expect_false(grepl("subscriptable", out))
  expect_match(out, "ok: FALSE", fixed = TRUE)
  expect_match(out, "TensorFlow MISSING, Keras MISSING, NumPy MISSING", fixed = TRUE)
  expect_match(out, "Fix (R)", fixed = TRUE)
})

test_that("r-cnnkit is used when the user chose no Python, also when something else starts Python first", {
  root <- env_root_with_r_cnnkit()
  on.exit(unlink(root, recursive = TRUE), add = TRUE)
  wd <- tempfile("cnnkit-wd-")  # no ./.venv here (reticulate 1.46 would take it)
  dir.create(wd)
  out <- run_r(c(
    "library(cnnkit)",
    "np <- reticulate::import('numpy')",   # Python started by the user's own code, before cnnkit's first call
    "cat('python:', reticulate::py_config()$python, '\\n')",
    "cat('why:', cnnkit:::python_in_use()$why, '\\n')"),
    setup = c(venv_roots(root), sprintf("setwd('%s')", wd)))
  expect_match(out, paste0("python: ", dirname(dirname(reticulate::py_config()$python))), fixed = TRUE)
  expect_match(out, "why: r-cnnkit, the environment install_cnnkit() made (found by cnnkit)", fixed = TRUE)
})

test_that("Python started before cnnkit was loaded (r-cnnkit exists): the paragraph says what happened", {
  root <- env_root_with_r_cnnkit()
  python <- bare_venv()
  on.exit(unlink(c(root, dirname(dirname(python))), recursive = TRUE), add = TRUE)
  out <- run_r(c(
    "os <- reticulate::import('os')",   # reticulate starts Python (its fallback) before cnnkit is loaded
    "library(cnnkit)",
    "tryCatch(simple_cnn(), error = function(e) cat('ERROR:', conditionMessage(e), '\\n'))"),
    setup = c(venv_roots(root), sprintf("Sys.setenv(RETICULATE_PYTHON_FALLBACK = '%s')", python)))
  expect_match(out, "ERROR: cnnkit cannot run on this Python: it has no TensorFlow, Keras and NumPy.", fixed = TRUE)
  expect_match(out, paste0("Python was already running when cnnkit was first called (something else started it, ",
                           "such as reticulate::import() before library(cnnkit)), so cnnkit could not switch to ",
                           "its environment r-cnnkit (", file.path(root, "r-cnnkit", "bin", "python"), ")"), fixed = TRUE)
  expect_match(out, "Restart R and run library(cnnkit) before anything that starts Python", fixed = TRUE)
  expect_false(grepl("subscriptable", out))
})

test_that("a NumPy the reticulate in use cannot talk to is named, with the fix", {
  expect_match(cnnkit:::numpy_problem("2.4.6", "1.28"),
               "NumPy 2.4.6, and reticulate 1.28 cannot exchange arrays with NumPy 2 \\(update reticulate to 1.36")
  expect_null(cnnkit:::numpy_problem("2.4.6", "1.36"))
  expect_null(cnnkit:::numpy_problem("1.26.4", "1.28"))
  expect_null(cnnkit:::numpy_problem(NULL, "1.28"))
})

test_that("py_require() requirements: one source (pyproject.toml), lower bounds, the platform's TensorFlow", {
  bundle <- cnnkit:::cnnkit_python_path()
  deps <- cnnkit:::pyproject_dependencies(file.path(bundle, "pyproject.toml"))
  toml <- readLines(file.path(bundle, "pyproject.toml"))
  expect_true(all(vapply(deps, function(d) any(grepl(paste0('"', d, '"'), toml, fixed = TRUE)), logical(1))))
  expect_true(any(grepl("^keras>=", deps)) && any(grepl("^numpy>=", deps)) && any(grepl("^tensorflow>=", deps)))
  cpu <- cnnkit:::py_requirements(gpu = FALSE, package = "PKG")
  gpu <- cnnkit:::py_requirements(gpu = TRUE, package = "PKG")
  expect_equal(cpu[length(cpu)], "PKG")                                   # cnnkit's own Python package
  expect_false(any(grepl("==", cpu)))                                     # bounds, not pins
  tf <- sub("^tensorflow", "", grep("^tensorflow>=", deps, value = TRUE))
  linux_x86 <- Sys.info()[["sysname"]] == "Linux" && Sys.info()[["machine"]] == "x86_64"
  if (linux_x86) expect_true(paste0("tensorflow-cpu", tf) %in% cpu)
  expect_true(paste0("tensorflow[and-cuda]", tf) %in% gpu)
  expect_equal(setdiff(cpu, grep("^tensorflow", cpu, value = TRUE)), setdiff(gpu, grep("^tensorflow", gpu, value = TRUE)))
  copy <- cnnkit:::cnnkit_python_copy(bundle)
  expect_true(file.exists(file.path(copy, "pyproject.toml")) && file.exists(file.path(copy, "cnnkit", "config.py")))
  expect_equal(cnnkit:::cnnkit_python_copy(bundle), copy)                 # once per installation
})

test_that("the requirements are declared with py_require() where reticulate has it (>= 1.41)", {
  declared <- cnnkit:::declare_requirements()
  if (utils::packageVersion("reticulate") < "1.41") {
    expect_false(declared)
  } else {
    expect_true(declared)
    packages <- get("py_require", envir = asNamespace("reticulate"))()$packages
    expect_true(all(cnnkit:::py_requirements() %in% packages))
  }
})

test_that("with tensorflow-cpu, uv is told not to install `tensorflow` beside it (UV_OVERRIDE)", {
  old <- Sys.getenv("UV_OVERRIDE", NA)
  on.exit(if (is.na(old)) Sys.unsetenv("UV_OVERRIDE") else Sys.setenv(UV_OVERRIDE = old), add = TRUE)
  Sys.setenv(UV_OVERRIDE = "/mine.txt")
  cnnkit:::uv_override_tensorflow()
  cnnkit:::uv_override_tensorflow()                                       # once only
  files <- strsplit(Sys.getenv("UV_OVERRIDE"), " ", fixed = TRUE)[[1]]
  expect_equal(files[1], "/mine.txt")
  expect_length(files, 2)
  expect_true(any(grepl('^tensorflow; sys_platform == "never"$', readLines(files[2]))))
})
