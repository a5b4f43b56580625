# JACO developer entry points. `make demo` / `make test` run the README's two
# commands (scripts/demo.sh, scripts/test.sh), which set up what they need first.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test proto lint bench clean

setup:
	./scripts/setup.sh

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

proto: setup
	$(BIN)/python scripts/genproto.py --out .

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
