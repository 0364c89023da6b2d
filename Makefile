# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# While coding: `make test-fast` (everything but the slow tiers, about five minutes on 2 cores) and `make lint`.
# Each creates the local virtual environment (.venv) with the pinned dependencies on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DATA   ?= tixtrace-data

.PHONY: demo test test-fast lint install clean

# $(call venv_with,REQUIREMENT): the virtual environment with tixtrace installed as REQUIREMENT.
define venv_with
	@$(PYTHON) -c 'import sys; sys.exit("tixtrace needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '$(1)'
	@touch $@
endef

$(STAMP): pyproject.toml
	$(call venv_with,.[dev])

# The demo needs only the runtime dependencies (no test, lint or browser tools).
$(RUNTIME_STAMP): pyproject.toml
	$(call venv_with,.)

install: $(STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/tixtrace demo --data-dir $(DATA)

# Everything, slow tiers included, on every core (pytest-xdist; tests that share a resource across
# workers would be grouped with xdist_group, none does: databases, ports and files are per worker).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

# Everything but the tests marked `slow` (SIGKILL, crash, concurrency, load, schemathesis, stateful, browser).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n auto --dist worksteal $(PYTEST_ARGS)

# Style, types, and the import contracts of pyproject.toml (layers, no cycles: DESIGN section 11).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache
