# The two commands a person types are `make run` and `make test`; each sets up .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo-cli test e2e-setup fhir-validators-setup reports-setup lint typecheck imports audit pytest pytest-postgres bench clean

# The PostgreSQL pass: the tests whose outcome can depend on the database engine (queries,
# constraints, transactions, stored text, triggers, backups) again on a real server. CI sets
# ACUKNEE_REQUIRE_POSTGRES=1 so an unreachable server fails instead of skipping.
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# Left out, each because what it checks does not go through the database, or goes through the
# same queries as a test that is in the pass:
# - tests/e2e: browser flows over views whose writes and reads tests/pages runs here (the
#   accessibility walk skips here anyway); clinic/test_health: never opens the database;
#   clinic/test_reference, api/test_knowledge, api/test_openapi: the knowledge base and the
#   schema document (the database only signs the user in); clinic/test_access: the access
#   decorator on stub views (the authorization matrix runs every real view here);
# - fhir/test_mapping: the core-to-FHIR mapping, no database; fhir/test_validators: validates
#   the JSON that fhir/test_server and fhir/test_bulk build here;
# - reports/test_charts, test_diagrams, test_outcomes_stats: no database; test_progress_report,
#   test_lead_picture, test_referral, test_stricta_report: render one patient's records, read
#   by the queries tests/pages runs here (reports/test_clinic_report, the clinic aggregates,
#   stays); research/test_synth: the generator (its two database-writer tests stay);
# - security/test_csp_browser (skips here), test_csrf_forms, test_headers, test_deploy:
#   markup, middleware and settings; robustness/test_core_inputs, test_pip_audit_script: no
#   database; robustness/test_loadtest_smoke: opt-in, starts its own server.
POSTGRES_TESTS := tests/pages tests/api tests/fhir tests/reports/test_clinic_report.py \
	tests/security tests/reliability tests/robustness tests/research/test_analytics.py \
	tests/research/test_deidentify.py tests/research/test_refresh.py \
	tests/research/test_synth.py::test_database_writer_round_trips_and_creates_synthetic_clinics \
	tests/research/test_synth.py::test_writing_the_same_seed_again_replaces_that_cohort
POSTGRES_IGNORE := clinic/test_health.py clinic/test_reference.py clinic/test_access.py \
	api/test_knowledge.py api/test_openapi.py fhir/test_mapping.py fhir/test_validators.py \
	security/test_csp_browser.py security/test_csrf_forms.py \
	security/test_headers.py security/test_deploy.py robustness/test_core_inputs.py \
	robustness/test_pip_audit_script.py robustness/test_loadtest_smoke.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

pytest: $(STAMP)
	$(BIN)/pytest -n auto -q

pytest-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(POSTGRES_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL pass on $(POSTGRES_URL)"; \
		ACUKNEE_DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest -n auto -q -p no:cacheprovider $(POSTGRES_TESTS) $(POSTGRES_IGNORE:%=--ignore=tests/%); \
	elif [ "$${ACUKNEE_REQUIRE_POSTGRES:-0}" = 1 ]; then \
		echo "PostgreSQL pass REQUIRED but no server answers at $(POSTGRES_URL)"; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL pass (no server at $(POSTGRES_URL)); set ACUKNEE_REQUIRE_POSTGRES=1 to fail instead"; \
	fi

test: lint typecheck imports audit e2e-setup fhir-validators-setup reports-setup pytest pytest-postgres

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
