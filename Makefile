# Quick start: `make report` then open the printed reports/latest/index.html; `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := data/sample
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: report test lab sample validate bench clean help

help:
	@echo "make report  - set up .venv, generate sample data, run every notebook, render HTML"
	@echo "make test    - set up .venv with dev extras and run the whole suite"
	@echo "make lab     - open JupyterLab on the notebooks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMP)

$(SAMPLE)/opportunities.csv: | $(STAMP)
	$(BIN)/salesnb sample --out $(SAMPLE) --scale small --seed 42

sample: $(SAMPLE)/opportunities.csv

report: $(STAMP) sample
	$(BIN)/salesnb run --data $(SAMPLE)

validate: $(STAMP) sample
	$(BIN)/salesnb validate --data $(SAMPLE)

lab: $(STAMP) sample
	$(BIN)/jupyter lab notebooks/

# Unit, notebook and runner tests, then nbval executes every notebook top to bottom with its
# default parameters (on data/sample), as an analyst would in JupyterLab.
test: $(DEVSTAMP) sample
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbval-lax notebooks -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
