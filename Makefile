# The two commands a person types are `make run` and `make test`; each sets up .venv when missing.
PYTHON ?= python3
# Compiled bytecode is written (into git-ignored __pycache__ folders) even where the environment
# asks Python not to: otherwise every test worker, server, benchmark worker and command compiles
# the app again when it starts, and pytest rewrites every test module at each collection (about
# half of collecting the suite).
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo-cli test test-setup e2e-setup fhir-validators-setup reports-setup lint typecheck imports audit pytest pytest-postgres bench clean

# The PostgreSQL pass: the tests whose outcome can depend on the database engine (queries,
# constraints, transactions, stored text, triggers, backups) again on a real server. CI sets
# ACUKNEE_REQUIRE_POSTGRES=1 so an unreachable server fails instead of skipping.
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# In it: the layers that own SQL (the care layer's queries, services and constraints; the REST
# and FHIR APIs with their SQL search and bulk export; the clinic report's aggregates; research
# SQL; the audit log's triggers and chain; security, reliability and robustness over the
# database), and the pages' tests whose outcome depends on the engine's SQL: record constraints
# and JSON (test_database), the CSV import's one transaction (test_importing), patient search
# and duplicate matching by case-folded names and record numbers (test_patients,
# test_patient_list_queries), voiding's versioned updates (test_voiding), the draft's one row
# per patient and practitioner (test_intake_steps), and the demo snapshot (test_demo).
# Left out, each because what it checks does not depend on the engine: the other pages' tests
# render through the care layer's queries, which tests/care runs here; tests/e2e (browser flows
# over the same views); fhir/test_mapping, fhir/test_validators (no database); the reports'
# rendering tests (one patient's records, read by queries tests/care runs here; the clinic
# report's aggregates stay); research/test_synth (the generator; its two database-writer tests
# stay); security/test_csp_browser, test_csrf_forms, test_headers, test_deploy (markup,
# middleware and settings); robustness/test_core_inputs, test_pip_audit_script (no database),
# test_loadtest_smoke (opt-in, starts its own server); api/test_knowledge, test_openapi (the
# knowledge base and the schema document); security/test_authorization_matrix (who may open
# what is each view's declared rule; which clinic's rows a query returns is the care layer's
# scoping, run here by tests/care, and the REST and FHIR answers to another clinic's ids by
# tests/api and tests/fhir).
POSTGRES_TESTS := tests/records tests/care tests/api tests/fhir tests/reports/test_clinic_report.py \
	tests/reports/test_clinic_report_figures.py \
	tests/pages/test_database.py tests/pages/test_importing.py tests/pages/test_patients.py \
	tests/pages/test_patient_list_queries.py tests/pages/test_voiding.py \
	tests/pages/test_intake_steps.py tests/pages/test_demo.py \
	tests/security tests/reliability tests/robustness tests/research/test_analytics.py \
	tests/research/test_deidentify.py tests/research/test_refresh.py \
	tests/research/test_synth.py::test_database_writer_round_trips_and_creates_synthetic_clinics \
	tests/research/test_synth.py::test_writing_the_same_seed_again_replaces_that_cohort
POSTGRES_IGNORE := api/test_knowledge.py api/test_openapi.py fhir/test_mapping.py \
	security/test_authorization_matrix.py \
	fhir/test_validators.py security/test_csp_browser.py security/test_csrf_forms.py \
	security/test_headers.py security/test_deploy.py robustness/test_core_inputs.py \
	robustness/test_pip_audit_script.py robustness/test_loadtest_smoke.py

# The venv is filled by uv (pinned; its wheel comes from PyPI like every other package): about 5 s
# from a warm cache where pip took 45-80 s, most of it compiling every module of every package to
# bytecode; here a module is compiled when something first imports it (bytecode is kept: see
# above). Where uv cannot be installed, pip does the same job.
UV_VERSION := 0.13.8

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); then \
		$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'; \
	else \
		$(BIN)/python -m pip install --quiet --upgrade pip && $(BIN)/python -m pip install --quiet -e '.[dev]'; \
	fi
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m acuknee.manage migrate --noinput --verbosity 0
	$(BIN)/python -m acuknee.manage load_demo
	@echo "acuknee is serving the demo clinic at http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(BIN)/python -m acuknee.manage runserver 127.0.0.1:8000

demo-cli: $(STAMP)
	$(BIN)/acuknee demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs tools
	$(BIN)/ruff format --check src tests benchmarks docs tools

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# Known vulnerabilities in the installed (pinned) dependencies (tools/audit.py). Skipped with a
# message when the advisory database cannot be reached; ACUKNEE_REQUIRE_AUDIT=1 fails instead.
audit: $(STAMP)
	$(BIN)/python -m tools.audit

# Both passes run on every core, a test file at a time per worker (--dist loadfile): a module's
# shared records (tests/module_records.py) and once-per-run values are then built by one worker,
# and no worker waits on another's lock. (--dist loadgroup no longer groups anything with pytest
# 9.2: pytest-xdist issue 1386.)
PYTEST_XDIST := -n auto --dist loadfile
# The PostgreSQL pass's workers: every core when run alone; one when `make test` runs it beside
# the SQLite pass.
POSTGRES_WORKERS ?= auto

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_XDIST) -q

pytest-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(POSTGRES_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL pass on $(POSTGRES_URL)"; \
		ACUKNEE_DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest $(PYTEST_XDIST) -n $(POSTGRES_WORKERS) -q -p no:cacheprovider $(POSTGRES_TESTS) $(POSTGRES_IGNORE:%=--ignore=tests/%); \
	elif [ "$${ACUKNEE_REQUIRE_POSTGRES:-0}" = 1 ]; then \
		echo "PostgreSQL pass REQUIRED but no server answers at $(POSTGRES_URL)"; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL pass (no server at $(POSTGRES_URL)); set ACUKNEE_REQUIRE_POSTGRES=1 to fail instead"; \
	fi

# The quick checks and the test tools' set-up run side by side, then mypy, the SQLite pass and
# the PostgreSQL pass (one worker) side by side: alone, the SQLite pass leaves about a quarter of
# the cores idle while it waits on browsers and servers. Each job's output is printed whole when
# it ends. The two passes share nothing: each has its own test databases (SQLite files and
# in-memory databases; PostgreSQL's test_* databases) and pytest temporary folders. The set-up
# scripts run one after another: two apt-get at once would fight over dpkg's lock.
test: $(STAMP)
	@$(MAKE) --no-print-directory -j4 --output-sync=target lint imports audit test-setup
	@$(MAKE) --no-print-directory -j3 --output-sync=target typecheck pytest pytest-postgres \
		POSTGRES_WORKERS=1

test-setup:
	@sh tests/e2e/setup.sh
	@sh tests/fhir/validators/setup.sh
	@sh tests/reports/setup.sh

# The browser tests' needs: Debian's chromium (apt-get, when root) and axe-core (npm ci, pinned in
# tests/e2e/package-lock.json). It never fails: what is missing is said here and the tests skip.
e2e-setup:
	@sh tests/e2e/setup.sh

# The offline FHIR validators (FHIR.js and Medplum, npm ci from tests/fhir/validators/package-lock.json).
# It never fails: what is missing is said here and tests/fhir/test_validators.py skips.
fhir-validators-setup:
	@sh tests/fhir/validators/setup.sh

# Poppler (pdftoppm, pdftotext) for the report tests; never fails, the tests skip without it.
reports-setup:
	@sh tests/reports/setup.sh

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
