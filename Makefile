# Two commands on a fresh machine with Python 3.11+ and access to PyPI:
#   make demo   install everything, load demo data, serve on http://localhost:8000/
#   make test   install everything, run the whole test suite (SQLite)
# `make test-postgres` runs the suite against the PostgreSQL server in DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/cegah_ci, a throw-away database).
# `make browser` installs Debian's chromium (apt-get, with sudo unless root) for the
# browser test tests/test_browser.py; nothing downloads a browser at test time.

PYTHON ?= python3
UV_VERSION := 0.13.8
BOOT := var/bootstrap
UV := $(BOOT)/bin/uv
VENV := .venv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo test test-postgres browser lint messages bench clean

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Cegah needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/cegah demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

test-postgres: install
	$(VENV)/bin/python tests/run_postgres.py

# Debian's chromium package, for tests/test_browser.py (Playwright drives /usr/bin/chromium).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

browser:
	@if [ -x $(CHROMIUM) ]; then echo "$(CHROMIUM) is installed."; else \
	  apt-cache show chromium >/dev/null 2>&1 || $(APT) update -q; \
	  $(APT) install -y -q chromium || { $(APT) update -q && $(APT) install -y -q chromium; }; fi

lint: install
	$(VENV)/bin/ruff check .

messages: install
	$(VENV)/bin/python -m django makemessages --settings=cegah.settings -l id -l en \
	    --no-location --no-obsolete -i '.venv/*' -i 'var/*' -i 'tests/*' -i 'benchmarks/*'
	$(VENV)/bin/python scripts/compile_messages.py

bench: install
	$(VENV)/bin/python benchmarks/bench_areas_load.py
	$(VENV)/bin/python benchmarks/bench_import_cases.py

clean:
	rm -rf $(VENV) var/bootstrap
