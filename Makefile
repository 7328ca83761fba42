# The two commands a fresh machine needs: `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs by itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install browser demo test lint bench clean

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

test: install browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/kubesim_requests.py
	$(PY) bench/poll_scale.py --apps 100
	$(PY) bench/push_latency.py
	$(PY) bench/drift_heal.py
	$(PY) bench/live_memory.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
