# cnnkit: two commands for a fresh machine (each does its own set-up, idempotently).
#   make test   all tests, Python (pytest) and R (testthat, via pytest), plus R CMD check
#   make demo   the main job for now: build and summarise the slides' models
.PHONY: setup test demo

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

demo: setup
	.venv/bin/python -m cnnkit summary
