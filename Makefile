# The two commands a person types are `make run` and `make test`; each sets up .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo-cli test e2e-setup fhir-validators-setup reports-setup lint typecheck imports audit pytest pytest-postgres bench clean

# The PostgreSQL pass: the clinic app and browser tests again on a real server. CI sets
# ACUKNEE_REQUIRE_POSTGRES=1 so an unreachable server fails instead of skipping.
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

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
		ACUKNEE_DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest -n auto -q -p no:cacheprovider tests/clinic tests/api tests/fhir tests/e2e tests/reports tests/research tests/security tests/reliability tests/robustness; \
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
