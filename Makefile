# Sonrisa: `make run` starts the platform, `make test` runs every check. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
PYTHON_MONGO ?= PYENV_VERSION=3.13.0 python3.13
VENV := .venv
MONGO_VENV := .venv-mongo
DEPS_HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(DEPS_HASH)
MONGO_STAMP := $(MONGO_VENV)/.installed-mongoeco-4.11-pymongo
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck unit integration bench chaos fuzz clean

install: $(STAMP) $(MONGO_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# The embedded MongoDB wire server (mongoeco) needs Python 3.13: a venv of its own.
$(MONGO_STAMP):
	@test -x $(MONGO_VENV)/bin/python || $(PYTHON_MONGO) -m venv $(MONGO_VENV)
	$(MONGO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'mongoeco~=4.11.0' 'pymongo>=4.9,<5'
	@touch $@

# The first run creates .clinic-secrets (random keys, mode 600, git-ignored); later runs use it.
run: install
	$(BIN)/clinic secrets init
	$(BIN)/clinic migrate
	exec $(BIN)/clinic up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

test: lint typecheck
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

# The fault suite at length: every fault with 30 s of writes on each side (make test: 3 s).
chaos: install
	CHAOS_SECONDS=30 $(BIN)/pytest -p no:cacheprovider -s tests/chaos

clean:
	rm -rf $(VENV) $(MONGO_VENV) .mypy_cache .ruff_cache .pytest_cache
