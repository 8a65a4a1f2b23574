# Reelbox: `make run` serves a library, `make test` runs every check CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# make run LIBRARY=/path/to/media   (without it, a generated demo library is served)
LIBRARY ?=
HOST ?= 127.0.0.1
PORT ?= 8420

CLIENT_ENV := EXPO_OFFLINE=1 EXPO_NO_TELEMETRY=1 CI=1
CLIENT_STAMP := client/node_modules/.installed-$(shell cat client/package-lock.json | cksum | cut -d' ' -f1)
# The web build is redone when what goes into it changes (names and contents; the unit tests do
# not count): a checksum, not mtimes, so a checkout that touches files without changing them
# costs no rebuild. The stamp lives in client/dist, which a build replaces; npm install comes
# first (order only: the lock file is among the inputs).
CLIENT_INPUTS := $(shell find client/app client/src client/assets client/public -type f -not -path '*/__tests__/*' 2>/dev/null) \
	client/app.json client/package.json client/package-lock.json client/tsconfig.json
CLIENT_BUILD := client/dist/.built-$(shell cksum $(sort $(CLIENT_INPUTS)) | cksum | cut -d' ' -f1)

.PHONY: run test install lint typecheck bench-scan client clean

$(STAMP): pyproject.toml
	@bash tests/ensure-system.sh python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The web client: npm install (not npm ci: optional binaries of other platforms are missing from
# the registry), then a static export to client/dist, served by Reelbox at /.
$(CLIENT_STAMP): client/package.json client/package-lock.json
	@bash tests/ensure-system.sh npm
	cd client && $(CLIENT_ENV) npm install --no-audit --no-fund --loglevel=error
	@rm -f client/node_modules/.installed-* && touch $@

$(CLIENT_BUILD): | $(CLIENT_STAMP)
	rm -rf client/dist
	cd client && $(CLIENT_ENV) npm run build:web
	@touch $@

client: $(CLIENT_STAMP)
	rm -rf client/dist
	$(MAKE) $(CLIENT_BUILD)

run: $(STAMP) $(CLIENT_BUILD)
	$(BIN)/reelbox serve --host $(HOST) --port $(PORT) $(if $(LIBRARY),--library "$(LIBRARY)")

# The end-to-end tests (tests/e2e) drive the web build in Chromium: it is rebuilt first when stale.
test: $(STAMP) $(CLIENT_BUILD)
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
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis client/node_modules client/dist
