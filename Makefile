# One command to demo, one to test. Everything installs into .venv from requirements.lock.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.9.9
STAMP := $(VENV)/.installed

.PHONY: install lock up down status demo test test-unit test-e2e bench clean promtool

install: $(STAMP)

$(STAMP): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(PY) --quiet -r requirements.lock
	touch $(STAMP)

# Re-resolve requirements.txt into requirements.lock (needs the package registry).
lock: $(PY)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(UV) pip compile requirements.txt --python-version 3.11 -o requirements.lock

$(PY):
	$(PYTHON) -m venv $(VENV)

up: install
	$(PY) -m devstack up

down:
	@test -x $(PY) && $(PY) -m devstack down || echo "nothing to stop"

status:
	$(PY) -m devstack status

demo: install
	$(PY) -m devstack demo

# Everything: unit, DAG integrity, integration and the end-to-end run on CeleryExecutor.
# pytest exits 5 when it collects no test; make treats that as a failure.
test: install promtool
	$(PY) -m pytest

test-unit: install promtool
	$(PY) -m pytest tests/unit tests/dags

# promtool checks the alert rules (tests/unit/test_alert_rules.py). Installed from Debian's
# `prometheus` package when missing and we can (root with apt); otherwise stop, naming it.
promtool:
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
	  else echo "promtool missing: install the Debian package 'prometheus' (apt-get install prometheus)"; exit 1; fi; }

test-e2e: install
	$(PY) -m pytest tests/e2e

# Benchmarks with same-run baselines; figures in bench/results/latest.json.
bench: install
	$(PY) -m bench

clean: down
	rm -rf .local
