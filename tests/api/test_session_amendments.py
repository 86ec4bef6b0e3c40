"""Through the REST API a session is signed when logged, the first needs informed consent (given
with it or before), and a change is an amendment with a reason, listed with the session."""

from __future__ import annotations

from django.contrib.auth.models import User

from acuknee.records.models import Patient, TreatmentConsent, TreatmentSession
from tests.api.conftest import api_for, assert_error_shape
from tests.api.test_writes import SESSION
from tests.pages.test_sessions import sign_plan

CONSENT = {"given_on": "2026-01-05", "given_by": "patient", "risks_explained": ["bruising"]}


def test_the_first_session_without_consent_is_refused_naming_what_is_missing(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice, consent=False)
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", SESSION)
    assert_error_shape(response, 409, "consent")
    assert "which risks were explained" in response.content.decode()
    assert not TreatmentSession.objects.exists()


def test_consent_sent_with_the_first_session_is_recorded_and_the_session_signed(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice, consent=False)
    body = {**SESSION, "consent": CONSENT}
    response = api_for(alice).post(f"/patients/{patient.pk}/sessions", body)
    assert response.status_code == 201, response.content
    assert response.json()["signed_at"] is not None
    assert TreatmentConsent.objects.get().created_by == alice


def test_consent_can_be_recorded_on_its_own_and_a_bad_one_names_its_field(
    alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice, consent=False)
    api = api_for(alice)
    url = f"/patients/{patient.pk}/consent"
    assert_error_shape(
        api.post(url, {**CONSENT, "risks_explained": []}), 422, "consent.risks_explained"
    )
    created = api.post(url, CONSENT)
    assert created.status_code == 201, created.content
    assert created.json()["taken_by"] == "alice"
    assert api.post(f"/patients/{patient.pk}/sessions", SESSION).status_code == 201


def test_a_consent_dated_before_the_birth_is_refused_on_its_date(
    alice: User, patient: Patient
) -> None:
    """A guardian's consent dated 1800 was stored, and every later session passed the "not
    before the consent" check."""
    sign_plan(patient, alice, consent=False)
    api = api_for(alice)
    url = f"/patients/{patient.pk}/consent"
    guardian = {**CONSENT, "given_on": "1800-01-01", "given_by": "parent_or_guardian"}
    response = api.post(url, {**guardian, "guardian_name": "A. Guardian"})
    assert_error_shape(response, 422, "given_on")
    assert "before the birth date" in response.json()["errors"][0]["message"]
    assert not patient.consents.exists()


def test_an_amendment_needs_a_reason_and_is_listed_with_the_session(
    alice: User, bob: User, patient: Patient
) -> None:
    sign_plan(patient, alice)
    created = api_for(alice).post(f"/patients/{patient.pk}/sessions", SESSION).json()
    url = f"/sessions/{created['id']}/amendments"
    record = {**SESSION, "pain_after": 2}
    api = api_for(bob)
    no_reason = api.post(url, {"version": 1, "reason": "", "record": record})
    assert no_reason.status_code == 422
    stale = api.post(url, {"version": 7, "reason": "re-rated", "record": record})
    assert_error_shape(stale, 409, None)
    amended = api.post(url, {"version": 1, "reason": "re-rated", "record": record})
    assert amended.status_code == 200, amended.content
    [entry] = amended.json()["amendments"]
    assert (entry["amended_by"], entry["reason"]) == ("bob", "re-rated")
    assert {"field": "Pain after", "before": "3", "after": "2"} in entry["changes"]
    assert amended.json()["data"]["pain_after"] == 2
    listed = api.get(f"/sessions/{created['id']}").json()
    assert listed["amendments"] == amended.json()["amendments"]
