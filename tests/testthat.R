library(testthat)
library(cnnkit)

test_check("cnnkit")
