# Payment Dashboard: `make run` starts everything locally, `make test` runs every test.
# Both bootstrap what they need (.venv, pinned Python and npm packages; Chromium and
# redis-server for tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint lock bench install vendor clean help

help:
	@echo "make run    start DynamoDB Local, sign-in provider and the app on http://127.0.0.1:5000"
	@echo "make test   run every test (unit, integration, browser)"
	@echo "make lint   ruff, import-linter (imports run one way) and mypy: see pyproject.toml"
	@echo "make lock   rewrite requirements*.lock from requirements*.txt (UPGRADE=name also upgrades name)"

# Installs exactly what the lock files hold, every package checked against its hash.
$(STAMP): requirements.txt requirements-dev.txt requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python scripts/check_lock.py
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-dev.lock
	touch $(STAMP)

# requirements.txt and requirements-dev.txt hold the pins we choose; the lock files add every
# package those need, pinned, with the hashes of every file PyPI has for each. A rerun keeps every
# pin it can: only what the .txt files changed moves, and UPGRADE="name ..." moves those too.
# One resolution for Linux, macOS and Windows on Python 3.11 (--universal); the dev lock is held
# to the runtime lock's versions, so the Dockerfile runs what the tests ran. uv does the resolving,
# from a venv of its own under var/, and reads no pip or uv configuration of this machine.
UV_VERSION := 0.13.8
LOCK_TOOLS := var/lock-tools
UV_COMPILE = $(LOCK_TOOLS)/bin/uv pip compile --quiet --no-config --universal \
	--python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
	$(addprefix --upgrade-package ,$(UPGRADE))

$(LOCK_TOOLS)/uv-$(UV_VERSION):
	rm -rf $(LOCK_TOOLS)
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

lock: $(LOCK_TOOLS)/uv-$(UV_VERSION)
	@if grep -qs '^<<<<<<<' requirements.lock requirements-dev.lock; then \
		echo "A lock file has merge conflict markers: keep one side (git checkout --ours" \
			"requirements.lock requirements-dev.lock), then run make lock again." >&2; \
		exit 1; \
	fi
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock

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
	$(BIN)/mypy

# Copy the pinned front-end assets from node_modules into static/vendor/ (committed).
vendor: node_modules/.package-lock.json
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx-2.0.11.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico-2.1.1.min.css

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache
