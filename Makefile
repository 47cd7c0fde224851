# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test test-deps lint fuzz bench validate package clean
FPL := tools/fpl/node_modules/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/cpt-plugin serve --host $(HOST) --port $(PORT)

# test-deps comes first so a machine that cannot get Chromium, PostgreSQL or Node.js stops before the pip install.
test: test-deps $(FPL) $(VENV)/.installed-test
	$(BIN)/ruff check plugin tests tools
	$(BIN)/python -m pytest

# Debian chromium, postgresql, nginx and nodejs/npm for the browser, storage, scale-out and package tests:
# installed when missing (as root), otherwise one line says what to install.
test-deps:
	@bash tools/ensure-test-deps

# fhir-package-loader (the loader SUSHI uses) for tests/package: the versions pinned in the committed
# package-lock.json, installed into tools/fpl/node_modules (never globally).
$(FPL): tools/fpl/package.json tools/fpl/package-lock.json | test-deps
	npm ci --prefix tools/fpl --no-audit --no-fund --loglevel=error
	touch $@

# Production-mode benchmark (docs/performance.md). wrk comes from Debian when we may install it;
# otherwise the built-in Python load generator drives the servers. BENCH_ARGS passes options through.
# The harness is tools/bench, beside the product: the `bench` extra's editable install brings it.
bench: $(VENV)/.installed-bench
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; }; } || \
	  echo "wrk is not available: the built-in Python load generator will be used"
	$(BIN)/cpt-plugin bench $(BENCH_ARGS)

# 10,000+ generated requests against a real gunicorn server (tests/fuzz/run_fuzz.py); FUZZ_ARGS e.g. --seed 7
fuzz: $(VENV)/.installed-test
	$(BIN)/python tests/fuzz/run_fuzz.py --min-requests 10000 $(FUZZ_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check plugin tests tools
	$(BIN)/ruff format --check plugin tests tools

validate: $(VENV)/.installed
	$(BIN)/cpt-plugin validate

# The FHIR NPM package of the published content (docs/publish.md); OUT=dir to choose where.
OUT ?= var/package
package: $(VENV)/.installed
	$(BIN)/cpt-plugin package --out $(OUT)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var tools/fpl/node_modules
