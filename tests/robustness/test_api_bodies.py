"""Gaps the API's own bad-input tests (tests/api) leave: JSON nested deeper than Python's
recursion limit, bytes that are not UTF-8, and a urlencoded body with a charset other than
UTF-8, on every write endpoint of /api/v1 and on FHIR's QuestionnaireResponse. No 5xx, nothing
stored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from acuknee.records.models import ApiToken, Patient
from tests.robustness.web import snapshot

BODIES = [
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    (b'{"given_name": "\xff\xfe"}', "application/json"),
    (b"given_name=Cleo", "application/x-www-form-urlencoded; charset=utf-16"),
]


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_unreadable_json_on_every_write_endpoint_is_a_client_error(
    alice: User, patient: Patient, body: bytes, content_type: str
) -> None:
    _, secret = ApiToken.issue(alice, "robustness")
    client = Client(raise_request_exception=False)
    headers = {"Authorization": f"Bearer {secret}"}
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    writes = [p for p, ops in paths.items() if "post" in ops]
    writes = [p.replace("{patient_id}", str(patient.pk)).replace("{id}", "1") for p in writes]
    before = snapshot()
    for path in [*(f"/api/v1{p}" for p in writes), "/fhir/QuestionnaireResponse"]:
        response = client.generic("POST", path, body, content_type, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    assert snapshot() == before
