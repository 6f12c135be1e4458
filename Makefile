# Payment Dashboard: `make run` starts everything locally, `make test` runs every test.
# Both bootstrap what they need (.venv, pinned Python and npm packages; Chromium and
# redis-server for tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install vendor clean help

help:
	@echo "make run    start DynamoDB Local, sign-in provider and the app on http://127.0.0.1:5000"
	@echo "make test   run every test (unit, integration, browser)"
	@echo "make lint   ruff, and import-linter (imports run one way: see pyproject.toml)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.package-lock.json

install: $(STAMP) node_modules/.package-lock.json

run: install
	$(BIN)/python -m dashboard.local.run

test: install
	@scripts/ensure-chromium.sh
	@scripts/ensure-redis-server.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Timings on DynamoDB Local at 1,000 and 100,000 payments, and 1,000 and 10,000 orders; writes
# docs/benchmarks.md. The first run bulk-loads the accounts into var/bench-dynamodb, later runs
# reuse them. BENCH_ARGS="--only orders" (or payments) runs one part; "--repeats N" sets the rounds.
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Copy the pinned front-end assets from node_modules into static/vendor/ (committed).
vendor: node_modules/.package-lock.json
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx-2.0.11.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico-2.1.1.min.css

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
