# litreview: `make run` sets everything up and serves the app on the sample library; `make test` runs the tests.
VENV ?= .venv
LR := $(VENV)/bin/litreview

.PHONY: setup run test lint bench

setup:
	bash scripts/setup.sh

run: setup
	$(LR) ingest --sample
	$(LR) ui

test:
	bash scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check assistant tests evals
	$(VENV)/bin/mypy assistant

bench: setup
	$(VENV)/bin/python benchmarks/core.py
	$(VENV)/bin/litreview eval --suite qa --sample --llm extractive
	$(VENV)/bin/litreview eval --suite qa --sample --llm local
	$(VENV)/bin/python benchmarks/survey_speed.py
	$(VENV)/bin/python benchmarks/scale.py
