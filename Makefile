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
# The web app (frontend/): installed when its lockfile changes, built when its sources change.
WEB := frontend
WEB_STAMP := $(WEB)/node_modules/.installed-$(shell cat $(WEB)/package-lock.json | sha1sum | cut -c1-12)
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json $(WEB)/package-lock.json -type f 2>/dev/null | sort)
WEB_BUILT := $(WEB)/dist/.built-$(shell cat $(WEB_SOURCES) | sha1sum | cut -c1-12)
CHROMIUM := /usr/bin/chromium

.PHONY: install bytecode run test checks lint typecheck unit integration bench profile chaos fuzz clean web web-install web-check api-lint client chromium bench-web deploy-install deploy-check

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

web-install: $(WEB_STAMP)

$(WEB_STAMP): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@rm -f $(WEB)/node_modules/.installed-* && touch $@

web: $(WEB_BUILT)

$(WEB_BUILT): $(WEB_STAMP)
	cd $(WEB) && npx vite build --logLevel warn
	@touch $@

# Regenerates the web app's typed API client from the API's own OpenAPI (no server needed).
client: install web-install
	$(BIN)/python -m clinic.web_client
	cd $(WEB) && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts

web-check: web-install
	cd $(WEB) && npx tsc --noEmit
	cd $(WEB) && npx eslint --max-warnings 0 .
	cd $(WEB) && npx vitest run

# Spectral with the OWASP ruleset over the checked-in OpenAPI document (tests/e2e/test_openapi.py
# keeps it equal to the app's): any error fails, warnings are counted. Exceptions, each with
# its reason, are in frontend/.spectral.yaml.
SPECTRAL_SUMMARY := const r = require("./node_modules/.spectral.json"), e = r.filter(x => x.severity === 0); \
  for (const x of e) console.log(`error $${x.code} $${x.path.join(".")}: $${x.message}`); \
  console.log(`spectral (OWASP): $${e.length} errors, $${r.filter(x => x.severity === 1).length} warnings`)
api-lint: web-install
	@cd $(WEB) && npx spectral lint -q --fail-severity error -f json -o node_modules/.spectral.json src/api/openapi.json; \
	  linted=$$?; node -e '$(SPECTRAL_SUMMARY)'; exit $$linted

# The offline validators of deploy/ (deploy/check says which checks what): a venv of their own,
# npm-groovy-lint, and Debian's promtool and amtool, installed when missing.
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed-$(shell cat deploy/requirements.txt | sha1sum | cut -c1-12)
DEPLOY_TOOLS := deploy/tools
DEPLOY_TOOLS_STAMP := $(DEPLOY_TOOLS)/node_modules/.installed-$(shell cat $(DEPLOY_TOOLS)/package-lock.json | sha1sum | cut -c1-12)

# After `chromium`: two apt-get runs at once would meet dpkg's lock.
deploy-install: chromium $(DEPLOY_STAMP) $(DEPLOY_TOOLS_STAMP)
	@test -x /usr/bin/promtool -a -x /usr/bin/amtool -a -x /usr/bin/ruby -a -x /usr/bin/shellcheck || { echo "installing promtool, amtool, ruby and shellcheck (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager ruby shellcheck; }
	@command -v kubectl >/dev/null && command -v terraform >/dev/null || { echo "deploy-check needs kubectl and terraform on the PATH"; exit 1; }

$(DEPLOY_STAMP): deploy/requirements.txt
	@test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r deploy/requirements.txt
	@rm -f $(DEPLOY_VENV)/.installed-* && touch $@

$(DEPLOY_TOOLS_STAMP): $(DEPLOY_TOOLS)/package-lock.json
	cd $(DEPLOY_TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	@rm -f $(DEPLOY_TOOLS)/node_modules/.installed-* && touch $@

deploy-check: install deploy-install
	deploy/check

# The browser tests drive Debian's Chromium; the project installs it when it is missing.
chromium:
	@test -x $(CHROMIUM) || { echo "installing chromium (apt)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The first run creates .clinic-secrets (random keys, mode 600, git-ignored); later runs use it.
run: install web bytecode
	$(BIN)/clinic secrets init
	$(BIN)/clinic migrate
	exec $(BIN)/clinic up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

# Test sessions run side by side (pytest-xdist), each with stores of its own (tests/conftest.py),
# a file's tests on one worker; then the tests that run a whole `clinic up` (several
# processes, a dozen connections each, the fault runs) one at a time, so that no two of them
# compete for the cores or the connections (ADR 21). `make test` fails if either part does.
TEST_WORKERS ?= 2
WHOLE_PLATFORM_TESTS := tests/chaos tests/e2e/test_clinic_up.py tests/e2e/test_fuzz.py tests/e2e/test_web_app.py
# The checks and builds first, two at a time (the installs, linters and type checkers of the
# Python and the web side are independent), each one's output kept together; deploy-check
# first, so that its venv's download overlaps the others' work.
checks: deploy-check lint typecheck web-check api-lint web chromium

# Bytecode for the platform's modules, written once: the environment may set
# PYTHONDONTWRITEBYTECODE, and then every `clinic` process a test starts would compile them
# all again (0.2 s of its 1.4 s start).
PACKAGES := api bus clinic commands domain infra projections security bench tests
bytecode: install
	@$(BIN)/python -m compileall -q -j0 $(PACKAGES)

.PHONY: side-by-side one-at-a-time
side-by-side:
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=10 $(addprefix --ignore=,$(WHOLE_PLATFORM_TESTS))

one-at-a-time:
	$(BIN)/pytest --durations=10 $(WHOLE_PLATFORM_TESTS)

# One part after the other (-k: the second runs whatever the first's outcome). Run at once they
# took as long on two cores (both are CPU-bound together) and met load-made failures (ADR 21).
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target checks
	@$(MAKE) --no-print-directory bytecode
	@$(MAKE) --no-print-directory -k side-by-side one-at-a-time

bench: install bench-web
	$(BIN)/python -m bench

# Where the CPU goes on the command path: (c) with the relay and projectors as processes,
# sampled by py-spy in every process, then summarised per process (ADR 25).
profile: install
	$(BIN)/py-spy record --subprocesses --nonblocking --format raw --rate 100 \
	  -o bench/profile.txt -- $(BIN)/python -m bench.profile
	$(BIN)/python -m bench.profile --summarise bench/profile.txt

# The fault suite at length: every fault with 30 s of writes on each side (make test: 2 s).
chaos: install
	CHAOS_SECONDS=30 $(BIN)/pytest -p no:cacheprovider -s tests/chaos

# Schemathesis at length over the whole API, as an admin and a receptionist, from a new seed
# each time (make test: 60 s each, one fixed seed).
fuzz: install
	FUZZ_SECONDS=600 FUZZ_SEED= $(BIN)/pytest -p no:cacheprovider -s tests/e2e/test_fuzz.py

# The web app's benchmarks (o, p, q) in Chromium against a platform of their own.
bench-web: install web chromium
	$(BIN)/python -m bench.web

clean:
	rm -rf $(VENV) $(MONGO_VENV) .mypy_cache .ruff_cache .pytest_cache $(WEB)/node_modules $(WEB)/dist test-results
