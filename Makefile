# Quick start: `make demo` and `make test` each set up .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-ledger clean golden

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/xlkit demo build/demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	TQDM_DISABLE=1 $(BIN)/pytest; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

golden: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/pytest tests/test_golden.py --update-golden

bench: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python bench/consolidate_bench.py

bench-ledger: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python bench/ledger_bench.py

clean:
	rm -rf $(VENV) build
