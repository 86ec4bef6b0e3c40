"""The patient record and the text rule through the REST API (and the FHIR write): plausible
birth dates, likely duplicates answered 409 until confirmed, lone surrogates and control
characters refused naming the field, numbers beyond the database a 400."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from acuknee.records.models import Measurement, Patient, TreatmentSession
from tests.api.conftest import api_for, assert_error_shape
from tests.api.test_writes import NEW_PATIENT, SESSION
from tests.pages.test_sessions import sign_plan

HUGE = "99999999999999999999"


def _years_ago(years: int) -> str:
    today = timezone.localdate()
    return today.replace(year=today.year - years).isoformat()


# --- registration --------------------------------------------------------------------------------


def test_a_birth_date_136_years_ago_is_refused_naming_the_field(alice: User) -> None:
    response = api_for(alice).post("/patients", {**NEW_PATIENT, "date_of_birth": _years_ago(136)})
    assert_error_shape(response, 422, "date_of_birth")
    assert "136 years" in response.json()["errors"][0]["message"]
    assert not Patient.objects.exists()


def test_likely_duplicates_are_a_409_listing_them_until_confirmed(
    alice: User, patient: Patient
) -> None:
    api = api_for(alice)
    same = {**NEW_PATIENT, "given_name": "ada", "family_name": "SYNTHETIC"}
    same["date_of_birth"] = patient.date_of_birth.isoformat()
    refused = api.post("/patients", same)
    assert refused.status_code == 409
    body = refused.json()
    assert [m["id"] for m in body["matches"]] == [patient.pk]
    assert body["errors"][0]["message"]
    assert Patient.objects.count() == 1
    confirmed = api.post("/patients", {**same, "confirm_duplicates": True})
    assert confirmed.status_code == 201, confirmed.content
    assert Patient.objects.count() == 2


def test_a_record_number_differing_only_by_case_is_a_likely_duplicate(
    alice: User, patient: Patient
) -> None:
    response = api_for(alice).post("/patients", {**NEW_PATIENT, "record_number": "n-0001"})
    assert response.status_code == 409
    assert [m["record_number"] for m in response.json()["matches"]] == ["N-0001"]


def test_the_schema_documents_the_duplicates_answer_and_the_confirm_flag() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    create = document["paths"]["/api/v1/patients"]["post"]
    conflict = create["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    assert "matches" in schemas[conflict.rsplit("/", 1)[-1]]["properties"]
    assert "confirm_duplicates" in schemas["PatientIn"]["properties"]


# --- text ----------------------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_session_note_is_refused_naming_the_field(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice)
    raw = json.dumps({**SESSION, "note": "x\ud800"})  # json.dumps writes the escape "\ud800"
    assert "\\ud800" in raw
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", raw=raw)
    assert_error_shape(response, 422, "note")
    assert "surrogate" in response.json()["errors"][0]["message"]
    assert not TreatmentSession.objects.exists()


def test_a_control_character_is_refused_but_tab_and_newline_are_kept(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice)
    api = api_for(alice)
    url = f"/patients/{patient.pk}/sessions"
    bell = api.post(url, {**SESSION, "points": [{**SESSION["points"][0], "code": "ST35\x07"}]})
    assert_error_shape(bell, 422, "points.0.code")
    kept = api.post(url, {**SESSION, "note": "first line\n\tsecond line"})
    assert kept.status_code == 201, kept.content
    assert kept.json()["data"]["note"] == "first line\n\tsecond line"


def test_the_refusal_does_not_echo_the_text(alice: User, patient: Patient) -> None:
    response = api_for(alice).post("/patients", {**NEW_PATIENT, "given_name": "Secret\x00name"})
    assert_error_shape(response, 422, "given_name")
    assert b"Secret" not in response.content


def test_a_control_character_in_a_query_string_is_refused(alice: User, patient: Patient) -> None:
    assert_error_shape(api_for(alice).get("/patients", q="\x00"), 422, "q")


def test_a_lone_surrogate_in_a_fhir_write_is_refused(alice: User, patient: Patient) -> None:
    from tests.fhir.server_course import fhir_for
    from tests.fhir.test_server import outcome, pain_response

    data = pain_response(f"Patient/{patient.pk}")
    data["item"][0]["linkId"] = "current\udc00"
    response = fhir_for(alice).post("QuestionnaireResponse", json.dumps(data), "application/json")
    issues = outcome(response, 400)
    assert issues[0]["expression"] == ["item.0.linkId"]
    assert not Measurement.objects.exists()


# --- numbers -------------------------------------------------------------------------------------


def test_an_offset_beyond_the_database_is_a_400(alice: User, patient: Patient) -> None:
    for path in ("/patients", "/sessions", "/intakes"):
        assert_error_shape(api_for(alice).get(path, offset=HUGE + "999"), 400, "offset")


def test_a_patient_filter_beyond_the_database_is_a_400(alice: User, patient: Patient) -> None:
    assert_error_shape(api_for(alice).get("/sessions", patient=HUGE), 400, "patient")
    assert_error_shape(api_for(alice).get("/patients", patient=HUGE), 400, "patient")


def test_an_id_beyond_the_database_in_a_path_is_not_found(alice: User, patient: Patient) -> None:
    api = api_for(alice)
    assert_error_shape(api.get(f"/patients/{HUGE}"), 404, None)
    assert_error_shape(api.post(f"/patients/{HUGE}/sessions", SESSION), 404, None)


@pytest.mark.parametrize(
    "date", ["9999-12-31", "ge9999-12-31", "gt9999-12-31", "lt0001-01-01", "0001-01-01", "sa9999"]
)
def test_a_fhir_date_at_the_calendars_edge_is_never_a_server_error(
    alice: User, patient: Patient, date: str
) -> None:
    """Issue 13, case 8: ``/fhir/Observation?date=9999-12-31`` answered 500 (a day past the
    last date overflowed)."""
    from acuknee.records.models import ApiToken

    _, secret = ApiToken.issue(alice, "edge")
    response = Client().get(
        "/fhir/Observation",
        {"date": date, "patient": patient.pk},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code in (200, 400), (date, response.status_code)
