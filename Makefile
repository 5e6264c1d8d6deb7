# Two entry points, each creating .venv and installing the project from its own files:
#   make demo   - every strategy on CRWV from the IPO, terminal table + report in results/demo/
#   make test   - the whole test suite (real-history tests read the bundled snapshot in data/)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Price data: $CRWV_BT_DATA_DIR if set, else the snapshot bundled in data/.
DATA_DIR ?= $(or $(CRWV_BT_DATA_DIR),data)
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PY=python3.11)")'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	CRWV_BT_DATA_DIR=$(DATA_DIR) $(BIN)/crwv-bt run --out results/demo

test: $(STAMP)
	CRWV_BT_DATA_DIR=$(DATA_DIR) $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check engine strategies tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	CRWV_BT_DATA_DIR=$(DATA_DIR) $(BIN)/python benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
