"""Gaps the API's own bad-input tests (tests/api) leave: JSON nested deeper than Python's
recursion limit, bytes that are not UTF-8, and a urlencoded body with a charset other than
UTF-8, on every write endpoint of /api/v1 and on FHIR's QuestionnaireResponse. No 5xx, nothing
stored. Then hypothesis: any JSON value built from lone surrogates, control characters, huge
numbers and nesting, posted to each of those endpoints, never answers 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acuknee.records.models import ApiToken, Patient
from tests.api import fuzzing
from tests.robustness.web import snapshot

BODIES = [
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    (b'{"given_name": "\xff\xfe"}', "application/json"),
    (b"given_name=Cleo", "application/x-www-form-urlencoded; charset=utf-16"),
]


def _write_paths(client: Client, patient: Patient) -> list[str]:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    writes = [p for p, ops in paths.items() if "post" in ops]
    writes = [p.replace("{patient_id}", str(patient.pk)).replace("{id}", "1") for p in writes]
    return [*(f"/api/v1{p}" for p in writes), "/fhir/QuestionnaireResponse"]


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_unreadable_json_on_every_write_endpoint_is_a_client_error(
    alice: User, patient: Patient, body: bytes, content_type: str
) -> None:
    _, secret = ApiToken.issue(alice, "robustness")
    client = Client(raise_request_exception=False)
    headers = {"Authorization": f"Bearer {secret}"}
    before = snapshot()
    for path in _write_paths(client, patient):
        response = client.generic("POST", path, body, content_type, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    assert snapshot() == before


BODY = st.one_of(
    fuzzing.JSON_VALUES.map(fuzzing.dumps),
    st.dictionaries(
        st.sampled_from(["given_name", "note", "record_number", "birth_date", "resourceType"]),
        fuzzing.JSON_VALUES,
        max_size=4,
    ).map(fuzzing.dumps),
    st.integers(1, 3000).map(fuzzing.deep),
)


@settings(
    max_examples=fuzzing.examples(15),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(body=BODY)
def test_any_json_on_every_write_endpoint_gets_no_server_error(
    alice: User, patient: Patient, body: bytes
) -> None:
    _, secret = ApiToken.issue(alice, "hypothesis")
    client = Client(raise_request_exception=False)
    headers: dict[str, Any] = {"Authorization": f"Bearer {secret}"}
    for path in _write_paths(client, patient):
        kind = "application/fhir+json" if path.startswith("/fhir") else "application/json"
        response = client.generic("POST", path, body, kind, headers=headers)
        fuzzing.count("JSON bodies", response.status_code)
        assert response.status_code < 500, (path, response.status_code, body[:200])


def teardown_module() -> None:
    fuzzing.write_tally()
