"""schemathesis against /api/v1/openapi.json: generated requests (valid and invalid) never get a
5xx, every answer conforms to the documented schema, and every 4xx has the one error shape.

Bounded so the whole file runs in well under a minute: few examples per operation, a deadline,
derandomized (the same cases on every run), and no shrinking-heavy phases. Strings are drawn from
every code point (``codec`` None: lone surrogates and control characters too, not only UTF-8).
A long run outside the suite: ``ACUKNEE_FUZZ_EXAMPLES=300 ACUKNEE_FUZZ_TALLY=tally.json pytest
tests/api/test_schemathesis.py tests/api/test_fuzz_fhir.py tests/robustness/test_api_bodies.py``
(figures in docs/security.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from acuknee.records.models import ApiToken, Patient
from acuknee.site.wsgi import application
from tests.api import fuzzing
from tests.api.conftest import api_for, assert_error_shape

MAX_EXAMPLES = fuzzing.examples(8)


# The document is served without a database query, so it is loaded once, at collection.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
schema.config.generation.update(codec=None, allow_x00=True)


@schemathesis.check
def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx body is ``{"errors": [{"field": str | null, "message": str}, ...]}``."""
    if not 400 <= response.status_code < 500:
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict), f"4xx body is not an object: {body!r}"
    assert set(body) == {"errors"}, f"4xx body keys are {sorted(body)}, not ['errors']"
    errors = body["errors"]
    assert isinstance(errors, list), "errors is not a list"
    assert errors, "errors is empty"
    for error in errors:
        assert isinstance(error, dict), f"error is not an object: {error!r}"
        assert set(error) == {"field", "message"}, f"error keys are {sorted(error)}"
        assert error["field"] is None or isinstance(error["field"], str)
        assert isinstance(error["message"], str)
        assert error["message"]
    return True


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Called as a bare WSGI app, Django closes the database connection after each request,
    which would end the test's transaction on PostgreSQL; Django's own test client does this."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(alice: User, patient: Patient, keep_test_connection: None) -> dict[str, str]:
    """A practitioner's token; ``patient`` gives the generated ids something real to hit."""
    _, secret = ApiToken.issue(alice, "schemathesis")
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None if fuzzing.EXAMPLES else 2000,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_documented_contract(case: Any, bearer: dict[str, str]) -> None:
    response = case.call(headers=bearer)
    fuzzing.count("REST", response.status_code)
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, error_shape]
    )


def teardown_module() -> None:
    fuzzing.write_tally()


def test_a_method_a_path_lacks_answers_405_in_the_error_shape(alice: User) -> None:
    """schemathesis found ninja's plain-text 405; it now has the one error shape."""
    response = api_for(alice).client.delete("/api/v1/points")
    assert_error_shape(response, 405)
    assert "GET" in response["Allow"]
