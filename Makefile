# Watchfloor: `make demo` runs everything locally, `make test` runs the whole test suite.
# Both first run scripts/bootstrap.sh (system packages, .venv, requirements; quick when nothing is missing).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help bootstrap demo test lint format bench

help:
	@echo "make demo       start Redis (embedded), consumer, worker, simulator and the web app; Ctrl-C stops all"
	@echo "make test       run the whole test suite (unit, integration, browser)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make bench      run the benchmarks in bench/ (they print their figures)"
	@echo "make bootstrap  install what is missing (system packages as root, .venv, requirements)"

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(PY) -m core.demo

test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: bootstrap
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: bootstrap
	@shopt -s nullglob; set -e; files=(bench/*.py); \
	for f in "$${files[@]}"; do \
	  case "$$(basename "$$f")" in __init__.py|_*) continue;; esac; \
	  m="$${f%.py}"; echo "== $${m//\//.}"; $(PY) -m "$${m//\//.}"; \
	done
