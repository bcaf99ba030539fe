# `make run`: install the package and run the quickstart. `make test`: lint, type-check, test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint typecheck pytest bench bench-peers bench-floor system-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.run-installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(PY) examples/quickstart.py

# Redis (and PostgreSQL where the image lacks it) come from Debian packages;
# the test suite starts and stops its own servers on loopback.
system-deps:
	bash scripts/install-system-deps.sh

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check src tests benchmarks examples

typecheck: $(VENV)/.dev-installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.dev-installed system-deps
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/bench_backends.py

# The peers (openai-agents, LangChain, LangGraph) are only ever installed here.
bench-peers: $(VENV)/.dev-installed
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/compare_peers.py
	$(PY) benchmarks/compare_server_peers.py

# What a lone durable append costs at best, next to ours and SQLiteSession's.
bench-floor: $(VENV)/.dev-installed
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/append_floor.py --normal

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
