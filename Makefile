# The two commands of the README: `make demo` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
EMULATOR_PORT ?= 8765
PYTEST_ARGS ?=

.PHONY: help demo test lint check-django test-sqlite test-postgres services browser-deps package messages test-matrix bench docs clean

help:
	@echo "make demo    run the example site on http://$(DEMO_HOST):$(DEMO_PORT) against the local X emulator"
	@echo "make test    install test dependencies and run every check and test"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make docs    build the documentation (warnings are errors)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install only when the package metadata changes.
$(VENV)/.installed-%: $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e ".[$*]"
	@touch $@

demo: $(VENV)/.installed-example
	$(PY) manage.py migrate --noinput
	@echo "X emulator: http://127.0.0.1:$(EMULATOR_PORT)   site: http://$(DEMO_HOST):$(DEMO_PORT)   (Ctrl-C stops both)"
	@# The sender sends posts scheduled for later and retries (with a broker, `celery -A example_project worker -B` does).
	@$(PY) -m twitter_oauth.testing --port $(EMULATOR_PORT) & emulator=$$!; \
	$(PY) manage.py twitter_send_due --every 5 & sender=$$!; \
	trap 'kill $$emulator $$sender 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM; \
	$(PY) manage.py runserver $(DEMO_HOST):$(DEMO_PORT)

services:
ifeq ($(REQUIRE_SERVICES),1)
	bash $(SHARED)/services.sh
else
	@echo "services: not required (REQUIRE_SERVICES=1 makes missing PostgreSQL, Redis or RabbitMQ an error)"
endif

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

check-django: $(VENV)/.installed-test
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -q -p no:cacheprovider tests/test_migrations.py

test-sqlite: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

# PostgreSQL runs only the tests marked `postgres` plus everything touching the
# database layer's behaviour; without REQUIRE_SERVICES an absent server skips it.
test-postgres: $(VENV)/.installed-test
	@if [ "$${REQUIRE_SERVICES:-0}" != 1 ] && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  echo "test-postgres: skipped, no PostgreSQL on 127.0.0.1:5432 (REQUIRE_SERVICES=1 makes this an error)"; \
	else \
	  DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest $(PYTEST_ARGS); \
	fi

# Debian's Chromium for the Playwright tests (Playwright never downloads a browser here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "browser-deps: installing Debian's chromium"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; } \
	    || echo "browser-deps: chromium could not be installed; the browser tests will skip (fail with REQUIRE_SERVICES=1)"; \
	}

# The sdist and wheel: contents, metadata, manifest, and the wheel used in a fresh virtualenv.
package: $(VENV)/.installed-test
	rm -rf dist build
	$(PY) -m build --outdir dist . > /dev/null
	$(VENV)/bin/twine check --strict dist/*
	$(VENV)/bin/check-manifest
	$(PY) scripts/check_dist.py dist

test: services browser-deps lint check-django test-sqlite test-postgres package docs

# Regenerate and compile the English catalogue after changing user-facing strings (GNU gettext).
messages: $(VENV)/.installed-test
	@# English is the source language: nothing in the old catalogue is worth keeping, and
	@# msgmerge's fuzzy matches would give a new message an old message's text.
	rm -f twitter_oauth/locale/en/LC_MESSAGES/django.po
	cd twitter_oauth && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=.. ../$(PY) -m django makemessages -l en --no-obsolete
	@# Its translations are the messages themselves.
	msgen --no-wrap -o twitter_oauth/locale/en/LC_MESSAGES/django.po twitter_oauth/locale/en/LC_MESSAGES/django.po
	cd twitter_oauth && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=.. ../$(PY) -m django compilemessages

# Python 3.12 and 3.13 come from pyenv; nox finds them on PATH.
PYENV_BINS := $(shell ls -d $$HOME/.pyenv/versions/3.1[23].*/bin 2>/dev/null | sort -V | tr '\n' ':')
MATRIX ?=

test-matrix: $(VENV)/.installed-test
	PATH="$(PYENV_BINS)$$PATH" $(VENV)/bin/nox -s '$(if $(MATRIX),$(MATRIX),tests)'

bench: $(VENV)/.installed-test
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

docs: $(VENV)/.installed-docs
	$(VENV)/bin/sphinx-build -E -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) .nox build dist *.egg-info docs/_build .pytest_cache .ruff_cache
