"""Numbers and dates at the edges, in the query strings and files that are not the REST API's
bodies: each is a 4xx or a named problem, never a 500.

An outside audit sent them: "²" passes ``str.isdigit`` but not ``int``, Python refuses to read
an integer of more than 4,300 digits, and a day after 9999-12-31 does not exist.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from acuknee.importing import import_csv
from acuknee.records.models import Clinic, Patient, PlanRecord, TreatmentSession
from tests.api.conftest import api_for
from tests.pages.conftest import login
from tests.pages.test_sessions import sign_plan

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "²"
HUGE = "9" * 5000


def test_an_id_too_long_to_be_stored_is_not_found_not_a_server_error(
    alice: User, patient: Patient
) -> None:
    """The audit middleware read the id before any view ran, and Python refused it."""
    assert api_for(alice).get(f"/patients/{HUGE}").status_code in (404, 422)
    assert login(alice).get(f"/patients/{HUGE}/").status_code == 404


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, HUGE])
def test_an_odd_patient_filter_on_the_audit_log_is_a_form_error(erin: User, value: str) -> None:
    response = login(erin).get("/audit/", {"patient": value})
    assert response.status_code == 200  # the log's filter form shows its errors in place
    assert "patient" in response.context["form"].errors


def test_the_audit_log_may_be_read_up_to_the_last_day_of_the_calendar(erin: User) -> None:
    assert login(erin).get("/audit/", {"date_to": "9999-12-31"}).status_code == 200


def test_an_odd_intake_number_on_the_referral_letter_is_ignored(
    alice: User, patient: Patient
) -> None:
    response = login(alice).get(f"/patients/{patient.pk}/referral/", {"intake": SUPERSCRIPT_TWO})
    assert response.status_code == 404  # no referral: the letter of no intake, not a 500


def test_a_research_clinic_beyond_the_database_s_integers_is_a_field_error(rex: User) -> None:
    response = api_for(rex).get("/research/outcomes", clinic="9" * 30)
    assert response.status_code in (400, 422)
    assert "clinic" in response.content.decode()


def test_an_imported_session_numbered_with_a_superscript_is_a_problem_on_its_line(
    northside: Clinic, alice: User, patient: Patient
) -> None:
    sign_plan(patient, alice)
    text = (
        "record_number,date,points,pain_before,number\n"
        f"{patient.record_number},2026-01-05,ST35:right,6,{SUPERSCRIPT_TWO}\n"
    )
    report = import_csv(text.encode(), northside)
    assert [(p.line, p.column) for p in report.problems] == [(2, "number")]
    assert not TreatmentSession.objects.exists()
    assert PlanRecord.objects.filter(patient=patient).exists()
