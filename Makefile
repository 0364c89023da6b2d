# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each creates the local virtual environment (.venv) with the pinned dependencies on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?= tixtrace-data

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("tixtrace needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tixtrace demo --data-dir $(DATA)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .hypothesis .mypy_cache .ruff_cache
