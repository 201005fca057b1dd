# cnnkit: two commands for a fresh machine (each does its own set-up, idempotently).
#   make train  the main job: train the default CNN on Fashion-MNIST, print test accuracy, save a run
#   make test   all tests, Python (pytest) and R (testthat, via pytest), plus R CMD check
#   make demo   build and summarise the slides' models
#   make bench  the main job's benchmark (>= 92 % test accuracy in <= 120 s of training on 2 cores)
#   make docs   regenerate the R help pages (man/) and NAMESPACE from the roxygen comments in R/
.PHONY: setup train test demo bench docs

setup:
	bash scripts/setup.sh

train: setup
	.venv/bin/cnnkit train

test:
	bash scripts/test.sh

demo: setup
	.venv/bin/python -m cnnkit summary

bench: setup
	.venv/bin/python bench/main_job.py

docs:
	bash scripts/docs.sh
