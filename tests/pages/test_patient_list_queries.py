"""The patient list costs the same queries however many records each patient has: its status
and last visit come from subquery annotations and the latest rows fetched by id."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from acuknee.care.status import patient_status
from acuknee.clinical import Plan
from acuknee.demo import (
    record_intake,
    record_measurement,
    record_plan,
    record_session,
    session_from_plan,
    visit_answers,
)
from acuknee.records.models import IntakeRecord, Measurement, Patient, PlanRecord, TreatmentSession

from .conftest import login
from .test_voiding import oa_intake

pytestmark = pytest.mark.django_db

START = dt.date(2026, 6, 1)


def grow(patient: Patient, user: User, plan_record: PlanRecord, count: int, first: int) -> None:
    """``count`` more sessions, measurements and intakes (numbered from ``first``)."""
    content = Plan.model_validate(plan_record.content)
    answers = visit_answers(random.Random(3), 0.4)["pain_nrs"]
    for n in range(first, first + count):
        day = START + dt.timedelta(days=n)
        session = session_from_plan(
            content, n, day, pain_before=5, pain_after=4, practitioner="alice"
        )
        record_session(plan_record, session, user)
        record_measurement(patient, "pain_nrs", answers, day, user)


def list_queries(user: User) -> tuple[int, list[str]]:
    client = login(user)
    client.get(reverse("patient-list"))  # warm the session and the knowledge base
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("patient-list"))
    assert response.status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def test_list_queries_do_not_grow_with_records_per_patient(alice: User, patient: Patient) -> None:
    intake = record_intake(patient, oa_intake(), START - dt.timedelta(days=7), alice)
    plan_record = record_plan(intake, START, alice)
    assert plan_record is not None
    grow(patient, alice, plan_record, 1, first=1)
    few, _ = list_queries(alice)

    grow(patient, alice, plan_record, 29, first=2)
    for k in range(5):
        record_intake(patient, oa_intake(), START - dt.timedelta(days=20 + k), alice)
    many, sql = list_queries(alice)
    assert patient.sessions.count() == 30
    assert patient.measurements.count() == 30
    assert many == few, sql


def test_list_queries_do_not_grow_with_patients_on_the_page(alice: User, patient: Patient) -> None:
    intake = record_intake(patient, oa_intake(), START - dt.timedelta(days=7), alice)
    plan_record = record_plan(intake, START, alice)
    assert plan_record is not None
    grow(patient, alice, plan_record, 2, first=1)
    one, _ = list_queries(alice)
    for k in range(10):
        other = Patient.objects.create(
            clinic=patient.clinic,
            record_number=f"N-1{k:03d}",
            given_name="Other",
            family_name=f"Patient{k}",
            date_of_birth=dt.date(1955, 1, 1),
            sex="male",
            synthetic=True,
        )
        other_intake = record_intake(other, oa_intake(), START - dt.timedelta(days=7), alice)
        other_plan = record_plan(other_intake, START, alice)
        assert other_plan is not None
        grow(other, alice, other_plan, 2, first=1)
    eleven, sql = list_queries(alice)
    assert eleven == one, sql


def test_list_loads_no_session_measurement_or_older_intake_rows(
    alice: User, patient: Patient
) -> None:
    """Counting queries is not enough (a prefetch is one query however many rows it loads):
    the list must not build a record object per session, measurement or intake either."""
    intake = record_intake(patient, oa_intake(), START - dt.timedelta(days=7), alice)
    plan_record = record_plan(intake, START, alice)
    assert plan_record is not None
    grow(patient, alice, plan_record, 30, first=1)
    built: list[str] = []

    def count(sender: type, **kwargs: object) -> None:
        if sender in (IntakeRecord, PlanRecord, TreatmentSession, Measurement):
            built.append(sender.__name__)

    client = login(alice)
    post_init.connect(count)
    try:
        response = client.get(reverse("patient-list"))
    finally:
        post_init.disconnect(count)
    assert response.status_code == 200
    expected = patient_status(Patient.objects.get(pk=patient.pk), timezone.localdate())
    assert response.context["rows"][0]["status"] == expected
    assert built == []
