"""A stored record the FHIR mapping cannot take fails alone: bulk ``$export`` leaves it out,
logs it and reports it in the manifest's ``error`` file (FHIR Bulk Data), and the rest of the
export is complete, with none of the record's content in the answer or the log. Issue 13,
item 1 (the FHIR search and read side: test_unmappable_search.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from acuknee.records.models import Measurement, Patient, TreatmentSession
from tests.fhir import test_bulk
from tests.fhir.server_course import build_course
from tests.fhir.test_bulk import Fhir, finish, lines, measure, pss4
from tests.pages import conftest as personas

# Fixtures: the clinic's personas, and the bulk test site (its URLs and exports directory).
alice, patient, northside = personas.alice, personas.patient, personas.northside
_bulk_site = test_bulk._bulk_site

SECRET = "synthetic private words"
"""Stored in the broken record: must appear in no answer and no log message."""


def _raw_update(model: Any, pk: int, column: str, value: str) -> None:
    """Write a column behind the app's back, as a bad migration or a manual fix could."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])


def _errors(client: Fhir, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    [entry] = manifest["error"]
    assert entry["type"] == "OperationOutcome"
    response = client.get(entry["url"].removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    assert SECRET not in text
    return [json.loads(line) for line in text.splitlines()]


def test_a_session_that_cannot_be_mapped_is_left_out_and_reported_in_the_error_file(
    alice: User, patient: Patient, caplog: pytest.LogCaptureFixture
) -> None:
    course = build_course(patient, alice)
    broken = course.sessions[0]
    data = dict(broken.data) | {"needle": "no-such-needle", "note": SECRET}
    _raw_update(TreatmentSession, broken.pk, "data", json.dumps(data))
    client = Fhir(alice)
    with caplog.at_level(logging.ERROR, logger="acuknee.api.bulk_export"):
        manifest = finish(client, client.kickoff())
    procedures = [r["id"] for r in lines(client, manifest, "Procedure")]
    assert procedures == [f"session-{s.pk}" for s in course.sessions[1:]]
    assert len(lines(client, manifest, "AdverseEvent")) == 1
    assert [r["id"] for r in lines(client, manifest, "Condition")] == [f"intake-{course.intake.pk}"]
    assert len(lines(client, manifest, "Observation")) > 0
    outcomes = _errors(client, manifest)
    assert {o["resourceType"] for o in outcomes} == {"OperationOutcome"}
    issues = [issue for o in outcomes for issue in o["issue"]]
    assert {i["severity"] for i in issues} == {"error"}
    assert all(f"TreatmentSession {broken.pk}" in i["diagnostics"] for i in issues)
    types = sorted(i["diagnostics"].split(" of ")[0] for i in issues)
    assert types == ["AdverseEvent", "Procedure"]
    assert all(f"TreatmentSession {broken.pk}" in r.getMessage() for r in caplog.records)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_stale_rows_that_cannot_be_mapped_are_left_out_and_the_rest_exported(
    alice: User, patient: Patient
) -> None:
    """Rows without current stored lines are built at export: a Patient and a Measurement with
    values no mapping knows fail alone, each reported once."""
    other = Patient.objects.create(
        clinic=patient.clinic,
        record_number="R-UNMAPPABLE",
        given_name="Test",
        family_name="Unmappable",
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
    )
    good = measure(patient, "pss4", pss4(2))
    bad = measure(patient, "pss4", pss4(1))
    _raw_update(Patient, other.pk, "sex", "no-sex")
    _raw_update(Measurement, bad.pk, "instrument", "no_such_instrument")
    Patient.objects.filter(pk=other.pk).update(fhir_version="")
    Measurement.objects.filter(pk=bad.pk).update(fhir_version="")
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_type="Patient,QuestionnaireResponse,Observation"))
    assert [r["id"] for r in lines(client, manifest, "Patient")] == [str(patient.pk)]
    assert [r["id"] for r in lines(client, manifest, "QuestionnaireResponse")] == [
        f"meas-{good.pk}"
    ]
    diagnostics = sorted(o["issue"][0]["diagnostics"] for o in _errors(client, manifest))
    assert len(diagnostics) == 2
    assert diagnostics[0].startswith(f"Patient of Patient {other.pk} ")
    assert diagnostics[1].startswith(f"QuestionnaireResponse, Observation of Measurement {bad.pk} ")


def test_an_export_with_every_record_mapped_lists_no_error_file(
    alice: User, patient: Patient
) -> None:
    measure(patient, "pss4", pss4(2))
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    assert manifest["error"] == []
    assert "OperationOutcome" not in {o["type"] for o in manifest["output"]}
