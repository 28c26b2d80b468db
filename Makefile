# One command to demo, one to test. Everything installs into .venv from requirements.lock.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.9.9
STAMP := $(VENV)/.installed

.PHONY: install lock up down status demo test test-unit test-e2e bench clean system-tools

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
test: install system-tools
	$(PY) -m pytest

test-unit: install system-tools
	$(PY) -m pytest tests/unit tests/dags

# System tools the tests use, from Debian's packages: promtool (package `prometheus`) checks
# the alert rules; chromium drives the console's browser test. Installed when missing and we
# can (root with apt); otherwise stop, naming the package — never skip the tests.
SYSTEM_TOOLS := promtool:prometheus /usr/bin/chromium:chromium
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do tool=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$tool >/dev/null || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing system packages:$$missing — install them (apt-get install$$missing)"; exit 1; fi; fi

test-e2e: install system-tools
	$(PY) -m pytest tests/e2e

# Benchmarks with same-run baselines; figures in bench/results/latest.json.
bench: install
	$(PY) -m bench

clean: down
	rm -rf .local
