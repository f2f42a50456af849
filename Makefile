# Sextant: `make run` starts it on this machine, `make test` installs everything and runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU build of torch lies in /opt/wheels on our machines; elsewhere pip finds it on the index.
PIP_FLAGS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint typecheck pytest bench system-deps frontend frontend-test clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PIP_FLAGS) -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	# npm install, not npm ci: the lock cannot list the optional native packages of platforms
	# the registry here does not serve (darwin, win32...), and npm ci refuses such a lock.
	cd frontend && npm install --no-audit --no-fund --no-save
	touch $@

# The web app, built to frontend/dist, which the backend serves at /.
frontend: frontend/node_modules/.installed
	cd frontend && npm run build

# check:api: the committed openapi.json and the TS types generated from it must match the backend's routes.
frontend-test: frontend/node_modules/.installed $(VENV)/.runtime
	cd frontend && npx tsc -b && npx vitest run && npm run lint && npm run format:check
	cd frontend && PYTHON=$(abspath $(PY)) npm run check:api

run: $(VENV)/.runtime
	@if command -v npm >/dev/null 2>&1; then $(MAKE) frontend; else echo "npm not found: serving the API only"; fi
	$(PY) scripts/run.py

system-deps:
	bash scripts/install-system-deps.sh

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy backend embedding_service scripts bench tests

pytest: $(VENV)/.dev
	$(PY) -m pytest

# The static checks run two at a time (mypy and the frontend's checks each keep one core busy),
# then the build and pytest; each group's output stays together.
test: system-deps $(VENV)/.dev frontend/node_modules/.installed
	$(MAKE) -j2 --output-sync=target lint typecheck frontend-test
	$(MAKE) frontend pytest

bench: $(VENV)/.dev
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache frontend/node_modules frontend/dist
