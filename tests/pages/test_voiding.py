"""Voiding an intake or a measurement: POST only, clinical roles, a reason, the version the page
was opened at; the record stays visible as voided and stops counting as current (status,
outcomes, screening, last visit)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

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
from acuknee.records.models import IntakeRecord, Measurement, Patient, PlanRecord
from acuknee.reports.outcomes import outcomes_context

from .conftest import login

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)


def oa_intake(**extra: Any) -> Intake:
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


def septic_intake() -> Intake:
    return oa_intake(red_flags={"hot_swollen_knee": True, "fever": True})


def pain(patient: Patient, user: User, day: dt.date, burden: float = 0.6) -> Measurement:
    answers = visit_answers(random.Random(1), burden)["pain_nrs"]
    return record_measurement(patient, "pain_nrs", answers, day, user)


def koos(patient: Patient, user: User, day: dt.date, burden: float = 0.6) -> Measurement:
    answers = visit_answers(random.Random(2), burden)["koos"]
    return record_measurement(patient, "koos", answers, day, user)


def course(
    patient: Patient, user: User, start: dt.date, *, sessions: int | None = None
) -> PlanRecord:
    """An intake a week before ``start`` (with baseline pain and KOOS), a signed plan from
    ``start`` and ``sessions`` of its planned sessions logged (all when None)."""
    intake = record_intake(patient, oa_intake(), start - dt.timedelta(days=7), user)
    pain(patient, user, intake.visit_date)
    koos(patient, user, intake.visit_date)
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


def reassessments(plan_record: PlanRecord) -> list[dt.date]:
    content = Plan.model_validate(plan_record.content)
    return [v.date for v in content.schedule if v.kind == "reassessment"]


def intake_void_url(record: IntakeRecord) -> str:
    return reverse("intake-void", args=[record.patient_id, record.pk])


def intake_url(record: IntakeRecord) -> str:
    return reverse("intake-detail", args=[record.patient_id, record.pk])


def measurement_void_url(m: Measurement) -> str:
    return reverse("measurement-void", args=[m.patient_id, m.pk])


def measurement_url(m: Measurement) -> str:
    return reverse("measurement-detail", args=[m.patient_id, m.pk])


def void(
    client: Client, url: str, record: Any, reason: str = "entered in error", **extra: Any
) -> Any:
    return client.post(url, {"version": record.version, "reason": reason, **extra})


@pytest.fixture
def intake(patient: Patient, alice: User) -> IntakeRecord:
    record = record_intake(patient, oa_intake(), TODAY, alice)
    pain(patient, alice, TODAY)
    return record


# --- intake: who, how ---------------------------------------------------------------------------


def test_void_intake_needs_a_reason(alice: User, intake: IntakeRecord) -> None:
    response = void(login(alice), intake_void_url(intake), intake, reason="   ")
    assert response.status_code == 400
    assert "reason" in response.context["void_form"].errors
    intake.refresh_from_db()
    assert not intake.is_voided


def test_voided_intake_stays_visible_with_who_when_and_why(
    alice: User, patient: Patient, intake: IntakeRecord
) -> None:
    client = login(alice)
    response = void(client, intake_void_url(intake), intake, reason="wrong patient")
    assert response.status_code == 302
    intake.refresh_from_db()
    assert intake.is_voided
    assert intake.voided_by == alice
    assert intake.void_reason == "wrong patient"
    page = client.get(intake_url(intake)).content.decode()
    assert "Voided on" in page
    assert "wrong patient" in page
    assert "alice" in page
    assert "not current" in page
    patient_page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert "wrong patient" in patient_page


def test_front_desk_cannot_void_an_intake(dana: User, intake: IntakeRecord) -> None:
    assert void(login(dana), intake_void_url(intake), intake).status_code == 403
    intake.refresh_from_db()
    assert not intake.is_voided


def test_void_intake_is_post_only(alice: User, intake: IntakeRecord) -> None:
    assert login(alice).get(intake_void_url(intake)).status_code == 405


def test_void_intake_from_a_stale_page_is_refused(alice: User, intake: IntakeRecord) -> None:
    opened = intake.version
    intake.save_versioned(intake.version)  # someone else saved since the page was opened
    response = login(alice).post(
        intake_void_url(intake), {"version": opened, "reason": "entered in error"}
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    intake.refresh_from_db()
    assert not intake.is_voided


def test_clinic_admin_may_void_an_intake(erin: User, intake: IntakeRecord) -> None:
    assert void(login(erin), intake_void_url(intake), intake).status_code == 302
    intake.refresh_from_db()
    assert intake.voided_by == erin


# --- intake: the plans built on it ------------------------------------------------------------


def test_intake_with_a_standing_signed_plan_is_not_voided(
    alice: User, patient: Patient, intake: IntakeRecord
) -> None:
    plan_record = record_plan(intake, TODAY, alice)
    assert plan_record is not None
    response = void(login(alice), intake_void_url(intake), intake)
    assert response.status_code == 409
    assert "void that plan first" in response.content.decode()
    intake.refresh_from_db()
    plan_record.refresh_from_db()
    assert not intake.is_voided
    assert not plan_record.is_voided


def test_intake_is_voided_once_its_signed_plan_is_voided(alice: User, intake: IntakeRecord) -> None:
    plan_record = record_plan(intake, TODAY, alice)
    assert plan_record is not None
    plan_record.void(alice, "wrong protocol")
    intake.refresh_from_db()
    assert void(login(alice), intake_void_url(intake), intake).status_code == 302
    intake.refresh_from_db()
    assert intake.is_voided


def test_unsigned_plans_are_voided_with_their_intake(alice: User, intake: IntakeRecord) -> None:
    draft = record_plan(intake, TODAY, alice, sign=False)
    assert draft is not None
    assert void(login(alice), intake_void_url(intake), intake, reason="typo").status_code == 302
    draft.refresh_from_db()
    assert draft.is_voided
    assert draft.voided_by == alice
    assert draft.void_reason == "intake voided: typo"


def test_draft_signed_after_the_page_was_opened_blocks_the_void(
    alice: User, bob: User, intake: IntakeRecord
) -> None:
    draft = record_plan(intake, TODAY, alice, sign=False)
    assert draft is not None
    page = login(alice).get(intake_url(intake))
    assert b"Unsigned plans of this intake are voided with it" in page.content
    sign = reverse("plan-sign", args=[intake.patient_id, draft.pk])
    assert login(bob).post(sign, {"version": draft.version}).status_code == 302
    response = void(login(alice), intake_void_url(intake), intake)
    assert response.status_code == 409
    draft.refresh_from_db()
    intake.refresh_from_db()
    assert draft.status == "signed"
    assert not draft.is_voided
    assert not intake.is_voided


def test_voided_intake_offers_no_plan(alice: User, intake: IntakeRecord) -> None:
    intake.void(alice, "wrong patient")
    client = login(alice)
    assert b"Propose plan" not in client.get(intake_url(intake)).content
    response = client.post(reverse("plan-new", args=[intake.patient_id, intake.pk]), {})
    assert response.status_code == 409
    assert not PlanRecord.objects.exists()


# --- intake: its baseline measurements --------------------------------------------------------


def test_baseline_measurements_are_kept_unless_asked(alice: User, intake: IntakeRecord) -> None:
    void(login(alice), intake_void_url(intake), intake)
    assert not Measurement.objects.filter(voided_at__isnull=False).exists()


def test_baseline_measurements_are_voided_when_asked(
    alice: User, patient: Patient, intake: IntakeRecord
) -> None:
    self_report = record_measurement(
        patient, "patient_global", {"global": 5}, TODAY, alice, origin="self_report"
    )
    response = void(login(alice), intake_void_url(intake), intake, void_baseline="on")
    assert response.status_code == 302
    baseline = Measurement.objects.get(instrument="pain_nrs")
    assert baseline.is_voided
    assert baseline.void_reason == "intake voided: entered in error"
    self_report.refresh_from_db()
    assert not self_report.is_voided  # only what the clinic recorded with the intake


def test_an_already_voided_baseline_keeps_its_own_reason(alice: User, intake: IntakeRecord) -> None:
    earlier = Measurement.objects.get(instrument="pain_nrs")
    earlier.void(alice, "typed the wrong scale")
    intake.refresh_from_db()
    void(login(alice), intake_void_url(intake), intake, void_baseline="on")
    earlier.refresh_from_db()
    assert earlier.void_reason == "typed the wrong scale"


def test_voided_baseline_stays_listed_on_the_intake_page(alice: User, intake: IntakeRecord) -> None:
    m = Measurement.objects.get(instrument="pain_nrs")
    m.void(alice, "typed the wrong scale")
    page = login(alice).get(intake_url(intake)).content.decode()
    assert "typed the wrong scale" in page
    assert "voided" in page


# --- intake: excluded from what is current ------------------------------------------------------


def test_voided_referral_intake_no_longer_makes_the_patient_referred(
    alice: User, patient: Patient
) -> None:
    septic = record_intake(patient, septic_intake(), TODAY, alice)
    client = login(alice)
    list_url = reverse("patient-list")
    assert client.get(list_url).context["rows"][0]["status"] == Patient.Status.REFERRED
    void(client, intake_void_url(septic), septic, reason="wrong patient")
    assert client.get(list_url).context["rows"][0]["status"] == Patient.Status.INTAKE
    assert patient_status(patient, TODAY) == Patient.Status.INTAKE


def test_an_earlier_referral_stands_through_a_later_intake_and_its_void(
    alice: User, patient: Patient
) -> None:
    record_intake(patient, septic_intake(), TODAY - dt.timedelta(days=2), alice)
    later = record_intake(patient, oa_intake(), TODAY, alice)
    assert patient_status(patient, TODAY) == Patient.Status.REFERRED
    later.void(alice, "duplicate")
    assert patient_status(patient, TODAY) == Patient.Status.REFERRED


def test_referral_note_of_a_voided_intake_is_404(alice: User, patient: Patient) -> None:
    septic = record_intake(patient, septic_intake(), TODAY, alice)
    septic.void(alice, "wrong patient")
    url = reverse("intake-referral", args=[patient.pk, septic.pk])
    assert login(alice).get(url).status_code == 404


def test_voided_intake_no_longer_sets_the_baseline(alice: User, patient: Patient) -> None:
    first = TODAY - dt.timedelta(days=30)
    record_intake(patient, oa_intake(), first, alice)
    pain(patient, alice, first)
    second = record_intake(patient, oa_intake(), TODAY, alice)
    pain(patient, alice, TODAY, burden=0.3)
    assert outcomes_context(patient, today=TODAY)["outcomes"].baseline_date == TODAY
    second.void(alice, "entered twice")
    assert outcomes_context(patient, today=TODAY)["outcomes"].baseline_date == first


def test_voided_intake_no_longer_counts_as_the_last_visit(alice: User, patient: Patient) -> None:
    record_intake(patient, oa_intake(), TODAY - dt.timedelta(days=10), alice)
    later = record_intake(patient, oa_intake(), TODAY, alice)
    later.void(alice, "wrong date")
    row = login(alice).get(reverse("patient-list")).context["rows"][0]
    assert row["last_visit"] == TODAY - dt.timedelta(days=10)


# --- measurement: who, how ----------------------------------------------------------------------


@pytest.fixture
def follow_up(patient: Patient, alice: User) -> Measurement:
    pain(patient, alice, TODAY - dt.timedelta(days=42))
    return pain(patient, alice, TODAY, burden=0.2)


def test_void_measurement_needs_a_reason(alice: User, follow_up: Measurement) -> None:
    response = void(login(alice), measurement_void_url(follow_up), follow_up, reason="")
    assert response.status_code == 400
    assert "reason" in response.context["void_form"].errors
    follow_up.refresh_from_db()
    assert not follow_up.is_voided


def test_voided_measurement_stays_visible_with_who_when_and_why(
    alice: User, patient: Patient, follow_up: Measurement
) -> None:
    client = login(alice)
    response = void(client, measurement_void_url(follow_up), follow_up, reason="other patient")
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.voided_by, follow_up.void_reason) == (alice, "other patient")
    page = client.get(measurement_url(follow_up)).content.decode()
    assert "Voided on" in page
    assert "other patient" in page
    assert "alice" in page
    assert "Void measurement" not in page
    outcomes = client.get(reverse("patient-outcomes", args=[patient.pk])).content.decode()
    assert "other patient" in outcomes
    assert "1 voided" in outcomes


def test_front_desk_cannot_open_or_void_a_measurement(dana: User, follow_up: Measurement) -> None:
    client = login(dana)
    assert client.get(measurement_url(follow_up)).status_code == 403
    assert void(client, measurement_void_url(follow_up), follow_up).status_code == 403
    follow_up.refresh_from_db()
    assert not follow_up.is_voided


def test_void_measurement_is_post_only(alice: User, follow_up: Measurement) -> None:
    assert login(alice).get(measurement_void_url(follow_up)).status_code == 405


def test_void_measurement_from_a_stale_page_is_refused(alice: User, follow_up: Measurement) -> None:
    opened = follow_up.version
    follow_up.save_versioned(follow_up.version)
    response = login(alice).post(
        measurement_void_url(follow_up), {"version": opened, "reason": "typo"}
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    follow_up.refresh_from_db()
    assert not follow_up.is_voided


def test_measurement_page_shows_scores_and_a_labelled_void_form(
    alice: User, follow_up: Measurement
) -> None:
    page = login(alice).get(measurement_url(follow_up)).content.decode()
    assert 'for="id_reason"' in page
    assert "Void measurement" in page


# --- measurement: excluded from evaluation and status -----------------------------------------


def test_voided_follow_up_is_left_out_of_the_evaluation(
    alice: User, patient: Patient, follow_up: Measurement
) -> None:
    before = outcomes_context(patient, today=TODAY)["outcomes"]
    assert before.follow_up_dates == [TODAY]
    assert before.verdicts
    follow_up.void(alice, "entered in error")
    after = outcomes_context(patient, today=TODAY)["outcomes"]
    assert after.follow_up_dates == []
    assert after.verdicts == []


def test_voided_reassessment_makes_the_reassessment_due_again(
    alice: User, patient: Patient
) -> None:
    plan_record = course(patient, alice, TODAY - dt.timedelta(days=60))
    measured = pain(patient, alice, reassessments(plan_record)[0], burden=0.3)
    assert patient_status(patient, TODAY) == Patient.Status.IN_COURSE
    client = login(alice)
    void(client, measurement_void_url(measured), measured)
    assert patient_status(patient, TODAY) == Patient.Status.REASSESSMENT_DUE
    row = client.get(reverse("patient-list")).context["rows"][0]
    assert row["status"] == Patient.Status.REASSESSMENT_DUE


def test_voided_measurement_no_longer_counts_as_the_last_visit(
    alice: User, patient: Patient, follow_up: Measurement
) -> None:
    follow_up.void(alice, "wrong date")
    row = login(alice).get(reverse("patient-list")).context["rows"][0]
    assert row["last_visit"] == TODAY - dt.timedelta(days=42)


# --- what already excluded voided records, proved on the list's annotations --------------------


def test_voided_session_makes_a_completed_course_incomplete(alice: User, patient: Patient) -> None:
    plan_record = course(patient, alice, TODAY - dt.timedelta(days=200))
    for day in reassessments(plan_record):
        pain(patient, alice, day, burden=0.3)
    assert patient_status(patient, TODAY) == Patient.Status.COMPLETED
    last = plan_record.sessions.order_by("-number").first()
    assert last is not None
    last.void(alice, "never happened")
    assert patient_status(patient, TODAY) == Patient.Status.IN_COURSE
    row = login(alice).get(reverse("patient-list")).context["rows"][0]
    assert row["status"] == Patient.Status.IN_COURSE


def test_voided_signed_plan_returns_the_patient_to_intake(alice: User, patient: Patient) -> None:
    plan_record = course(patient, alice, TODAY - dt.timedelta(days=3), sessions=1)
    assert patient_status(patient, TODAY) == Patient.Status.IN_COURSE
    plan_record.void(alice, "wrong protocol")
    assert patient_status(patient, TODAY) == Patient.Status.INTAKE
