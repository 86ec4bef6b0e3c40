"""Audit gaps (issue 13, item 5): searches, the clinic report, multi-patient FHIR reads and ids
too large for the database all leave a row."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from acuknee.audit.models import AuditEvent
from acuknee.records.models import ApiToken, Clinic, Patient
from tests.pages.conftest import login

TOO_BIG = "99999999999999999999"  # beyond BIGINT (2**63 - 1)


@pytest.fixture
def api(alice: User) -> Client:
    _, secret = ApiToken.issue(alice, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


# --- (a) patient search ---------------------------------------------------------------------------


def test_searching_the_patient_list_by_name_records_a_search_row_of_kind_name_or_number(
    patient: Patient, alice: User
) -> None:
    response = login(alice).get("/", {"q": "Ada"})
    assert response.status_code == 200
    [event] = events(action="search")
    assert (event.username, event.clinic_id) == ("alice", patient.clinic_id)
    assert (event.object_type, event.object_id, event.status) == ("patient", "name_or_number", 200)


def test_a_patient_search_never_stores_the_text_searched_for(patient: Patient, alice: User) -> None:
    login(alice).get("/", {"q": "Synthetic N-0001"})
    [event] = events(action="search")
    stored = " ".join(str(value) for value in vars(event).values())
    assert "Synthetic" not in stored
    assert "N-0001" not in stored
    assert event.path == "/?q=[search]"


def test_searching_by_date_of_birth_records_that_kind(patient: Patient, alice: User) -> None:
    login(alice).get("/", {"q": "1960-05-17"})
    [event] = events(action="search")
    assert event.object_id == "date_of_birth"
    assert "1960" not in event.path


def test_the_patient_list_without_a_query_writes_no_search_row(
    patient: Patient, alice: User
) -> None:
    login(alice).get("/", {"q": "  "})
    assert events(action="search") == []


def test_searching_the_rest_patient_list_records_a_search_row_without_the_text(
    patient: Patient, api: Client
) -> None:
    response = api.get("/api/v1/patients", {"q": "Ada", "limit": 5})
    assert response.status_code == 200
    [event] = events()
    assert (event.action, event.object_type, event.object_id) == (
        "search",
        "patient",
        "name_or_number",
    )
    assert "Ada" not in event.path
    assert "limit=5" in event.path


# --- (b) the clinic report ------------------------------------------------------------------------


def test_viewing_the_clinic_report_records_a_read_of_the_clinic_report(
    northside: Clinic, alice: User
) -> None:
    response = login(alice).get("/reports/clinic/")
    assert response.status_code == 200
    [event] = events(object_type="clinic_report")
    assert (event.action, event.object_type, event.clinic_id) == (
        "read",
        "clinic_report",
        northside.pk,
    )
    assert event.patient_id is None


def test_downloading_the_clinic_report_pdf_records_an_export(
    northside: Clinic, alice: User
) -> None:
    response = login(alice).get("/reports/clinic.pdf", {"start": "2025-02-01", "end": "2025-01-01"})
    assert response.status_code == 400  # a bad range: the attempt is recorded all the same
    [event] = events(object_type="clinic_report")
    assert (event.action, event.object_type, event.status) == ("export", "clinic_report", 400)


# --- (c) FHIR reads of several patients -----------------------------------------------------------


def test_a_fhir_search_for_several_patients_records_one_row_per_patient(
    patient: Patient, other_patient: Patient, api: Client
) -> None:
    response = api.get("/fhir/Observation", {"patient": f"{patient.pk},{other_patient.pk}"})
    assert response.status_code == 200
    rows = events()
    assert [row.patient_id for row in rows] == [patient.pk, other_patient.pk]
    assert {(row.action, row.object_type, row.status) for row in rows} == {
        ("read", "Observation", 200)
    }


def test_a_fhir_patient_search_by_id_records_the_patient(patient: Patient, api: Client) -> None:
    response = api.get("/fhir/Patient", {"_id": str(patient.pk)})
    assert response.status_code == 200
    [event] = events()
    assert event.patient_id == patient.pk


def test_a_fhir_patient_search_by_several_ids_records_each_once(
    patient: Patient, other_patient: Patient, api: Client
) -> None:
    ids = f"{patient.pk},{other_patient.pk},{patient.pk}"
    api.get("/fhir/Patient", {"_id": ids})
    assert sorted(row.patient_id or 0 for row in events()) == sorted([patient.pk, other_patient.pk])


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
