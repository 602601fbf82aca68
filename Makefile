# Switchboard: `make dev` starts the whole product locally, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export TZ := UTC
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: dev test unit integration browser bench lint chromium clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	@touch $@

# Browser tests drive Debian's chromium through Playwright; nothing is downloaded at run time.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium (needs root)..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

dev: $(VENV)/.installed
	$(PY) -m infra.devstack

test: $(VENV)/.installed chromium
	$(PY) -m pytest -q

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

integration: $(VENV)/.installed
	$(PY) -m pytest -q tests/integration

browser: $(VENV)/.installed chromium
	$(PY) -m pytest -q tests/e2e

bench: $(VENV)/.installed
	$(PY) -m tests.bench

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check shared functions infra tests
	$(VENV)/bin/cfn-lint template.yaml

clean:
	rm -rf $(VENV) .devstack .pytest_cache
