"""A stored record the FHIR mapping cannot take fails alone at ``/fhir``: a search page leaves
it out with an OperationOutcome entry (``search.mode`` "outcome", as FHIR R4 allows), and a read
of it is a 500 OperationOutcome; none repeats the record's content. Issue 13, item 1.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib.auth.models import User

from acuknee import demo
from acuknee.clinical import Intake
from acuknee.records.models import IntakeRecord, Patient, TreatmentSession
from tests.fhir import server_course
from tests.fhir.server_course import build_course
from tests.fhir.test_unmappable import SECRET, _raw_update
from tests.pages import conftest as personas

# The clinic's personas (tests/pages/conftest.py) as this module's fixtures.
alice, patient, northside = personas.alice, personas.patient, personas.northside


def _broken_session(patient: Patient, user: User) -> tuple[server_course.Course, TreatmentSession]:
    course = build_course(patient, user)
    broken = course.sessions[0]
    data = dict(broken.data) | {"needle": "no-such-needle", "note": SECRET}
    _raw_update(TreatmentSession, broken.pk, "data", json.dumps(data))
    return course, broken


@pytest.mark.parametrize("search", [{}, {"_count": "1"}, {"date": "ge2000-01-01"}])
def test_a_search_page_leaves_out_a_record_it_cannot_map_with_an_outcome_entry(
    alice: User, patient: Patient, search: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    course, broken = _broken_session(patient, alice)
    with caplog.at_level(logging.ERROR):
        response = server_course.fhir_for(alice).get("Procedure", **search)
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    entries = response.json()["entry"]
    matches = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"]
    # The first session is the broken one: a page of one holds it alone, as an outcome.
    later = [f"session-{s.pk}" for s in course.sessions[1:]]
    assert matches == ([] if search.get("_count") == "1" else later)
    [outcome] = [e for e in entries if e["search"]["mode"] == "outcome"]
    assert outcome["resource"]["resourceType"] == "OperationOutcome"
    assert f"TreatmentSession {broken.pk}" in outcome["resource"]["issue"][0]["diagnostics"]
    assert any(f"TreatmentSession {broken.pk}" in r.getMessage() for r in caplog.records)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("search", [{}, {"date": "ge2000-01-01"}, {"_sort": "-date"}])
def test_a_care_plan_search_leaves_out_a_plan_it_cannot_map(
    alice: User, patient: Patient, search: dict[str, str]
) -> None:
    """Mapped on the page (no date), or failing already where its period is read from the
    plan's JSON (a date or ``_sort``): either way alone, with an outcome entry."""
    course = build_course(patient, alice)
    _raw_update(type(course.plan), course.plan.pk, "content", json.dumps({"note": SECRET}))
    response = server_course.fhir_for(alice).get("CarePlan", **search)
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    [entry] = response.json()["entry"]
    assert entry["search"]["mode"] == "outcome"
    assert f"PlanRecord {course.plan.pk}" in entry["resource"]["issue"][0]["diagnostics"]


@pytest.mark.parametrize("kind", ["Flag", "ServiceRequest"])
def test_a_screening_search_leaves_out_an_intake_whose_screening_cannot_be_read(
    alice: User, patient: Patient, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    course = build_course(patient, alice)
    hot_knee = Intake.model_validate(
        course.intake.data
        | {"red_flags": {"hot_swollen_knee": True}, "health": {"anticoagulant": "warfarin"}}
        | {"baseline": {}}
    )
    broken = course.intake
    good = demo.record_intake(patient, hot_knee, course.intake.visit_date, alice)
    _raw_update(IntakeRecord, broken.pk, "screening", json.dumps({"findings": SECRET}))
    with caplog.at_level(logging.ERROR):
        response = server_course.fhir_for(alice).get(kind)
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    entries = response.json()["entry"]
    matches = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"]
    assert matches
    assert all(m.startswith(f"intake-{good.pk}-") for m in matches)
    [outcome] = [e for e in entries if e["search"]["mode"] == "outcome"]
    assert f"IntakeRecord {broken.pk}" in outcome["resource"]["issue"][0]["diagnostics"]
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_a_read_of_a_record_that_cannot_be_mapped_is_a_500_outcome_without_its_content(
    alice: User, patient: Patient
) -> None:
    course, broken = _broken_session(patient, alice)
    fhir = server_course.fhir_for(alice)
    response = fhir.get(f"Procedure/session-{broken.pk}")
    assert response.status_code == 500
    assert SECRET not in response.content.decode()
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "exception"
    assert f"Procedure/session-{broken.pk}" in body["issue"][0]["diagnostics"]
    assert fhir.get(f"Procedure/session-{course.sessions[1].pk}").status_code == 200
