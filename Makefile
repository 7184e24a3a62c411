# revcycle: `make demo` runs the whole nightly cycle on embedded defaults; `make test` runs the tests.
# Both set up .venv from the locked dependency set first (needs only Python 3.11+ and make).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: demo test test-nights lint typecheck check bench fuzz lock clean help

help:
	@echo "make demo   set up .venv and run the nightly cycle on a synthetic export (ARGS='--claims 500')"
	@echo "make test   set up .venv and run the test suite"
	@echo "make test-nights  the 60-night end-to-end run of the claim rules alone (about 3 min; also in make test)"
	@echo "make check  ruff (lint + format check) and mypy"
	@echo "make bench  run the benchmarks"
	@echo "make fuzz   run the full fuzz campaign (ARGS='--jobs 2 --seed 1'; see docs/fuzzing.md)"
	@echo "make lock   re-resolve requirements.lock from pyproject.toml"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "revcycle needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@# Bytecode is compiled once here, not by every process at start-up: where PYTHONDONTWRITEBYTECODE is set
	@# (container images and CI runners often set it) Python never caches it, and each process would compile
	@# prefect, GX and the rest again, about 5 CPU seconds each (README, "Development").
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q src flows tasks connectors expectations
	@touch $@

demo: $(STAMP)
	$(BIN)/revcycle demo $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

test-nights: $(STAMP)
	$(BIN)/pytest -m nights $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src flows tasks connectors expectations tests benchmarks fuzz
	$(BIN)/ruff format --check src flows tasks connectors expectations tests benchmarks fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

# The full campaign of issue 9: 1,000,000 parse, 100,000 ingest and 10,000 intake cases (hours on 2 cores).
FUZZ_ARGS ?= --jobs 2 --seed 1
fuzz: $(STAMP)
	$(BIN)/python -m fuzz --target parse --cases 1000000 $(FUZZ_ARGS) $(ARGS)
	$(BIN)/python -m fuzz --target ingest --cases 100000 $(FUZZ_ARGS) $(ARGS)
	$(BIN)/python -m fuzz --target intake --cases 10000 $(FUZZ_ARGS) $(ARGS)

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--no-annotate --no-header -c constraints.txt -o requirements.lock.new
	{ printf '%s\n' '# Locked dependency set (runtime + dev), generated from pyproject.toml with:' \
		'#   make lock' "# constrained by constraints.txt (the project's known-good set); do not edit by hand."; \
		cat requirements.lock.new; } > requirements.lock && rm requirements.lock.new

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo
