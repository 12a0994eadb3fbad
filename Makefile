# A local .venv keeps installs off the system Python (PEP 668 refuses a bare pip install).
# The install is editable, so a change to the source needs none: pip runs once for a new
# venv and again only when pyproject.toml changes (the stamps below), and after that
# `make run` starts from what is installed, with no package index needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.portscope-installed
TEST_INSTALLED := $(VENV)/.portscope-test-installed

.PHONY: run test screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Order-only on the interpreter: bin/python links to the system one, whose mtime an OS
# update changes; a new venv has no stamps anyway.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_INSTALLED): pyproject.toml $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(INSTALLED)
	$(BIN)/portscope

test: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	PYTHONPATH=tui $(BIN)/lint-imports
	$(BIN)/python -m pytest

screenshots: $(TEST_INSTALLED)
	$(BIN)/python screenshots/make_screenshots.py

bench: $(TEST_INSTALLED)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
