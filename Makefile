# Plenary: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := FLASK_APP=wsgi.py $(BIN)/flask
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: icu run test install install-dev migrate seed serve chromium axe services test-sqlite test-postgresql lint bench screenshots clean wrk bench-scale

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# PyICU (display-name look-alikes) builds against the system's ICU: Debian's
# libicu-dev, pkg-config and a C++ compiler, installed with apt where missing.
icu:
	@if pkg-config --exists icu-uc 2>/dev/null && command -v c++ >/dev/null 2>&1; then \
		true; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libicu-dev pkg-config g++ >/dev/null; \
	else \
		echo "ICU's headers are missing (Debian: apt-get install libicu-dev pkg-config g++): PyICU will not build"; \
	fi

$(VENV)/.installed: pyproject.toml | $(BIN)/python icu
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python icu
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed --demo

# Creates .venv, installs, migrates, seeds, and serves on http://127.0.0.1:5000,
# with the mail worker (huey_consumer) in the background, stopped on exit.
run: seed
	@echo "Plenary is on http://$(HOST):$(PORT)/ (Ctrl-C stops it and its mail worker)"
	@export SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}"; \
	$(BIN)/huey_consumer app.tasks.huey --workers 2 --worker-type thread & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright's own download cannot work here).
chromium:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium || echo /usr/bin/chromium)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium is missing and apt-get is not usable: browser tests will skip (and fail under CI=true)"; \
	fi

# axe-core from the npm registry, injected by the browser tests to check accessibility.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --silent && touch $@; \
	else \
		echo "npm is missing: accessibility checks will skip (and fail under CI=true)"; \
	fi

axe: node_modules/axe-core/axe.min.js

# The local PostgreSQL the tests create their databases on, and the Redis the
# shared rate-limit test uses (each started if it is down and installed).
services:
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
			pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start || true; \
			for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
		fi; \
	fi
	@if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true; \
		for i in $$(seq 1 10); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; \
	fi

test-sqlite: install-dev chromium axe
	$(BIN)/pytest --db=sqlite $(PYTEST_ARGS)

test-postgresql: install-dev services
	$(BIN)/pytest --db=postgresql --ignore=tests/browser $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/bandit -q -c pyproject.toml -r app

# Installs what tests need and runs everything: the SQLite pass (with the browser) and the
# PostgreSQL pass side by side, as each spends much of its time waiting on its database or
# its servers (logs in .test-logs/, printed when both are done), then the static checks.
test: install-dev chromium axe services
	@mkdir -p .test-logs
	@echo "==> Test suites on SQLite (with the Chromium journeys) and on PostgreSQL, side by side"
	@$(BIN)/pytest --db=sqlite $(PYTEST_ARGS) > .test-logs/sqlite.log 2>&1 & sqlite=$$!; \
	$(BIN)/pytest --db=postgresql --ignore=tests/browser $(PYTEST_ARGS) > .test-logs/postgresql.log 2>&1 & postgresql=$$!; \
	wait $$sqlite; s=$$?; wait $$postgresql; p=$$?; \
	echo "==> Test suite on SQLite, with the Chromium journeys (exit $$s)"; cat .test-logs/sqlite.log; \
	echo "==> Test suite on PostgreSQL (exit $$p)"; cat .test-logs/postgresql.log; \
	[ $$s -eq 0 ] && [ $$p -eq 0 ]
	@echo "==> Static checks"
	$(BIN)/ruff check .
	$(BIN)/bandit -q -c pyproject.toml -r app

# wrk from apt where it is missing (bench/run.py falls back to its Python load generator).
wrk:
	@if command -v wrk >/dev/null 2>&1; then \
		echo "wrk: $$(command -v wrk)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || true; \
	else \
		echo "wrk is missing and apt-get is not usable: the Python load generator will drive the pages"; \
	fi

# Pages under load on SQLite and PostgreSQL against bench/hello.py, and the co-signing run
# (a few minutes; BENCH_ARGS="--duration 10" for longer runs, "--db sqlite" for one database).
BENCH_ARGS ?=
bench: install wrk services
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The demo pages before and after adding the 1,000,000-comment scale data set.
bench-scale: install wrk services
	$(BIN)/python bench/run.py --scale $(BENCH_ARGS)

# Desktop (1280 px, light and dark) and phone (360 px) PNGs of the seeded site in
# docs/screenshots/: a fresh SQLite database, `flask seed --demo`, a real server on 127.0.0.1.
screenshots: install-dev chromium
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
