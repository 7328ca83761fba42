# The two commands a fresh machine needs: `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs by itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test-tools demo test lint bench bench-dashboard screenshots clean

install: $(STAMP)

# kubesim (the emulated API server the tests and the demo run against) is its own distribution,
# installed before the reconciler; the reconciler's wheel does not carry it.
$(STAMP): pyproject.toml kubesim/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ./kubesim
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: install
	$(PY) -m reconciler.cli.demo

# Programs some tests drive, from Debian's packages, installed in one apt run when make runs as
# root with apt (a program already on PATH is kept, e.g. a newer kubectl): Chromium for the
# dashboard's browser tests, kubectl (kubernetes-client) for the kubectl and Kustomize tests,
# docker-registry (the CNCF distribution registry) for the Helm OCI tests. Where one cannot be
# installed, its tests are skipped with the reason.
test-tools:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || missing="$$missing docker-registry"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1 || for p in $$missing; do \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null 2>&1 \
			|| echo "could not install $$p: the tests that need it will be skipped"; \
		done; \
	fi

# Four pytest-xdist workers on two cores: most tests wait on subprocesses, sockets and polls,
# so twice the cores keeps both busy (six finished about a minute sooner but loaded the cores
# enough to make timing-sensitive system tests fail now and then). Every fixture starts its
# servers on free ports, and each worker has its own Redis. TEST_WORKERS=0 runs them in one process.
# Tests marked `slow` are collected first (tests/conftest.py) and idle workers steal queued
# tests (`--dist worksteal`), so the run does not end waiting on one long test started last.
TEST_WORKERS ?= 4

test: install test-tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal --durations=20

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) bench/kubesim_requests.py
	$(PY) bench/poll_scale.py --apps 100
	$(PY) bench/push_latency.py
	$(PY) bench/drift_heal.py
	$(PY) bench/live_memory.py

# The README's screenshots (docs/screenshots/*.png), taken in Debian's Chromium with Playwright
# against the running system on kubesim, each reduced to a small palette PNG (commit them).
screenshots: install test-tools
	$(PY) -m pip install -q -e '.[screenshots]'
	RECONCILER_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/dashboard/test_screenshots.py

bench-dashboard: install
	$(PY) bench/dashboard_live.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
