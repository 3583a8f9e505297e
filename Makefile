# app-api — every target documents itself: `make help`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system

HOST ?= 127.0.0.1
PORT ?= 8000
MODE ?= quick
PRISMA_DIR ?= prisma
SCOPE ?=
SUB ?= dev@app-web

# uv from PATH, or a private copy in .tools/ (never touches the system Python; works where PEP 668
# refuses `pip install --user`).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen

.PHONY: help install run check format test smoke token models view-models orm orm-check resources bench clean

help: ## List the targets with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.tools/bin/uv:
	@echo "uv not found: installing it into .tools/ (a private venv)"
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: .venv/.synced ## Install uv if missing, then the locked dependencies (uv sync)

run: install ## Serve with reload on HOST:PORT (default 127.0.0.1:8000; SQLite when DATABASE_URL is unset); a failed start exits 1 with its reason
	$(RUN) python -m app.serve app.main:app --reload --host $(HOST) --port $(PORT)

check: install ## pyright (strict on app/) → ruff fix → ruff lint → ruff format check (no fixing in CI)
	$(RUN) pyright
ifndef CI
	$(RUN) ruff check --fix --quiet .
endif
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: install ## Apply ruff fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

test: install ## Tests: quick (default); MODE=full adds slow suites + coverage (fails under 90% of app/)
ifeq ($(MODE),full)
	$(RUN) pytest --cov --cov-report=term -m "" $(ARGS)
else
	$(RUN) pytest -m "not slow" $(ARGS)
endif

smoke: install ## Import the app and build its OpenAPI (no server, no database)
	$(RUN) python -m tools.smoke

token: install ## Print a development JWT (SCOPE="pages:read tags:write", default every resource; SUB=dev@app-web)
	@$(RUN) python -m tools.token --scope "$(SCOPE)" --sub "$(SUB)"

models: install ## Reflect DATABASE_URL's tables into app/models.py (unset: a scratch DB built from PRISMA_DIR/migrations)
	$(RUN) python -m tools.codegen models --prisma-dir $(PRISMA_DIR)

view-models: install ## Reflect DATABASE_URL's views into app/view_tables.py (unset: a scratch DB, as models)
	$(RUN) python -m tools.codegen views --prisma-dir $(PRISMA_DIR)

orm: install ## models + view-models; no DATABASE_URL: a scratch DB from PRISMA_DIR/migrations on ORM_DATABASE_URL's server, dropped after
	$(RUN) python -m tools.codegen all --prisma-dir $(PRISMA_DIR)

resources: install ## Declare every model and view that has none in app/resources.py (FRESH=1: anew; SECRETS=serve: hide nothing)
	$(RUN) python -m tools.resources --prisma-dir $(PRISMA_DIR) $(if $(filter 1 yes true,$(FRESH)),--fresh) $(if $(filter serve,$(SECRETS)),--serve-secrets)

orm-check: install ## Build a scratch DB from PRISMA_DIR/migrations (ORM_DATABASE_URL's server), regenerate, fail with a diff on drift
	$(RUN) python -m tools.orm_check --prisma-dir $(PRISMA_DIR)

bench: install ## Benchmark against PostgreSQL with wrk; prints a table, writes bench/results.json
	$(RUN) python -m bench.run

clean: ## Remove caches, coverage data and the embedded SQLite file (SQLITE_PATH, default app-api.sqlite3)
	rm -rf .pytest_cache .ruff_cache .coverage htmlcov
	rm -f "$${SQLITE_PATH:-app-api.sqlite3}" "$${SQLITE_PATH:-app-api.sqlite3}"-wal "$${SQLITE_PATH:-app-api.sqlite3}"-shm
