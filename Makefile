# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

SCALE_QUICK := --sizes 0,100000
.PHONY: demo test lint typecheck imports unit services browser bench serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing Frictionlog and its dependencies into $(VENV) (3-4 minutes the first time) ..."
	$(BIN)/pip install --progress-bar on -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/frictionlog demo

serve: $(STAMP)
	$(BIN)/frictionlog serve

test: $(DEV_STAMP) services browser lint typecheck imports unit

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

imports: $(DEV_STAMP)
	$(BIN)/lint-imports

unit: $(DEV_STAMP)
	$(BIN)/pytest

browser:
	@bash scripts/ensure-chromium.sh

# PostgreSQL and Redis on 127.0.0.1 are needed by the integration tests: start them if installed but down.
services:
	@bash scripts/ensure-services.sh

# Benchmarks write their figures to BENCHMARKS.md (QUICK=1 for a smoke run that writes nothing).
bench: $(DEV_STAMP) services
	@command -v wrk >/dev/null || (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
	$(BIN)/python -m bench.ingest $(if $(QUICK),--quick)
	$(BIN)/python -m bench.processing $(if $(QUICK),--quick)
	$(BIN)/python -m bench.lag $(if $(QUICK),--quick)
	$(BIN)/python -m bench.lag --embedded $(if $(QUICK),--quick)
	$(BIN)/python -m bench.scale $(if $(QUICK),$(SCALE_QUICK))
	$(BIN)/python -m bench.slack_command $(if $(QUICK),--quick)
	$(BIN)/python -m bench.metrics $(if $(QUICK),--quick)
	$(BIN)/python -m bench.web $(if $(QUICK),--quick)
	$(BIN)/python -m bench.categoriser $(if $(QUICK),--quick)
	$(BIN)/python -m bench.cost_import $(if $(QUICK),--quick)
	$(BIN)/python -m bench.history_import $(if $(QUICK),--repos 2 --days 30 --no-write)
	$(BIN)/python -m bench.themes $(if $(QUICK),--quick)
	$(BIN)/python -m bench.cli_startup $(if $(QUICK),--quick)
	$(BIN)/python -m bench.effects $(if $(QUICK),--quick)
	$(BIN)/python -m bench.chaos $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
