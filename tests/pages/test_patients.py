"""Patients: list and search within the clinic, registration, the patient page, voiding, and the
status computed from the records."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from acuknee.care.status import patient_status
from acuknee.clinical import Intake, Plan
from acuknee.demo import (
    record_intake,
    record_measurement,
    record_plan,
    record_session,
    session_from_plan,
    visit_answers,
)
from acuknee.records.models import Clinic, Patient, PlanRecord

from .conftest import login

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)
LIST = reverse("patient-list")
CREATE = reverse("patient-create")


def _patient(clinic: Clinic, number: str, given: str, family: str, born: dt.date) -> Patient:
    return Patient.objects.create(
        clinic=clinic,
        record_number=number,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex="male",
        synthetic=True,
    )


def _oa_intake(**extra: Any) -> Intake:
    return Intake.model_validate(
        {
            "age": 66,
            "sex": "female",
            "side": "left",
            "duration_weeks": 60,
            "activity_related_pain": True,
            "examination": {"crepitus": True, "bony_tenderness": True, "bony_enlargement": True},
            **extra,
        }
    )


def _course(
    patient: Patient, user: User, start: dt.date, *, sessions: int | None = None
) -> PlanRecord:
    """A signed OA plan from ``start`` with ``sessions`` logged (all planned ones if None)."""
    intake = record_intake(patient, _oa_intake(), start - dt.timedelta(days=7), user)
    plan_record = record_plan(intake, start, user)
    assert plan_record is not None
    content = Plan.model_validate(plan_record.content)
    planned = [v for v in content.schedule if v.kind == "session"]
    for visit in planned[: len(planned) if sessions is None else sessions]:
        session = session_from_plan(
            content, visit.number, visit.date, pain_before=6, pain_after=5, practitioner="alice"
        )
        record_session(plan_record, session, user)
    return plan_record


def _reassessments(plan_record: PlanRecord) -> list[dt.date]:
    content = Plan.model_validate(plan_record.content)
    return [v.date for v in content.schedule if v.kind == "reassessment"]


def _measure(patient: Patient, user: User, day: dt.date) -> None:
    answers = visit_answers(random.Random(1), 0.3)["pain_nrs"]
    record_measurement(patient, "pain_nrs", answers, day, user)


# --- list and search ----------------------------------------------------------------------------


def test_list_shows_only_the_users_clinic(
    alice: User, carol: User, patient: Patient, southside: Clinic
) -> None:
    _patient(southside, "S-0001", "Sam", "Southerly", dt.date(1970, 1, 1))
    mine = login(alice).get(LIST)
    theirs = login(carol).get(LIST)
    assert [p.record_number for p in mine.context["patients"]] == ["N-0001"]
    assert [p.record_number for p in theirs.context["patients"]] == ["S-0001"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ada", ["N-0001"]),
        ("Synthetic", ["N-0001"]),
        ("ada synth", ["N-0001"]),
        ("brook", ["N-0002"]),
        ("1960-05-17", ["N-0001"]),
        ("1948-02-29", []),
        ("n-0002", ["N-0002"]),
        ("nobody", []),
    ],
)
def test_search_by_name_date_of_birth_or_record_number(
    alice: User, patient: Patient, northside: Clinic, query: str, expected: list[str]
) -> None:
    _patient(northside, "N-0002", "Bo", "Brookfield", dt.date(1955, 3, 3))
    response = login(alice).get(LIST, {"q": query})
    assert [p.record_number for p in response.context["patients"]] == expected


def test_search_does_not_reach_another_clinic(
    alice: User, northside: Clinic, southside: Clinic
) -> None:
    _patient(southside, "S-0001", "Ada", "Elsewhere", dt.date(1960, 5, 17))
    response = login(alice).get(LIST, {"q": "1960-05-17"})
    assert list(response.context["patients"]) == []


def test_front_desk_lists_and_searches(dana: User, patient: Patient) -> None:
    response = login(dana).get(LIST, {"q": "ada"})
    assert response.status_code == 200
    assert b"Synthetic, Ada" in response.content


def test_voided_patients_are_hidden_unless_asked_for(
    alice: User, patient: Patient, northside: Clinic
) -> None:
    patient.void(alice, "registered twice")
    client = login(alice)
    assert list(client.get(LIST).context["patients"]) == []
    shown = client.get(LIST, {"voided": "1"})
    assert [p.record_number for p in shown.context["patients"]] == ["N-0001"]
    assert b"voided" in shown.content


def test_list_shows_last_visit_and_status(alice: User, patient: Patient) -> None:
    start = timezone.localdate() - dt.timedelta(days=3)
    _course(patient, alice, start, sessions=1)
    response = login(alice).get(LIST)
    row = response.context["rows"][0]
    assert row["status"] == Patient.Status.IN_COURSE
    assert row["last_visit"] == start
    assert b"In course" in response.content
    assert start.isoformat().encode() in response.content


# --- status -------------------------------------------------------------------------------------


def test_status_is_intake_without_records(patient: Patient) -> None:
    assert patient_status(patient, TODAY) == Patient.Status.INTAKE


def test_status_is_intake_with_only_a_draft_plan(alice: User, patient: Patient) -> None:
    intake = record_intake(patient, _oa_intake(), TODAY, alice)
    assert record_plan(intake, TODAY, alice, sign=False) is not None
    assert patient_status(patient, TODAY) == Patient.Status.INTAKE


def test_status_is_referred_after_an_urgent_referral(alice: User, patient: Patient) -> None:
    septic = _oa_intake(red_flags={"hot_swollen_knee": True, "fever": True})
    record_intake(patient, septic, TODAY, alice)
    assert patient_status(patient, TODAY) == Patient.Status.REFERRED


def test_voided_referral_intake_is_ignored(alice: User, patient: Patient) -> None:
    septic = _oa_intake(red_flags={"hot_swollen_knee": True, "fever": True})
    record_intake(patient, septic, TODAY, alice).void(alice, "wrong patient")
    assert patient_status(patient, TODAY) == Patient.Status.INTAKE


def test_status_is_in_course_with_a_signed_plan(alice: User, patient: Patient) -> None:
    _course(patient, alice, TODAY - dt.timedelta(days=3), sessions=2)
    assert patient_status(patient, TODAY) == Patient.Status.IN_COURSE


def test_status_is_reassessment_due_when_its_date_passed_unmeasured(
    alice: User, patient: Patient
) -> None:
    plan_record = _course(patient, alice, TODAY - dt.timedelta(days=60))
    first = _reassessments(plan_record)[0]
    assert first < TODAY
    assert patient_status(patient, TODAY) == Patient.Status.REASSESSMENT_DUE
    assert patient_status(patient, first - dt.timedelta(days=1)) == Patient.Status.IN_COURSE


def test_measurement_at_the_reassessment_returns_to_in_course(
    alice: User, patient: Patient
) -> None:
    plan_record = _course(patient, alice, TODAY - dt.timedelta(days=60))
    _measure(patient, alice, _reassessments(plan_record)[0])
    assert patient_status(patient, TODAY) == Patient.Status.IN_COURSE


def test_status_is_completed_after_all_sessions_and_the_last_reassessment(
    alice: User, patient: Patient
) -> None:
    plan_record = _course(patient, alice, TODAY - dt.timedelta(days=200))
    for day in _reassessments(plan_record):
        _measure(patient, alice, day)
    assert patient_status(patient, TODAY) == Patient.Status.COMPLETED


def test_last_reassessment_unmeasured_is_not_completed(alice: User, patient: Patient) -> None:
    plan_record = _course(patient, alice, TODAY - dt.timedelta(days=200))
    _measure(patient, alice, _reassessments(plan_record)[0])
    assert patient_status(patient, TODAY) == Patient.Status.REASSESSMENT_DUE


def test_missing_sessions_are_not_completed(alice: User, patient: Patient) -> None:
    plan_record = _course(patient, alice, TODAY - dt.timedelta(days=200), sessions=4)
    for day in _reassessments(plan_record):
        _measure(patient, alice, day)
    assert patient_status(patient, TODAY) == Patient.Status.IN_COURSE


# --- create -------------------------------------------------------------------------------------

VALID = {
    "given_name": "Wren",
    "family_name": "Example",
    "date_of_birth": "1958-08-08",
    "sex": "female",
    "record_number": "N-0100",
    "phone": "",
    "email": "",
}


def test_create_registers_in_the_users_clinic(dana: User, northside: Clinic) -> None:
    response = login(dana).post(CREATE, VALID)
    created = Patient.objects.get(record_number="N-0100")
    assert created.clinic == northside
    assert created.created_by == dana
    assert response.status_code == 302
    assert response["Location"] == reverse("patient-detail", kwargs={"patient_id": created.pk})


def test_create_without_date_of_birth_shows_field_error_and_stores_nothing(alice: User) -> None:
    response = login(alice).post(CREATE, {**VALID, "date_of_birth": ""})
    assert response.status_code == 400
    assert "date_of_birth" in response.context["form"].errors
    assert not Patient.objects.exists()


def test_duplicate_record_number_in_same_clinic_is_refused(alice: User, patient: Patient) -> None:
    response = login(alice).post(CREATE, {**VALID, "record_number": "N-0001"})
    assert response.status_code == 400
    assert "record_number" in response.context["form"].errors
    assert Patient.objects.count() == 1


def test_same_record_number_in_another_clinic_is_allowed(carol: User, patient: Patient) -> None:
    response = login(carol).post(CREATE, {**VALID, "record_number": "N-0001"})
    assert response.status_code == 302
    assert Patient.objects.filter(record_number="N-0001").count() == 2


def test_create_form_labels_every_input(alice: User) -> None:
    content = login(alice).get(CREATE).content.decode()
    for name in VALID:
        assert f'for="id_{name}"' in content


# --- detail -------------------------------------------------------------------------------------


def _detail(patient: Patient) -> str:
    return reverse("patient-detail", kwargs={"patient_id": patient.pk})


def test_detail_header_shows_name_record_number_dob_and_status(
    alice: User, patient: Patient
) -> None:
    content = login(alice).get(_detail(patient)).content.decode()
    for text in ("Ada Synthetic", "N-0001", "1960-05-17", "Intake"):
        assert text in content


def test_detail_header_shows_the_contact_details_front_desk_needs(
    dana: User, patient: Patient
) -> None:
    Patient.objects.filter(pk=patient.pk).update(phone="+44 20 7946 0000", email="ada@example.org")
    content = login(dana).get(_detail(patient)).content.decode()
    assert 'href="tel:+44%2020%207946%200000"' in content
    assert "+44 20 7946 0000" in content
    assert 'href="mailto:ada@example.org"' in content


def test_front_desk_detail_hides_clinical_sections(dana: User, patient: Patient) -> None:
    response = login(dana).get(_detail(patient))
    assert response.status_code == 200
    assert response.context["clinical"] is False
    assert b"Clinical notes are visible to practitioners" in response.content
    assert b"Void this patient record" not in response.content


def test_practitioner_detail_includes_clinical_sections(alice: User, patient: Patient) -> None:
    response = login(alice).get(_detail(patient))
    assert response.context["clinical"] is True
    content = response.content.decode()
    for heading in (
        '<h2 id="intake-section">Intake</h2>',
        '<h2 id="plan-section">Plan</h2>',
        '<h2 id="sessions-heading">Sessions</h2>',
        '<h2 id="outcomes-heading">Outcomes</h2>',
    ):
        assert heading in content


# --- void ---------------------------------------------------------------------------------------


def _void(patient: Patient) -> str:
    return reverse("patient-void", kwargs={"patient_id": patient.pk})


def test_void_needs_a_reason(alice: User, patient: Patient) -> None:
    response = login(alice).post(_void(patient), {"reason": "   ", "version": patient.version})
    assert response.status_code == 400
    assert "reason" in response.context["void_form"].errors
    patient.refresh_from_db()
    assert not patient.is_voided


def test_void_with_reason_keeps_the_record_visible_as_voided(erin: User, patient: Patient) -> None:
    client = login(erin)
    response = client.post(
        _void(patient), {"reason": "registered twice", "version": patient.version}
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.is_voided
    assert patient.void_reason == "registered twice"
    assert patient.voided_by == erin
    assert b"registered twice" in client.get(_detail(patient)).content


def test_front_desk_cannot_void(dana: User, patient: Patient) -> None:
    assert login(dana).post(_void(patient), {"reason": "oops", "version": 1}).status_code == 403
    patient.refresh_from_db()
    assert not patient.is_voided


def test_void_is_post_only(alice: User, patient: Patient) -> None:
    assert login(alice).get(_void(patient)).status_code == 405


def test_a_void_based_on_a_stale_version_is_refused_on_the_page(
    alice: User, bob: User, patient: Patient
) -> None:
    opened = patient.version
    Patient.objects.filter(pk=patient.pk).update(version=opened + 1)  # bob saved meanwhile
    response = login(alice).post(_void(patient), {"reason": "oops", "version": opened})
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    patient.refresh_from_db()
    assert not patient.is_voided


# --- registration through the care layer --------------------------------------------------------


def test_registration_refuses_a_birth_date_the_intake_would_refuse(alice: User) -> None:
    today = timezone.localdate()
    born = today.replace(year=today.year - 136).isoformat()
    response = login(alice).post(CREATE, {**VALID, "date_of_birth": born})
    assert response.status_code == 400
    assert "136 years" in str(response.context["form"].errors["date_of_birth"])
    assert not Patient.objects.exists()


def test_registration_shows_likely_duplicates_and_saves_only_when_confirmed(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    same = {**VALID, "given_name": "ADA", "family_name": "Synthétic", "date_of_birth": "1960-05-17"}
    shown = client.post(CREATE, same)
    assert shown.status_code == 409
    assert shown.context["duplicates"] == [patient]
    assert reverse("patient-detail", args=[patient.pk]) in shown.content.decode()
    assert Patient.objects.count() == 1
    confirmed = client.post(CREATE, {**same, "confirm_duplicates": "on"})
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2


def test_registration_treats_a_record_number_differing_by_case_as_a_likely_duplicate(
    alice: User, patient: Patient
) -> None:
    response = login(alice).post(CREATE, {**VALID, "record_number": "n-0001"})
    assert response.status_code == 409
    assert response.context["duplicates"] == [patient]


# --- the details page ---------------------------------------------------------------------------


def _edit(patient: Patient) -> str:
    return reverse("patient-edit", kwargs={"patient_id": patient.pk})


def _details(patient: Patient, **changes: Any) -> dict[str, Any]:
    return {
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "record_number": patient.record_number,
        "phone": patient.phone,
        "email": patient.email,
        "version": patient.version,
        "reason": "",
        **changes,
    }


def test_front_desk_edits_a_patients_details_and_the_history_shows_it(
    dana: User, patient: Patient
) -> None:
    client = login(dana)
    changed = _details(patient, date_of_birth="1961-05-17", reason="year mistyped")
    response = client.post(_edit(patient), changed)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.date_of_birth == dt.date(1961, 5, 17)
    page = client.get(_edit(patient)).content.decode()
    assert "year mistyped" in page
    assert "1960-05-17" in page
    assert "by dana" in page


def test_the_details_form_gives_the_birth_date_as_an_iso_date_a_date_box_shows(
    dana: User, patient: Patient
) -> None:
    # <input type="date"> shows only a YYYY-MM-DD value: in the locale's 17/05/1960 the box is
    # empty in a browser, and saving new contact details is refused for a missing birth date.
    page = login(dana).get(_edit(patient)).content.decode()
    box = re.search(r'<input type="date" name="date_of_birth" value="([^"]*)"', page)
    assert box is not None, page
    assert box.group(1) == "1960-05-17"


def test_the_details_page_refuses_a_stale_version(alice: User, bob: User, patient: Patient) -> None:
    opened = _details(patient, phone="0123")
    assert login(bob).post(_edit(patient), _details(patient, phone="999")).status_code == 302
    response = login(alice).post(_edit(patient), opened)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    patient.refresh_from_db()
    assert patient.phone == "999"


def test_the_details_page_asks_why_an_identity_detail_changes(
    alice: User, patient: Patient
) -> None:
    response = login(alice).post(_edit(patient), _details(patient, family_name="Other"))
    assert response.status_code == 400
    assert "reason" in response.context["form"].errors


def test_the_details_page_needs_a_csrf_token(alice: User, patient: Patient) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(_edit(patient), _details(patient, phone="1"))
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.phone == ""


def test_a_voided_patients_details_page_shows_history_but_no_form(
    alice: User, patient: Patient
) -> None:
    patient.void(alice, "registered twice")
    response = login(alice).get(_edit(patient))
    assert response.context["form"] is None
    assert b"registered twice" in response.content
    assert login(alice).post(_edit(patient), _details(patient, phone="1")).status_code == 409


# --- sex and pregnancy, through the intake page -------------------------------------------------


def test_the_intake_page_refuses_pregnancy_for_a_patient_recorded_as_male(
    alice: User, patient: Patient
) -> None:
    from acuknee.records.models import IntakeRecord
    from tests.pages.test_intake import intake_post, new_url

    Patient.objects.filter(pk=patient.pk).update(sex="male")
    response = login(alice).post(new_url(patient), intake_post(health__pregnant="on"))
    assert response.status_code == 400
    assert "recorded as male" in response.context["form"].errors["health__pregnant"][0]
    assert not IntakeRecord.objects.exists()


def test_the_list_pages_through_the_clinic_fifty_at_a_time_as_the_orm_orders_them(
    alice: User, northside: Clinic, southside: Clinic
) -> None:
    rng = random.Random(7)
    for n in range(57):
        family = rng.choice(["Ames", "Byrd", "Cole", "Diaz"])
        _patient(northside, f"N-{n:04d}", f"Given{n:02d}", family, dt.date(1960, 1, 1))
    _patient(southside, "S-0001", "Other", "Ames", dt.date(1960, 1, 1))
    Patient.objects.get(record_number="N-0003").void(alice, "registered twice")
    expected = list(
        Patient.objects.filter(clinic=northside, voided_at__isnull=True).values_list(
            "record_number", flat=True
        )
    )
    client = login(alice)
    pages = [client.get(LIST, {"page": n}) for n in ("1", "2", "9", "x")]
    shown = [[p.record_number for p in page.context["patients"]] for page in pages]
    assert shown[0] + shown[1] == expected
    assert len(shown[0]) == 50
    assert shown[2] == shown[1]  # past the last page: the last page
    assert shown[3] == shown[0]  # not a number: the first page
    assert b"All patients (56)" in pages[0].content
    assert b"Page 2 of 2" in pages[1].content
    with_voided = client.get(LIST, {"voided": "1", "page": "2"})
    assert len(with_voided.context["patients"]) == 7
    assert b"All patients (57)" in with_voided.content
    searched = client.get(LIST, {"q": "Ames"})
    names = {p.family_name for p in searched.context["patients"]}
    assert names == {"Ames"}
    assert {p.clinic_id for p in searched.context["patients"]} == {northside.pk}


@pytest.mark.parametrize("version", ["", "garbled"])
def test_a_page_sent_back_without_its_version_says_so_at_the_top(
    alice: User, patient: Patient, version: str
) -> None:
    """The version is a hidden field: its error was shown nowhere, and the 400 said nothing."""
    said = "came back without a valid version"
    edited = login(alice).post(_edit(patient), _details(patient, version=version))
    assert edited.status_code == 400
    assert said in edited.content.decode()
    voided = login(alice).post(_void(patient), {"reason": "registered twice", "version": version})
    assert voided.status_code == 400
    assert said in voided.content.decode()
    patient.refresh_from_db()
    assert not patient.is_voided
