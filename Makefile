# The two commands: `make repro` (set up + dvc repro of every study, quick profile)
# and `make test` (set up + the test suite). Setup runs once; reruns are fast.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.archlab-installed
EXAMPLE_STAMP := $(VENV)/.archlab-example-installed
PYTHON ?= python3
export PATH := $(abspath $(VENV))/bin:$(PATH)
PYTEST_ARGS ?= -n 2 --dist loadgroup --timeout 1500

.PHONY: setup browser repro repro-paper test test-fast lint lab clean-venv

setup: $(STAMP) $(EXAMPLE_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name archlab --display-name "archlab (Python 3.11)" >/dev/null
	touch $(STAMP)

# the worked plugin example (docs/plugins.md); the test suite checks and benches it
$(EXAMPLE_STAMP): $(STAMP) examples/my_searcher/pyproject.toml
	$(PY) -m pip install -q --no-deps -e examples/my_searcher
	touch $(EXAMPLE_STAMP)

# Debian's chromium for the browser tests (tests/test_browser.py drives it with Playwright;
# no browser download). Installed when running as root with apt-get; otherwise those tests
# skip and say how to enable them (under CI=true they fail instead).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (apt-get) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: no chromium and not root: the browser tests will skip (apt-get install chromium)"; fi

repro: setup
	dvc repro
	dvc metrics show

repro-paper: setup
	dvc exp run --set-param common.profile=paper

test: setup browser
	ruff check lib tests benchmarks
	pytest $(PYTEST_ARGS)

test-fast: setup
	pytest $(PYTEST_ARGS) -m 'not slow'

lint: setup
	ruff check lib tests benchmarks

lab: setup
	jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir . $(if $(filter 0,$(shell id -u)),--allow-root)

clean-venv:
	rm -rf $(VENV)
