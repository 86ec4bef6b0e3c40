"""Audit gaps (issue 13, item 5): ids too large for the database leave a row, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from acuknee.audit.models import AuditEvent
from acuknee.clinic.models import ApiToken, Patient

TOO_BIG = "99999999999999999999"  # beyond BIGINT (2**63 - 1)


@pytest.fixture
def api(alice: User) -> Client:
    _, secret = ApiToken.issue(alice, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


# --- (d) ids too large for the database -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"/fhir/Patient/{TOO_BIG}",
        f"/fhir/Patient/{2**63}",
        f"/fhir/Condition/intake-{TOO_BIG}",
        f"/fhir/Observation/meas-{TOO_BIG}-pain",
    ],
)
def test_a_fhir_read_of_an_id_beyond_the_database_is_a_404_with_its_audit_row(
    url: str, patient: Patient, api: Client
) -> None:
    response = api.get(url)
    assert response.status_code == 404
    [event] = events()
    assert (event.action, event.status, event.patient_id) == ("read", 404, None)


@pytest.mark.parametrize(
    "query",
    [
        {"_id": TOO_BIG},
        {"patient": TOO_BIG},
    ],
)
def test_a_fhir_search_by_an_id_beyond_the_database_finds_nothing_and_is_audited(
    query: dict[str, str], patient: Patient, api: Client
) -> None:
    kind = "Patient" if "_id" in query else "Observation"
    response = api.get(f"/fhir/{kind}", query)
    assert response.status_code == 200
    assert response.json()["total"] == 0
    [event] = events()
    assert (event.status, event.patient_id) == (200, None)


def test_a_fhir_search_by_record_ids_beyond_the_database_finds_nothing(
    patient: Patient, api: Client
) -> None:
    response = api.get("/fhir/Observation", {"_id": f"meas-{TOO_BIG}-pain"})
    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert [event.status for event in events()] == [200]
