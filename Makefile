# Two entry points: `make run` and `make test`. Both set up everything they need and are
# idempotent: a second run installs nothing and rebuilds the index only when it is stale.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: run test install index chromium lint typecheck pytest clean

run: index
	$(BIN)/citeqa serve --host 127.0.0.1 --port 7860

test: index chromium lint typecheck pytest

install: $(STAMP)

# torch first, pinned: it is the CPU wheel on this machine's disk. Installed after the
# project, a plain `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

# Builds index/ from seeds/ only when it is missing or stale.
index: $(STAMP)
	$(BIN)/citeqa index --quiet

# The browser test drives Debian's Chromium; Playwright never downloads a browser here.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
