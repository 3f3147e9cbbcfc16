# revloop — the two setup commands are `make demo` and `make test`; both build what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Debian packages revloop uses: time zones, PDF rendering (pango), PDF to PNG checks (poppler),
# fonts, and Chromium for the browser tests.
DEB_PACKAGES := tzdata libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils chromium
DEMO_HOME ?= $(CURDIR)/demo-output/home

.PHONY: help venv sysdeps test lint bench demo clean

help:
	@echo "make demo   run revloop's main job on the embedded store (SQLite) with demo data"
	@echo "make test   run the test suite (unit, integration incl. PostgreSQL, e2e, golden)"
	@echo "make lint   ruff and mypy"
	@echo "make bench  speed measurements, written to bench/results/"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is needed ($(PYTHON) not found)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	@set -o pipefail; $(PY) -m pip install -q -e '.[test]' 2>&1 | { grep -v "is ignored" || true; }
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP)

sysdeps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	elif ! command -v dpkg >/dev/null; then \
	  echo "note: not a Debian system; make sure these (or their equivalents) are installed:$$missing"; \
	else \
	  echo "Missing Debian packages:$$missing"; echo "Install them with: sudo apt-get install$$missing"; exit 1; \
	fi

# Two workers (the machine has two cores); a test module's tests stay together in one worker.
TEST_WORKERS ?= 2

test: venv sysdeps
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=10

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

bench: venv sysdeps
	@mkdir -p bench/results
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script --json || exit 1; done

demo: venv sysdeps
	@bash scripts/demo.sh "$(DEMO_HOME)"

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
