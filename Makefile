# cnnkit: two commands for a fresh machine (each does its own set-up, idempotently).
#   make train  the main job: train the default CNN on Fashion-MNIST, print test accuracy, save a run
#   make check  the everyday tier (scripts/test.sh --tier=fast): ruff + mypy (scripts/lint.sh), then the
#               tests not marked slow -- each module's fast tests, a sample of the contract (fuzz)
#               matrices, the R suite's fast files -- 158 s on 2 idle cores (AMD EPYC)
#   make test   the whole suite, what CI runs: ruff + mypy, all tests, Python (pytest) and R (testthat,
#               via pytest), R CMD check, then the Python-only install; about 20 min on 2 cores
#   make lint   just ruff and mypy (scripts/lint.sh): about 5 s (0.5 s with mypy's cache)
#   make demo   build and summarise the slides' models
#   make bench  the main job's benchmark (>= 92 % test accuracy in <= 120 s of training on 2 cores)
#   make docs   regenerate the R help pages (man/) and NAMESPACE from the roxygen comments in R/
.PHONY: setup train check test lint demo bench docs

setup:
	bash scripts/setup.sh

train: setup
	.venv/bin/cnnkit train

check:
	bash scripts/test.sh --tier=fast

test:
	bash scripts/test.sh

lint: setup
	bash scripts/lint.sh

demo: setup
	.venv/bin/python -m cnnkit summary

bench: setup
	.venv/bin/python bench/acceptance/main_job.py

docs:
	bash scripts/docs.sh
