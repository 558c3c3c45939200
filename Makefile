# The few commands people type. Every target sets up .venv itself; there is no other set-up step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MANAGE := $(BIN)/python example_site/manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test bench lint db-stop clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,drf,redis]'
	touch $@

## demo: migrate, seed the demo tenants and serve them at http://<tenant>.localhost:8000/
demo: $(INSTALLED)
	$(MANAGE) migrate_schemas --noinput
	$(MANAGE) seed_demo --port $(PORT)
	DEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)

## test: the whole test suite (benchmarks run once each, unmeasured), then tests/plain: the
## engine in a plain Django project without django-tenants, a run of its own (other settings).
## Either run failing fails the target, and so does a run that collects nothing (exit 5).
## PYTEST_ARGS goes to the first run, PLAIN_PYTEST_ARGS to the second.
test: $(INSTALLED)
	$(BIN)/pytest --benchmark-disable $(PYTEST_ARGS)
	$(BIN)/pytest tests/plain --ds=tests.settings_plain --benchmark-disable $(PLAIN_PYTEST_ARGS)

## bench: the benchmarks, measured, with their ratios printed
bench: $(INSTALLED)
	$(BIN)/pytest tests/benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds -s $(PYTEST_ARGS)

## lint: ruff (lint + format check) and mypy
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy conditions engine tenants example_site

## db-stop: stop the embedded PostgreSQL (it otherwise keeps running between commands)
db-stop: $(INSTALLED)
	$(BIN)/python -m example_site.database stop

clean: db-stop
	rm -rf $(VENV) .pgdata
