# Reelbox: `make run` serves a library, `make test` runs every check CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# make run LIBRARY=/path/to/media   (without it, a generated demo library is served)
LIBRARY ?=
HOST ?= 127.0.0.1
PORT ?= 8420

.PHONY: run test install lint typecheck bench-scan clean

$(STAMP): pyproject.toml
	@bash tests/ensure-system.sh python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/reelbox serve --host $(HOST) --port $(PORT) $(if $(LIBRARY),--library "$(LIBRARY)")

test: $(STAMP)
	@bash tests/run.sh

lint: $(STAMP)
	$(BIN)/ruff check engine ingest web bench tests
	$(BIN)/ruff format --check engine ingest web bench tests
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench-scan: $(STAMP)
	@bash tests/ensure-system.sh ffmpeg
	$(BIN)/python -m bench scan --files 500 --json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
