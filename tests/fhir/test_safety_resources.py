"""The screening's safety findings as FHIR Flags and its referrals as ServiceRequests: the pure
mapping (validated by fhir.resources) and the /fhir server's search, read and metadata."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.servicerequest import ServiceRequest

from acuknee import demo
from acuknee.care import services
from acuknee.care.queries import safety_banner
from acuknee.clinical import Intake, load_knowledge, screen
from acuknee.clinical.vocabulary import Urgency
from acuknee.fhir import codes, flag_resource, service_request_resource
from acuknee.records.models import IntakeRecord, Patient
from tests.api.conftest import another_patient
from tests.fhir.server_course import Fhir, fhir_for
from tests.pages import conftest as personas

alice, carol, dana = personas.alice, personas.carol, personas.dana
northside, southside, patient = personas.northside, personas.southside, personas.patient

SEEN = dt.date(2026, 1, 5)
HOT_KNEE_ON_WARFARIN: dict[str, Any] = {
    "age": 66,
    "sex": "female",
    "side": "left",
    "duration_weeks": 2,
    "red_flags": {"hot_swollen_knee": True, "fever": True},
    "health": {"anticoagulant": "warfarin"},
}


def _intake() -> Intake:
    return Intake.model_validate(HOT_KNEE_ON_WARFARIN)


# --- the mapping ---------------------------------------------------------------------------------


def test_a_safety_finding_is_an_active_clinical_flag_named_by_its_rule() -> None:
    screening = screen(_intake())
    finding = next(f for f in screening.findings if f.rule == "bleeding_risk")
    flag = flag_resource(finding, "Patient/7", recorded=SEEN, resource_id="intake-1-bleeding-risk")
    data = flag.model_dump(mode="json", exclude_none=True)
    Flag.model_validate(data)
    assert data["status"] == "active"
    assert data["category"][0]["coding"][0] == {
        "system": codes.FLAG_CATEGORY,
        "code": "clinical",
        "display": "Clinical",
    }
    assert data["code"] == {"text": load_knowledge().safety_rules["bleeding_risk"].name}
    assert data["subject"] == {"reference": "Patient/7"}
    assert data["period"] == {"start": "2026-01-05"}


def test_a_referral_is_a_proposed_service_request_with_reason_and_next_step() -> None:
    screening = screen(_intake())
    referral = next(r for r in screening.referrals if r.rule == "septic_arthritis")
    request = service_request_resource(referral, "Patient/7", authored=SEEN)
    data = request.model_dump(mode="json", exclude_none=True)
    ServiceRequest.model_validate(data)
    assert (data["status"], data["intent"]) == ("active", "proposal")
    assert data["priority"] == "stat"  # an emergency
    assert data["reasonCode"] == [{"text": referral.reason}]
    assert data["code"] == {"text": referral.action}
    assert data["note"] == [{"text": referral.next_step}]
    assert data["authoredOn"] == "2026-01-05"


@pytest.mark.parametrize(
    ("urgency", "priority"),
    [(Urgency.EMERGENCY, "stat"), (Urgency.URGENT, "urgent"), (Urgency.ROUTINE, "routine")],
)
def test_a_referrals_urgency_sets_the_request_priority(urgency: Urgency, priority: str) -> None:
    screening = screen(_intake())
    referral = screening.referrals[0].model_copy(update={"urgency": urgency})
    request = service_request_resource(referral, "Patient/7", authored=SEEN)
    assert request.priority == priority


def test_a_referral_stored_without_a_next_step_has_no_note() -> None:
    referral = screen(_intake()).referrals[0].model_copy(update={"next_step": ""})
    data = service_request_resource(referral, "Patient/7", authored=SEEN).model_dump(
        exclude_none=True
    )
    assert "note" not in data


# --- the server ----------------------------------------------------------------------------------


@pytest.fixture
def screened(patient: Patient, alice: User) -> IntakeRecord:
    return demo.record_intake(patient, _intake(), SEEN, alice)


def _bundle(client: Fhir, kind: str, **params: Any) -> dict[str, Any]:
    response = client.get(kind, **params)
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_flag_search_by_patient_returns_the_patients_findings(
    screened: IntakeRecord, alice: User, northside: Any
) -> None:
    other = another_patient(northside, alice, "N-0200")
    demo.record_intake(other, _intake(), SEEN, alice)
    bundle = _bundle(fhir_for(alice), "Flag", patient=str(screened.patient_id))
    stored = screened.screening["findings"]
    assert bundle["total"] == len(stored) > 0
    resources = [e["resource"] for e in bundle["entry"]]
    assert {r["code"]["text"] for r in resources} == {f["name"] for f in stored}
    assert {r["subject"]["reference"] for r in resources} == {f"Patient/{screened.patient_id}"}
    assert all(r["id"].startswith(f"intake-{screened.pk}-") for r in resources)
    for resource in resources:
        Flag.model_validate(resource)


def test_service_request_search_and_read_return_the_referrals(
    screened: IntakeRecord, alice: User
) -> None:
    client = fhir_for(alice)
    bundle = _bundle(client, "ServiceRequest", subject=f"Patient/{screened.patient_id}")
    stored = screened.screening["referrals"]
    assert bundle["total"] == len(stored) > 0
    first = bundle["entry"][0]["resource"]
    assert first["id"] == f"intake-{screened.pk}-septic-arthritis"
    read = client.get(f"ServiceRequest/{first['id']}")
    assert read.status_code == 200
    assert read.json() == first
    assert _bundle(client, "ServiceRequest", authored="2026-01-05")["total"] == len(stored)
    assert _bundle(client, "ServiceRequest", authored="gt2026-01-05")["total"] == 0


def test_flag_read_by_id_and_date_search(screened: IntakeRecord, alice: User) -> None:
    client = fhir_for(alice)
    flag_id = f"intake-{screened.pk}-bleeding-risk"
    read = client.get(f"Flag/{flag_id}")
    assert read.status_code == 200, read.content
    assert read.json()["period"]["start"] == SEEN.isoformat()
    assert client.get(f"Flag/intake-{screened.pk}-no-such-rule").status_code == 404
    found = _bundle(client, "Flag", date="2026-01")["entry"]
    assert flag_id in [e["resource"]["id"] for e in found]


def test_another_clinic_and_front_desk_see_no_flags(
    screened: IntakeRecord, carol: User, dana: User
) -> None:
    assert _bundle(fhir_for(carol), "Flag").get("total") == 0
    assert fhir_for(dana).get("Flag").status_code == 403
    assert fhir_for(carol).get(f"Flag/intake-{screened.pk}-bleeding-risk").status_code == 404


@pytest.mark.django_db
def test_metadata_lists_flag_and_service_request_searches() -> None:
    rest = Fhir().get("metadata").json()["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {p["name"] for p in by_type["Flag"]["searchParam"]} == {
        "_id",
        "patient",
        "subject",
        "date",
    }
    assert {p["name"] for p in by_type["ServiceRequest"]["searchParam"]} == {
        "_id",
        "patient",
        "subject",
        "authored",
    }
    assert {i["code"] for i in by_type["Flag"]["interaction"]} == {"read", "search-type"}


# --- what stands: the Flags and ServiceRequests follow the safety banner --------------------------

LATER = SEEN + dt.timedelta(days=10)
NO_FINDING: dict[str, Any] = {
    "age": 66,
    "sex": "female",
    "side": "left",
    "duration_weeks": 3,
}


def _later_intake(patient: Patient, alice: User) -> IntakeRecord:
    """An intake ten days on that finds nothing: the patient stopped warfarin."""
    return demo.record_intake(patient, Intake.model_validate(NO_FINDING), LATER, alice)


def _banner_rules(patient: Patient) -> set[tuple[str, int | None]]:
    return {(item.rule, item.intake_id) for item in safety_banner(patient)}


def test_a_flag_whose_intake_a_later_one_superseded_is_inactive_from_that_visit(
    screened: IntakeRecord, patient: Patient, alice: User
) -> None:
    flag_id = f"intake-{screened.pk}-bleeding-risk"
    client = fhir_for(alice)
    assert ("bleeding_risk", screened.pk) in _banner_rules(patient)
    later = _later_intake(patient, alice)
    assert ("bleeding_risk", screened.pk) not in _banner_rules(patient)
    flag = client.get(f"Flag/{flag_id}").json()
    assert (flag["status"], flag["period"]) == (
        "inactive",
        {"start": SEEN.isoformat(), "end": LATER.isoformat()},
    )
    Flag.model_validate(flag)
    searched = _bundle(client, "Flag", patient=str(patient.pk))["entry"]
    assert {e["resource"]["id"]: e["resource"]["status"] for e in searched} == {
        f"intake-{screened.pk}-{rule.replace('_', '-')}": "inactive"
        for rule in (f["rule"] for f in screened.screening["findings"])
    }
    services.void(later, alice, "recorded for the wrong patient", later.version)
    assert client.get(f"Flag/{flag_id}").json()["status"] == "active"
    assert "end" not in client.get(f"Flag/{flag_id}").json()["period"]


def test_a_superseded_flag_is_found_by_any_day_of_its_period(
    screened: IntakeRecord, patient: Patient, alice: User
) -> None:
    flag_id = f"intake-{screened.pk}-bleeding-risk"
    client = fhir_for(alice)
    _later_intake(patient, alice)

    def found(date: str) -> bool:
        entries = _bundle(client, "Flag", date=date).get("entry", [])
        return flag_id in [e["resource"]["id"] for e in entries]

    assert found("ge" + LATER.isoformat())
    assert found("gt" + (LATER - dt.timedelta(days=1)).isoformat())
    assert not found(SEEN.isoformat())  # eq: the period is no longer within that one day
    assert found("2026-01")
    assert not found("sa" + SEEN.isoformat())


def test_a_cleared_referral_is_a_completed_request_saying_who_saw_the_patient(
    screened: IntakeRecord, patient: Patient, alice: User
) -> None:
    request_id = f"intake-{screened.pk}-septic-arthritis"
    client = fhir_for(alice)
    assert ("septic_arthritis", screened.pk) in _banner_rules(patient)
    services.resolve_referral(
        screened,
        alice,
        seen_by="Dr Synthetic, ED",
        seen_on=SEEN + dt.timedelta(days=1),
        cleared=True,
        note="Aspirated, no infection.",
    )
    assert ("septic_arthritis", screened.pk) not in _banner_rules(patient)
    request = client.get(f"ServiceRequest/{request_id}").json()
    ServiceRequest.model_validate(request)
    assert (request["status"], request["intent"]) == ("completed", "proposal")
    assert request["note"][-1] == {
        "text": "Seen by Dr Synthetic, ED on 2026-01-06: cleared, acupuncture may go ahead. "
        "Aspirated, no infection."
    }
    searched = _bundle(client, "ServiceRequest", patient=str(patient.pk))["entry"]
    assert {e["resource"]["status"] for e in searched} == {"completed"}


def test_a_referral_seen_but_not_cleared_stands_and_stays_an_active_request(
    screened: IntakeRecord, patient: Patient, alice: User
) -> None:
    services.resolve_referral(screened, alice, seen_by="Dr Synthetic", seen_on=SEEN, cleared=False)
    _later_intake(patient, alice)  # a later intake does not lift a referral
    assert ("septic_arthritis", screened.pk) in _banner_rules(patient)
    request = fhir_for(alice).get(f"ServiceRequest/intake-{screened.pk}-septic-arthritis")
    assert request.json()["status"] == "active"
