# Two commands do all set-up: `make demo` and `make test` (README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ODBC_PACKAGES := unixodbc odbc-mariadb odbc-postgresql
# headless Chromium + ChromeDriver for the browser test (tests/test_browser.py)
BROWSER_PACKAGES := chromium chromium-driver

# run history and schedule state survive between runs (a temporary instance otherwise)
export DAGSTER_HOME := $(CURDIR)/data/dagster_home
export CREDITCTL_DATA_DIR := $(CURDIR)/data
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test lint dev setup debian bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@

# Debian's ODBC driver manager and drivers (pyodbc connectors) and Chromium (browser test); root: apt
debian:
	@missing=""; for p in $(ODBC_PACKAGES) $(BROWSER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# the instance config (one writeback at a time, retries of dead runs) has one source, shared with
# the CLI, which writes the same file into <data dir>/dagster_home when DAGSTER_HOME is unset
$(DAGSTER_HOME)/dagster.yaml: creditctl/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp creditctl/dagster.yaml $@

setup: $(BIN)/.installed debian $(DAGSTER_HOME)/dagster.yaml

demo: setup
	$(BIN)/creditctl demo

# two workers for the two cores (the suite's budget is 15 minutes); a test file stays on one worker
test: setup
	$(BIN)/pytest -n 2 --dist loadfile

# benchmarks (not part of the tests): results in bench/results/*.json, summarised in docs/
bench: setup
	$(BIN)/python bench/rules_bench.py
	$(BIN)/python bench/positions_bench.py
	$(BIN)/python bench/odoo_extract_bench.py
	$(BIN)/python bench/erpnext_bench.py
	$(BIN)/python bench/nightly_bench.py
	$(BIN)/python bench/partition_bench.py --executor in_process

lint: setup
	$(BIN)/ruff check .

# the Dagster UI on the demo ERP (after `make demo`)
dev: setup
	CREDITCTL_CONFIG=$(CURDIR)/data/demo/creditctl.yaml $(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf data
