# RadSynth: `make run` starts the site on embedded defaults; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp
VIEWER_MANIFEST := static/build/.vite/manifest.json
VIEWER_SOURCES := $(shell find static/viewer-src -type f 2>/dev/null) package.json package-lock.json vite.config.js

.PHONY: run test install viewer lint system-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VIEWER_MANIFEST): node_modules/.package-lock.json $(VIEWER_SOURCES)
	npm run --silent build

viewer: $(VIEWER_MANIFEST)

install: $(STAMP) viewer

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py run_stack

test: install
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Debian packages the browser tests and the Orthanc benchmark use (CI runs this via .ci/run).
system-deps:
	bash .ci/system-deps.sh

clean:
	rm -rf $(VENV) node_modules static/build var
