# The few commands people type. Every target sets up .venv itself; there is no other set-up step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MANAGE := $(BIN)/python example_site/manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test test-django6 bench lint docs db-stop clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes: the library (editable) with every extra, and the
# dev and demo dependency groups (pip 25.1 or newer reads those: hence the upgrade first).
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --group dev --group demo -e '.[drf,redis,binary]'
	touch $@

## demo: migrate, seed the demo tenants and serve them at http://<tenant>.localhost:8000/
demo: $(INSTALLED)
	$(MANAGE) migrate_schemas --noinput
	$(MANAGE) seed_demo --port $(PORT)
	DEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)

## test: the whole test suite (benchmarks run once each, unmeasured), then tests/plain: the
## engine in a plain Django project without django-tenants, a run of its own (other settings),
## then tests/owntenant: a django-tenants project with its own tenant model and its own app
## labelled "tenants", a third run. Any run failing fails the target, and so does a run that
## collects nothing (exit 5). PYTEST_ARGS goes to the first run, PLAIN_PYTEST_ARGS to the
## second, OWNTENANT_PYTEST_ARGS to the third.
test: $(INSTALLED)
	$(BIN)/pytest --benchmark-disable $(PYTEST_ARGS)
	$(BIN)/pytest tests/plain --ds=tests.settings_plain --benchmark-disable $(PLAIN_PYTEST_ARGS)
	$(BIN)/pytest tests/owntenant --ds=tests.settings_owntenant --benchmark-disable \
	  $(OWNTENANT_PYTEST_ARGS)

## test-django6: the same three runs on the newest Django 6 (it needs Python 3.12), in .venv-django6
DJANGO6_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
DJANGO6_VENV := .venv-django6
test-django6:
	@command -v $(DJANGO6_PYTHON) >/dev/null || { echo "test-django6 needs $(DJANGO6_PYTHON) (Django 6 requires Python 3.12)"; exit 1; }
	[ -x $(DJANGO6_VENV)/bin/python ] || $(DJANGO6_PYTHON) -m venv $(DJANGO6_VENV)
	$(DJANGO6_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DJANGO6_VENV)/bin/python -m pip install --quiet --group dev --group demo -e '.[drf,redis,binary]' 'Django>=6,<6.2'
	SWITCHYARD_TEST_DATABASE=test_switchyard_django6 \
	  $(DJANGO6_VENV)/bin/pytest --benchmark-disable -q -m "not slow" $(PYTEST_ARGS)
	SWITCHYARD_TEST_DATABASE=test_switchyard_django6 \
	  $(DJANGO6_VENV)/bin/pytest tests/plain --ds=tests.settings_plain --benchmark-disable -q
	SWITCHYARD_TEST_DATABASE=test_switchyard_django6 \
	  $(DJANGO6_VENV)/bin/pytest tests/owntenant --ds=tests.settings_owntenant --benchmark-disable -q

## bench: the benchmarks, measured, with their ratios printed
bench: $(INSTALLED)
	$(BIN)/pytest tests/benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds -s $(PYTEST_ARGS)

## lint: ruff (lint + format check) and mypy; starts no database (mypy's Django plugin reads
## example_site/settings_typecheck.py)
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy conditions engine tenants example_site

## docs: the documentation site (docs/, Sphinx with MyST Markdown and furo) into
## docs/_build/html; any warning (a broken cross-reference, a missing page) fails it
docs: $(INSTALLED)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

## db-stop: stop the embedded PostgreSQL (it otherwise keeps running between commands), whatever
## its handle list holds
db-stop: $(INSTALLED)
	$(BIN)/python -m example_site.database stop

clean: db-stop
	rm -rf $(VENV) .pgdata
