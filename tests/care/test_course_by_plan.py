"""A course of care is one signed plan and the sessions logged on it, on every page, report and
research row alike (``care.queries.on_plan``), and a later intake or plan does not relabel an
earlier course.

An outside audit found the counts split by adapter: after a second plan, the outcomes section
and the progress report's "sessions remaining" counted the new plan's sessions, while the
sessions section, the report's "attended" line, the clinic report and the research row counted
every session of every plan, and so marked a course 3 sessions short of its plan "completed".
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from acuknee.care import services
from acuknee.care.queries import on_plan
from acuknee.clinical import Plan
from acuknee.records.models import Patient, PlanRecord
from acuknee.reports.clinic_report import clinic_report
from acuknee.reports.progress import build_patient_report
from acuknee.research.models import CourseOutcome
from acuknee.research.refresh import refresh
from tests.care.builders import days_ago, intake, log, oa_intake, signed_plan
from tests.pages.conftest import login

pytestmark = pytest.mark.django_db

PES_ANSERINE = {"pes_anserine_tenderness": True, "pain_location": ["medial"]}
EARLIER = 3  # sessions logged on the first plan
LATER = 4  # sessions logged on the second


def pes_anserine_plan(patient: Patient, user: User, day: dt.date) -> PlanRecord:
    """A second intake (pes anserine tenderness) on ``day``, and its plan, signed."""
    record = intake(patient, user, oa_intake(examination=PES_ANSERINE), day)
    plan = services.propose_plan(record, user, day)
    services.sign_plan(plan, user, plan.version)
    return signed_on(plan, day)


def signed_on(plan: PlanRecord, day: dt.date) -> PlanRecord:
    """The plan as if signed on ``day`` (the services stamp the moment of signing: now)."""
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    PlanRecord.objects.filter(pk=plan.pk).update(signed_at=moment)
    plan.refresh_from_db()
    return plan


@pytest.fixture
def two_plans(patient: Patient, alice: User) -> tuple[PlanRecord, PlanRecord]:
    """An OA plan with three sessions, then a pes anserine plan with four of its sessions."""
    first = signed_on(signed_plan(patient, alice, days_ago(80)), days_ago(80))
    for day in (78, 71, 64)[:EARLIER]:
        log(first, alice, days_ago(day))
    second = pes_anserine_plan(patient, alice, days_ago(30))
    for day in (28, 21, 14, 7)[:LATER]:
        log(second, alice, days_ago(day))
    return first, second


def test_the_sessions_of_a_course_are_those_logged_on_its_plan(
    patient: Patient, two_plans: tuple[PlanRecord, PlanRecord]
) -> None:
    first, second = two_plans
    sessions = list(patient.sessions.order_by("number"))
    assert [s.number for s in on_plan(sessions, first)] == [1, 2, 3]
    assert [s.number for s in on_plan(sessions, second)] == [4, 5, 6, 7]
    assert on_plan(sessions, None) == []


def test_every_page_report_and_row_counts_the_signed_plan_s_sessions_alike(
    patient: Patient, alice: User, two_plans: tuple[PlanRecord, PlanRecord]
) -> None:
    _, second = two_plans
    planned = Plan.model_validate(second.content).number_of_sessions
    assert planned is not None
    assert planned > LATER  # the second course is not finished
    client = login(alice)
    page = client.get(reverse("patient-detail", args=[patient.pk]))
    section = page.context["sessions_section"]
    assert (section["attended"], section["planned"], section["earlier"]) == (LATER, planned, 3)
    text = html.unescape(page.content.decode())
    assert f"{LATER}</strong> of {planned} planned; 3 more under an earlier plan" in text
    outcomes = page.context["outcomes"]
    assert (outcomes.attended, outcomes.sessions_on_plan, outcomes.earlier_sessions) == (
        LATER,
        LATER,
        3,
    )
    report = build_patient_report(patient)
    assert report.sessions_text == f"{LATER} of {planned} planned; 3 more under an earlier plan"
    assert f"Sessions remaining: {planned - LATER} of {planned}." in report.next_steps
    refresh(seed=1)
    row = CourseOutcome.objects.get(clinic_id=patient.clinic_id)
    assert (row.sessions_attended, row.sessions_planned, row.completed) == (LATER, planned, False)
    assert row.protocol_id == Plan.model_validate(second.content).protocol
    assert row.start_date == days_ago(28)  # the course's first session, not the first plan's
    assert row.cause == "pes_anserine_tendinopathy_bursitis"
    (course,) = clinic_report(patient.clinic).courses
    assert (course.sessions_to_end, course.planned, course.completed) == (LATER, planned, False)


def test_a_later_intake_without_a_plan_does_not_relabel_the_course(
    patient: Patient, alice: User
) -> None:
    """The research row, like the clinic report, describes the course by the intake its plan
    was made from: a later intake that led to no plan is not that course's cause."""
    first = signed_plan(patient, alice, days_ago(60))
    log(first, alice, days_ago(58))
    intake(patient, alice, oa_intake(examination=PES_ANSERINE), days_ago(10))
    refresh(seed=1)
    row = CourseOutcome.objects.get(clinic_id=patient.clinic_id)
    (course,) = clinic_report(patient.clinic).courses
    assert row.cause == "knee_osteoarthritis"
    assert course.cause == "knee osteoarthritis"
    assert row.protocol_id == course.protocol_id == Plan.model_validate(first.content).protocol


def test_a_clinic_report_of_a_past_period_reads_the_plan_of_that_period(
    patient: Patient, alice: User, two_plans: tuple[PlanRecord, PlanRecord]
) -> None:
    """A report of a closed period must not change when a later plan is signed: it reads the
    plan signed by the period's end, and that plan's sessions."""
    first, _ = two_plans
    (course,) = clinic_report(patient.clinic, days_ago(90), days_ago(40)).courses
    assert course.protocol_id == Plan.model_validate(first.content).protocol
    assert course.cause == "knee osteoarthritis"
    assert (course.sessions_to_end, course.sessions_in_period) == (EARLIER, EARLIER)


def test_the_research_row_keeps_patient_global_and_the_follow_up_date(
    patient: Patient, alice: User
) -> None:
    """Patient global is the third OMERACT-OARSI domain: the row holds it, and the follow-up's
    date, so the verdict can be worked out again from the row (docs/research.md)."""
    plan = signed_plan(patient, alice, days_ago(60))
    baseline = plan.intake.visit_date
    services.record_measurements(
        patient,
        alice,
        baseline,
        {"pain_nrs": {"average_last_week": 7}, "patient_global": {"global": 7}},
    )
    log(plan, alice, days_ago(58))
    services.record_measurements(
        patient,
        alice,
        days_ago(20),
        {"pain_nrs": {"average_last_week": 3}, "patient_global": {"global": 4}},
    )
    refresh(seed=1)
    row = CourseOutcome.objects.get(clinic_id=patient.clinic_id)
    assert (row.patient_global_baseline, row.patient_global_final) == (7, 4)
    assert row.follow_up_date == days_ago(20)
    assert (row.pain_nrs_baseline, row.pain_nrs_final) == (7, 3)


def test_a_progress_report_dated_in_the_past_reads_the_plan_of_that_day(
    patient: Patient, two_plans: tuple[PlanRecord, PlanRecord]
) -> None:
    first, _ = two_plans
    planned = Plan.model_validate(first.content).number_of_sessions
    report = build_patient_report(patient, today=days_ago(40))
    assert report.plan_record == first
    assert report.sessions_text == f"{EARLIER} of {planned} planned"
    assert report.outcomes is not None
    assert report.outcomes.sessions_on_plan == EARLIER
