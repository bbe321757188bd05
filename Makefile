# One task runner for people and CI: `make serve`, `make test`, `make lint`, `make bench`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

INSPECTOR := tests/interop/node_modules/.bin/mcp-inspector

.PHONY: install serve test lint format typecheck bench clean interop

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/maia serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# The MCP inspector (npm) for the interop tests; skipped with a note where npm is missing.
interop:
	@if command -v npm >/dev/null 2>&1; then \
		[ -x $(INSPECTOR) ] || (cd tests/interop && npm ci --no-audit --no-fund --silent); \
	else echo "npm not found: the MCP inspector interop tests will be skipped"; fi

test: lint typecheck interop
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/crud.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info tests/interop/node_modules
