# The two commands a fresh machine needs: `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs by itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install browser oci-registry demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: install
	$(PY) -m reconciler.cli.demo

# The dashboard's browser tests drive Debian's Chromium (never a downloaded browser); where it
# cannot be installed they are skipped with the reason.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests will be skipped"; \
	fi

# The Helm OCI tests run Debian's docker-registry (the CNCF distribution registry); where it
# cannot be installed they are skipped with the reason.
oci-registry:
	@if ! command -v docker-registry >/dev/null 2>&1 && [ ! -x /usr/bin/docker-registry ] \
		&& command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null) \
		|| echo "docker-registry could not be installed: the OCI registry tests will be skipped"; \
	fi

test: install browser oci-registry
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/kubesim_requests.py
	$(PY) bench/poll_scale.py --apps 100
	$(PY) bench/push_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
