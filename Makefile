# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2
# parallel test workers: 2 suits a 2-core machine (see README, "Tests")
WORKERS ?= 2
XDIST = -n $(WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: help setup demo demo-quick test test-fast benchmark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

setup: $(VENV)/.installed  ## create the virtual environment with the pinned requirements

$(VENV)/.installed: requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

demo: setup  ## train every app on its offline data, export it and predict with both runtimes (about 3.5 minutes on 2 cores)
	$(BIN)/python -m shared.demo

demo-quick: setup  ## the same for sentiment and NER only (about a minute)
	$(BIN)/python -m shared.demo --quick

test: setup  ## the whole test suite, what CI runs (about 13 minutes on 2 cores); ends with the slowest 20 tests
	$(BIN)/python -m pytest $(XDIST)

test-fast: setup  ## the pure-Python and small tests only (under a minute): the development loop
	$(BIN)/python -m pytest $(XDIST) -m "not slow"

benchmark: setup  ## quality benchmarks on the real datasets in ../shared/data (long)
	$(BIN)/python -m benchmarks.sentiment_imdb
	$(BIN)/python -m benchmarks.ner_conll2003
	$(BIN)/python -m benchmarks.stocks_sp500
	$(BIN)/python -m benchmarks.captioning_flickr8k
	$(BIN)/python -m benchmarks.translation

clean:  ## remove runs, caches and exports (keeps the virtual environment)
	rm -rf runs cache exported/*/ exported/models.config
