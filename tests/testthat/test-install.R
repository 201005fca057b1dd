# install_cnnkit(): a real virtual environment with the bundled Python package installed into it.
# The pinned requirements (TensorFlow, ~1.5 GB) are replaced by a small local file here.

test_that("install_cnnkit() creates an environment holding the bundled cnnkit", {
  python <- Sys.which("python3")
  skip_if(!nzchar(python), "no python3 on the PATH")
  env <- file.path(tempdir(), "cnnkit-env")
  req <- tempfile(fileext = ".txt")
  writeLines("# nothing to install in this test", req)
  on.exit(unlink(env, recursive = TRUE), add = TRUE)
  expect_message(py <- install_cnnkit(env, python = python, requirements = req), "ready")
  expect_true(file.exists(py))
  found <- system2(py, c("-c", shQuote("import importlib.util as u; print(u.find_spec('cnnkit').origin)")),
                   stdout = TRUE)
  expect_match(found, "site-packages.*cnnkit.*__init__.py")
  # idempotent: a second run keeps the environment and succeeds
  expect_message(install_cnnkit(env, python = python, requirements = req), "ready")
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
