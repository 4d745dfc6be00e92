# One task runner for people and CI. Each target installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench bench-workers bench-instructions system-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

## run: the gateway on embedded defaults (127.0.0.1:10025 -> maildir ./var/outbox)
run: $(RUN_STAMP)
	$(BIN)/gateway serve $(ARGS)

system-tools:
	@scripts/install-system-tools

## test: the whole test suite (installs Python deps, Postfix tools and swaks if missing)
test: $(TEST_STAMP) system-tools
	$(BIN)/pytest

## lint: ruff (lint + format) and mypy --strict
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: msg/s and latency, gateway vs a bare pass-through proxy (medians of 5 runs)
bench: $(TEST_STAMP) system-tools
	$(BIN)/python bench/proxy_bench.py

## bench-workers: msg/s with --workers 1 and 2 against the bare proxy (load from smtp-source)
bench-workers: $(TEST_STAMP) system-tools
	$(BIN)/python bench/workers_bench.py

## bench-instructions: instructions per message under callgrind (noise-free ratio)
bench-instructions: $(TEST_STAMP) system-tools
	@command -v valgrind >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null)
	$(BIN)/python bench/instructions.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
