# JACO developer entry points. `make demo` and `make test` are the README's two
# commands: each sets up everything it needs first (apt packages when root).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROTOS := $(wildcard proto/jaco/v1/*.proto)

.PHONY: setup demo test test-fast proto proto-check lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Stamp so `make test` does not reinstall on every run.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	./scripts/setup-system.sh
	$(BIN)/pip install -q -e '.[daemon,dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	./scripts/demo.sh

test: setup
	./scripts/run-tests.sh

proto: setup
	$(BIN)/python scripts/genproto.py --out .

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true
	$(BIN)/mypy

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
