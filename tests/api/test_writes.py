"""Writes go through the same validation as the clinic's forms and the core; every refusal is a
field error in the one error shape, and nothing is stored."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from acuknee.records.models import Measurement, Patient, TreatmentSession
from tests.api.conftest import api_for, assert_error_shape
from tests.pages.test_sessions import sign_plan

NEW_PATIENT: dict[str, Any] = {
    "given_name": "Cleo",
    "family_name": "Synthetic",
    "date_of_birth": "1971-08-09",
    "sex": "female",
    "record_number": "N-0100",
}


def test_registering_a_patient_stores_it_in_the_callers_clinic(
    dana: User, carol: User, patient: Patient
) -> None:
    response = api_for(dana).post("/patients", NEW_PATIENT)
    assert response.status_code == 201, response.content
    stored = Patient.objects.get(pk=response.json()["id"])
    assert stored.clinic == patient.clinic
    assert stored.created_by == dana
    elsewhere = api_for(carol).post("/patients", NEW_PATIENT)  # same number, other clinic
    assert Patient.objects.get(pk=elsewhere.json()["id"]).clinic.slug == "southside"


def test_a_taken_record_number_is_a_field_error(alice: User, patient: Patient) -> None:
    response = api_for(alice).post("/patients", {**NEW_PATIENT, "record_number": "N-0001"})
    assert_error_shape(response, 422, "record_number")
    assert Patient.objects.count() == 1


def test_a_birth_date_in_the_future_is_a_field_error(alice: User, patient: Patient) -> None:
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = api_for(alice).post("/patients", {**NEW_PATIENT, "date_of_birth": future})
    assert_error_shape(response, 422, "date_of_birth")


def test_a_missing_or_mistyped_field_is_a_field_error(alice: User, patient: Patient) -> None:
    missing = {k: v for k, v in NEW_PATIENT.items() if k != "given_name"}
    assert_error_shape(api_for(alice).post("/patients", missing), 422, "given_name")
    bad_sex = {**NEW_PATIENT, "sex": "sometimes"}
    assert_error_shape(api_for(alice).post("/patients", bad_sex), 422, "sex")
    bad_date = {**NEW_PATIENT, "date_of_birth": "17/05/1960"}
    assert_error_shape(api_for(alice).post("/patients", bad_date), 422, "date_of_birth")


def test_a_researcher_may_not_register_patients(rex: User) -> None:
    assert_error_shape(api_for(rex).post("/patients", NEW_PATIENT), 403, None)


# --- measurements ---


def _pain(**answers: Any) -> dict[str, Any]:
    given = {"current": 6, "average_last_week": 5, "worst_last_week": 8, **answers}
    return {"measured_on": "2026-03-02", "answers": {"pain_nrs": given}}


def test_recording_measurements_scores_them_with_the_core(alice: User, patient: Patient) -> None:
    response = api_for(alice).post(f"/patients/{patient.pk}/measurements", _pain())
    assert response.status_code == 201, response.content
    [item] = response.json()
    stored = Measurement.objects.get(pk=item["id"])
    assert stored.instrument == "pain_nrs"
    assert stored.measured_on == dt.date(2026, 3, 2)
    assert item["scores"] == stored.scores
    assert stored.scores["instrument"] == "pain_nrs"


def test_an_answer_out_of_range_is_an_error_on_its_item(alice: User, patient: Patient) -> None:
    response = api_for(alice).post(f"/patients/{patient.pk}/measurements", _pain(current=11))
    assert_error_shape(response, 422, "answers.pain_nrs.current")
    assert not Measurement.objects.exists()


def test_an_unknown_instrument_or_item_is_a_field_error(alice: User, patient: Patient) -> None:
    api = api_for(alice)
    url = f"/patients/{patient.pk}/measurements"
    body = {"measured_on": "2026-03-02", "answers": {"mood_ring": {"colour": 3}}}
    assert_error_shape(api.post(url, body), 422, "answers.mood_ring")
    assert_error_shape(api.post(url, _pain(sharpness=3)), 422, "answers.pain_nrs.sharpness")


def test_no_answer_at_all_is_refused(alice: User, patient: Patient) -> None:
    body = {"measured_on": "2026-03-02", "answers": {}}
    assert_error_shape(api_for(alice).post(f"/patients/{patient.pk}/measurements", body), 422)


def test_nothing_is_recorded_for_a_voided_patient(alice: User, patient: Patient) -> None:
    patient.void(alice, "registered twice")
    response = api_for(alice).post(f"/patients/{patient.pk}/measurements", _pain())
    assert_error_shape(response, 409, None)


def test_front_desk_may_not_record_measurements(dana: User, patient: Patient) -> None:
    response = api_for(dana).post(f"/patients/{patient.pk}/measurements", _pain())
    assert_error_shape(response, 403, None)


def test_measurements_for_another_clinics_patient_are_404(carol: User, patient: Patient) -> None:
    response = api_for(carol).post(f"/patients/{patient.pk}/measurements", _pain())
    assert_error_shape(response, 404, None)


# --- sessions ---

SESSION: dict[str, Any] = {
    "date": "2026-01-06",
    "pain_before": 6,
    "pain_after": 3,
    "points": [{"code": "ST35", "side": "right", "stimulation": "manual"}],
}


def test_logging_a_session_validates_it_as_a_session_record(alice: User, patient: Patient) -> None:
    sign_plan(patient, alice)
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", SESSION)
    assert response.status_code == 201, response.content
    stored = TreatmentSession.objects.get(pk=response.json()["id"])
    assert stored.number == 1
    assert stored.data["practitioner_id"] == "alice"
    assert stored.data["points"][0]["code"] == "ST35"


def test_a_session_error_names_its_field(alice: User, patient: Patient) -> None:
    sign_plan(patient, alice)
    api = api_for(alice)
    url = f"/patients/{patient.pk}/sessions"
    assert_error_shape(api.post(url, {**SESSION, "pain_after": 11}), 422, "pain_after")
    bad_side = {**SESSION, "points": [{"code": "ST35", "side": "middle"}]}
    assert_error_shape(api.post(url, bad_side), 422, "points.0.side")
    assert_error_shape(api.post(url, {"pain_before": 2}), 422, "date")
    assert not TreatmentSession.objects.exists()


def test_an_infinite_electro_frequency_is_a_field_error_never_a_repeated_save(
    alice: User, patient: Patient
) -> None:
    """JSON's Infinity once passed the core, the database refused the row, and the answer said
    the session "was saved by another request" with nothing stored (409 on SQLite, 500 on
    PostgreSQL); an amendment carrying it was a 500."""
    sign_plan(patient, alice)
    api = api_for(alice)
    url = f"/patients/{patient.pk}/sessions"
    electro = [{"points": ["ST35", "ST36"], "side": "right", "frequency_hz": [float("inf")]}]
    points = [
        {"code": "ST35", "side": "right", "stimulation": "electro"},
        {"code": "ST36", "side": "right", "stimulation": "electro"},
    ]
    body = {**SESSION, "points": points, "electro": electro}
    assert_error_shape(api.post(url, body), 422, "electro.0.frequency_hz.0")
    assert not TreatmentSession.objects.exists()
    stored = api.post(url, SESSION).json()
    amended = {"version": 1, "reason": "typo", "record": body}
    response = api.post(f"/sessions/{stored['id']}/amendments", amended)
    assert_error_shape(response, 422, "record.electro.0.frequency_hz.0")


def test_a_check_across_fields_names_the_field_it_is_about(alice: User, patient: Patient) -> None:
    """A point listed twice, or fewer needles than insertions, was answered with a null field
    (pydantic places a model's own check on the model)."""
    sign_plan(patient, alice)
    api = api_for(alice)
    url = f"/patients/{patient.pk}/sessions"
    twice = {**SESSION, "points": [*SESSION["points"], *SESSION["points"]]}
    assert_error_shape(api.post(url, twice), 422, "points")
    few = {**SESSION, "number_of_needles": 0}
    assert_error_shape(api.post(url, few), 422, "number_of_needles")
    stored = api.post(url, SESSION).json()
    amended = {"version": 1, "reason": "typo", "record": twice}
    response = api.post(f"/sessions/{stored['id']}/amendments", amended)
    assert_error_shape(response, 422, "record.points")


def test_an_unknown_point_or_a_blocked_one_is_a_field_error(alice: User, patient: Patient) -> None:
    sign_plan(patient, alice, health={"pregnant": True, "pregnancy_weeks": 20})
    api = api_for(alice)
    url = f"/patients/{patient.pk}/sessions"
    unknown = {**SESSION, "points": [{"code": "ST99", "side": "right"}]}
    response = api.post(url, unknown)
    assert_error_shape(response, 422, "points.0.code")
    assert "ST99" in response.json()["errors"][0]["message"]
    blocked = {**SESSION, "points": [{"code": "SP6", "side": "right"}]}
    response = api.post(url, blocked)
    assert_error_shape(response, 422, "points.0.code")
    assert "Pregnancy: forbidden" in response.json()["errors"][0]["message"]
    assert not TreatmentSession.objects.exists()


def test_a_session_needs_a_signed_plan(alice: User, patient: Patient) -> None:
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", SESSION)
    assert_error_shape(response, 409, None)


def test_front_desk_may_not_log_sessions(alice: User, dana: User, patient: Patient) -> None:
    sign_plan(patient, alice)
    response = api_for(dana).post(f"/patients/{patient.pk}/sessions", SESSION)
    assert_error_shape(response, 403, None)


# --- the session-time limits of the screening (bleeding risk: BAcC; WHO 1999) ---


def _bleeding_rule_words() -> tuple[str, list[str]]:
    from acuknee.clinical import load_knowledge

    kb = load_knowledge()
    rule = kb.safety_rules["bleeding_risk"]
    return rule.name, [kb.sources[s].citation for s in rule.source]


def _planned_point(patient: Patient) -> dict[str, Any]:
    from acuknee.records.models import PlanRecord

    point = PlanRecord.objects.get(patient=patient).content["points"][0]
    return {"code": point["code"], "side": point["side"], "stimulation": "manual"}


def test_an_api_session_deeper_than_the_bleeding_risk_cap_is_refused_in_words(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice, health={"anticoagulant": "warfarin"})
    point = _planned_point(patient) | {"depth": {"value": 1.0, "unit": "cun"}}
    body = {**SESSION, "points": [point]}
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", body)
    [error] = assert_error_shape(response, 422, "points.0.depth")
    name, citations = _bleeding_rule_words()
    assert "deeper than this patient's limit of 0.5 cun" in error["message"]
    assert name in error["message"]
    assert all(c in error["message"] for c in citations)
    assert "bleeding_risk" not in error["message"]
    assert not TreatmentSession.objects.exists()


def test_an_api_session_with_a_needle_thicker_than_0_20_mm_is_refused_in_words(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice, health={"anticoagulant": "warfarin"})
    body = {
        **SESSION,
        "points": [_planned_point(patient)],
        "needle": {"diameter_mm": 0.25, "length_mm": 25},
    }
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", body)
    [error] = assert_error_shape(response, 422, "needle.diameter_mm")
    name, citations = _bleeding_rule_words()
    assert "thicker than this patient's limit of 0.2 mm" in error["message"]
    assert name in error["message"]
    assert citations[0] in error["message"]
    assert not TreatmentSession.objects.exists()


def test_a_coded_adverse_event_round_trips_through_the_api(alice: User, patient: Patient) -> None:
    sign_plan(patient, alice)
    api = api_for(alice)
    event = {
        "kind": "fainting",
        "severity": "moderate",
        "action_taken": "Needles removed; lay flat until recovered.",
        "point": None,
        "note": "First session.",
    }
    created = api.post(f"/patients/{patient.pk}/sessions", {**SESSION, "adverse_events": [event]})
    assert created.status_code == 201, created.content
    read = api.get(f"/sessions/{created.json()['id']}")
    assert read.json()["data"]["adverse_events"] == [event]


def test_an_unknown_adverse_event_kind_is_a_field_error(alice: User, patient: Patient) -> None:
    sign_plan(patient, alice)
    event = {"kind": "sore", "severity": "mild", "action_taken": "none"}
    response = api_for(alice).post(
        f"/patients/{patient.pk}/sessions", {**SESSION, "adverse_events": [event]}
    )
    assert_error_shape(response, 422, "adverse_events.0.kind")
    assert not TreatmentSession.objects.exists()


def test_a_session_stored_with_an_old_free_text_event_reads_as_other_with_its_text(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice)
    api = api_for(alice)
    created = api.post(f"/patients/{patient.pk}/sessions", SESSION)
    stored = TreatmentSession.objects.get(pk=created.json()["id"])
    old = {"type": "bruise", "severity": "mild", "action_taken": "pressure", "point": None}
    stored.data = {**stored.data, "adverse_events": [old]}
    stored.save(update_fields=["data"])
    [event] = api.get(f"/sessions/{stored.pk}").json()["data"]["adverse_events"]
    assert (event["kind"], event["note"]) == ("other", "bruise")


def _post_keyed(user: User, path: str, body: Any, key: str) -> Any:
    api = api_for(user)
    headers = {**api._headers(), "Idempotency-Key": key}
    return api.client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_retried_measurement_with_its_idempotency_key_is_stored_once(
    alice: User, patient: Patient
) -> None:
    """A retry of the same visit once stored it twice (the session had its key, a visit none)."""
    url = f"/patients/{patient.pk}/measurements"
    first = _post_keyed(alice, url, _pain(), "visit-1")
    assert first.status_code == 201, first.content
    again = _post_keyed(alice, url, _pain(), "visit-1")
    assert again.status_code == 409
    assert again["X-Existing-Id"] == str(first.json()[0]["id"])
    assert Measurement.objects.filter(patient=patient).count() == 1


def test_two_long_keys_sharing_their_first_64_characters_are_two_saves(
    alice: User, patient: Patient
) -> None:
    """Keys were cut to 64 characters, so a second, different save was refused as a repeat."""
    sign_plan(patient, alice)
    stem = "k" * 64
    url = f"/patients/{patient.pk}/sessions"
    assert _post_keyed(alice, url, SESSION, stem + "-first").status_code == 201
    later = {**SESSION, "date": "2026-03-04"}
    assert _post_keyed(alice, url, later, stem + "-second").status_code == 201
    assert _post_keyed(alice, url, later, stem + "-second").status_code == 409
    assert TreatmentSession.objects.filter(patient=patient).count() == 2
