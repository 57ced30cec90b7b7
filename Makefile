# tanpuhui — the verbs people expect. `make run` and `make test` set everything up on their own.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help venv run test lint typecheck pytest migrate bench bench-dashboard load load-faults openapi console console-check screenshots clean

help:
	@echo "make run        serve on http://127.0.0.1:8000 (embedded PostgreSQL unless TANPUHUI_DATABASE_URL is set)"
	@echo "make test       lint, type checks and the whole test suite against a real PostgreSQL"
	@echo "make lint       ruff lint and format check, and the import contracts (pyproject.toml)"
	@echo "make typecheck  mypy --strict"
	@echo "make bench      recording throughput against the floor of the same writes (JSON lines)"
	@echo "make bench-dashboard  the dashboard's server time over 1,000,000 residents and 5,000,000 entries"
	@echo "make load       a Locust morning rush against the service, judged by load_tests/thresholds.toml"
	@echo "make load-faults the same while an API worker is killed and PostgreSQL restarted"
	@echo "make openapi    export the OpenAPI document to mobile_api_docs/openapi.json"
	@echo "make console    rebuild the console (console/, Node 20 and npm) into service/console/"
	@echo "make console-check  fail when the typed client or the shipped bundle is not built from the sources"
	@echo "make screenshots  the README's console screenshots, taken by the browser tests"
	@echo "make migrate    alembic upgrade head on TANPUHUI_DATABASE_URL"
	@echo "make clean      remove the virtualenv and the local data folder"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tanpuhui needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/tanpuhui serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests run in PYTEST_WORKERS processes (pytest-xdist), more than a two-core machine has cores: a test
# spends much of its time waiting on PostgreSQL or on a subprocess. Work stealing evens out the slow
# tests. `.venv/bin/pytest` alone runs in one process.
PYTEST_WORKERS ?= 3

pytest: $(STAMP)
	$(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist worksteal

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m load_tests.bench

bench-dashboard: $(STAMP)
	$(BIN)/python -m load_tests.dashboard

load: $(STAMP)
	$(BIN)/python -m load_tests.run $(LOAD_ARGS)

load-faults: $(STAMP)
	$(BIN)/python -m load_tests.run --faults $(LOAD_ARGS)

openapi: $(STAMP)
	$(BIN)/tanpuhui openapi

migrate: $(STAMP)
	$(BIN)/tanpuhui migrate upgrade head

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The console: its typed client from the API document, then its bundle into the Python package.
console/node_modules/.package-lock.json: console/package-lock.json
	cd console && npm ci --no-audit --no-fund

console: console/node_modules/.package-lock.json
	cd console && npm run client && npm run build

console-check: console
	@changed="$$(git status --porcelain -- console/src/api/schema.d.ts service/console)"; \
	if [ -n "$$changed" ]; then echo "$$changed"; echo "rebuilt from the sources, these differ from what is committed"; exit 1; fi

screenshots: $(STAMP)
	CONSOLE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/console -k "dashboard or held_reports"

