"""The practitioner's worklist: sessions planned today, reassessments due this week, open
referrals and returned self-reports, for the user's clinic only, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from acuknee.care.worklist import worklist_of
from acuknee.clinical import Plan
from acuknee.demo import record_intake, record_measurement, record_plan, visit_answers
from acuknee.records.models import Clinic, Patient, PlanRecord, SelfReportLink

from .conftest import login
from .test_voiding import oa_intake, septic_intake

pytestmark = pytest.mark.django_db

START = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def in_course(patient: Patient, user: User, start: dt.date = START) -> PlanRecord:
    intake = record_intake(patient, oa_intake(), start - dt.timedelta(days=7), user)
    plan = record_plan(intake, start, user)
    assert plan is not None
    return plan


def visits(plan: PlanRecord, kind: str) -> list[dt.date]:
    content = Plan.model_validate(plan.content)
    return [v.date for v in content.schedule if v.kind == kind]


def another(clinic: Clinic, user: User, n: int) -> Patient:
    return Patient.objects.create(
        clinic=clinic,
        record_number=f"N-{n:04d}",
        given_name=f"Given{n}",
        family_name=f"Synthetic{n}",
        date_of_birth=dt.date(1955, 1, 1),
        sex="male",
        synthetic=True,
        created_by=user,
    )


def test_a_session_planned_today_is_listed(alice: User, patient: Patient) -> None:
    plan = in_course(patient, alice)
    first = visits(plan, "session")[0]
    rows = worklist_of(patient.clinic_id, first, NOW)["today_sessions"]
    assert [(r["patient"], r["numbers"]) for r in rows] == [(patient, [1])]


def test_a_reassessment_due_in_three_days_is_listed_as_due_this_week(
    alice: User, patient: Patient
) -> None:
    plan = in_course(patient, alice)
    due = visits(plan, "reassessment")[0]
    rows = worklist_of(patient.clinic_id, due - dt.timedelta(days=3), NOW)["due"]
    assert [(r["patient"], r["date"], r["overdue"]) for r in rows] == [(patient, due, False)]


def test_a_reassessment_ten_days_ahead_is_not_due_this_week(alice: User, patient: Patient) -> None:
    plan = in_course(patient, alice)
    due = visits(plan, "reassessment")[0]
    assert worklist_of(patient.clinic_id, due - dt.timedelta(days=10), NOW)["due"] == []


def test_a_measured_reassessment_leaves_the_worklist(alice: User, patient: Patient) -> None:
    plan = in_course(patient, alice)
    due = visits(plan, "reassessment")[0]
    answers = visit_answers(random.Random(1), 0.5)["pain_nrs"]
    record_measurement(patient, "pain_nrs", answers, due, alice)
    assert worklist_of(patient.clinic_id, due + dt.timedelta(days=1), NOW)["due"] == []


def test_a_patient_whose_screening_refers_them_on_is_listed_with_the_red_flag(
    alice: User, patient: Patient
) -> None:
    record_intake(patient, septic_intake(), START, alice)
    rows = worklist_of(patient.clinic_id, START, NOW)["referred"]
    assert [r["patient"] for r in rows] == [patient]
    assert rows[0]["referrals"][0].urgency == "emergency"


def test_a_patient_whose_referral_blocks_the_plan_is_not_listed_as_due_a_session(
    alice: User, patient: Patient
) -> None:
    plan = in_course(patient, alice)
    first = visits(plan, "session")[0]
    assert worklist_of(patient.clinic_id, first, NOW)["today_sessions"]
    record_intake(patient, septic_intake(), first - dt.timedelta(days=1), alice)
    lists = worklist_of(patient.clinic_id, first, NOW)
    assert [r["patient"] for r in lists["referred"]] == [patient]
    assert lists["today_sessions"] == []
    assert lists["due"] == []


def test_a_returned_self_report_is_listed_and_an_old_one_is_not(
    alice: User, patient: Patient
) -> None:
    recent, _ = SelfReportLink.issue(patient, alice, ["pain_nrs"], dt.timedelta(days=7))
    old, _ = SelfReportLink.issue(patient, alice, ["pain_nrs"], dt.timedelta(days=7))
    SelfReportLink.objects.filter(pk=recent.pk).update(used_at=NOW - dt.timedelta(days=1))
    SelfReportLink.objects.filter(pk=old.pk).update(used_at=NOW - dt.timedelta(days=9))
    rows = worklist_of(patient.clinic_id, START, NOW)["returned"]
    assert [link.pk for link in rows] == [recent.pk]


def test_the_worklist_shows_nothing_of_another_clinic(
    alice: User, carol: User, patient: Patient
) -> None:
    in_course(patient, alice, timezone.localdate())
    record_intake(patient, septic_intake(), timezone.localdate(), alice)
    page = login(carol).get(reverse("worklist")).content.decode()
    assert patient.family_name not in page


def test_the_worklist_page_links_each_listed_patient(alice: User, patient: Patient) -> None:
    record_intake(patient, septic_intake(), timezone.localdate(), alice)
    page = login(alice).get(reverse("worklist")).content.decode()
    assert reverse("patient-detail", args=[patient.pk]) in page
    assert reverse("patient-referral", args=[patient.pk]) in page


def worklist_queries(user: User) -> int:
    client = login(user)
    client.get(reverse("worklist"))  # warm the session and the knowledge base
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("worklist")).status_code == 200
    return len(ctx.captured_queries)


def test_worklist_queries_do_not_grow_with_the_number_of_patients(
    alice: User, patient: Patient
) -> None:
    today = timezone.localdate()
    in_course(patient, alice, today)
    SelfReportLink.issue(patient, alice, ["pain_nrs"], dt.timedelta(days=7))
    SelfReportLink.objects.update(used_at=timezone.now())
    one = worklist_queries(alice)
    for n in range(2, 12):
        other = another(patient.clinic, alice, n)
        in_course(other, alice, today)
        record_intake(another(patient.clinic, alice, 100 + n), septic_intake(), today, alice)
        link, _ = SelfReportLink.issue(other, alice, ["pain_nrs"], dt.timedelta(days=7))
        SelfReportLink.objects.filter(pk=link.pk).update(used_at=timezone.now())
    many = worklist_queries(alice)
    assert Patient.objects.count() == 21
    assert many == one, (one, many)
