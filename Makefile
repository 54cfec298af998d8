# Quick start: `make report` then open the printed reports/latest/index.html; `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := data/sample
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
SPARKSTAMP := $(VENV)/.installed-spark
SCALE ?= small

.PHONY: report test test-spark lab sample validate bench clean help

help:
	@echo "make report  - set up .venv, generate sample data, run every notebook, render HTML"
	@echo "make test    - set up .venv with dev extras and run the whole suite"
	@echo "make test-spark - the lead, conversion and pipeline metrics on a local Spark (Java 17) against DuckDB"
	@echo "make bench SCALE=small|medium|large|xlarge - time and memory figures into benchmarks/README.md"
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

$(SPARKSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $@ $(DEVSTAMP) $(STAMP)

$(SAMPLE)/opportunities.csv: | $(STAMP)
	$(BIN)/salesnb sample --out $(SAMPLE) --scale small --seed 42

sample: $(SAMPLE)/opportunities.csv

report: $(STAMP) sample
	$(BIN)/salesnb run --data $(SAMPLE)

validate: $(STAMP) sample
	$(BIN)/salesnb validate --data $(SAMPLE)

# JupyterLab refuses to start as root ("Running as root is not recommended") unless told so:
# containers and these machines run as root. LAB_OPTIONS adds options, e.g. to open it from
# another machine: make lab LAB_OPTIONS="--ip=0.0.0.0 --no-browser" (README, "Notebooks in JupyterLab").
LAB_OPTIONS ?=
ROOT_OPTION := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP) sample
	$(BIN)/jupyter lab notebooks/ $(ROOT_OPTION) $(LAB_OPTIONS)

# Unit, notebook and runner tests, then nbval executes every notebook top to bottom with its
# default parameters (on data/sample), as an analyst would in JupyterLab.
test: $(DEVSTAMP) sample
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbval-lax notebooks -p no:cacheprovider

# The same KPIs from a local Spark session as from DuckDB (tests marked 'spark').
test-spark: $(SPARKSTAMP)
	$(BIN)/python -m pytest --spark -m spark -p no:cacheprovider

# Time and peak memory per scale; the figures are written into benchmarks/README.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --scale $(SCALE)

clean:
	rm -rf $(VENV) .pytest_cache
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
