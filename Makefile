# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup demo test benchmark clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'

setup: $(VENV)/.installed  ## create the virtual environment with the pinned requirements

$(VENV)/.installed: requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

demo: setup  ## train every app on its offline default data and export it to exported/
	$(BIN)/python -m shared.demo

test: setup  ## run the test suite
	$(BIN)/python -m pytest

benchmark: setup  ## quality benchmarks on the real datasets in ../shared/data (long)
	$(BIN)/python -m benchmarks.sentiment_imdb
	$(BIN)/python -m benchmarks.ner_conll2003
	$(BIN)/python -m benchmarks.stocks_sp500
	$(BIN)/python -m benchmarks.captioning_flickr8k
	$(BIN)/python -m benchmarks.translation

clean:  ## remove runs, caches and exports (keeps the virtual environment)
	rm -rf runs cache exported/*/ exported/models.config
