"""Courses built by hand for the clinic report's tests, with verdicts known in advance.

A responder drops from a high burden to a low one; a non-responder answers the follow-up
exactly as at baseline (no change at all), so the OMERACT-OARSI verdicts are not in doubt.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.contrib.auth.models import User

from acuknee.clinical import Intake, Plan
from acuknee.clinical.sessions import AdverseEvent
from acuknee.clinical.vocabulary import AdverseEventKind, Severity
from acuknee.demo import (
    record_intake,
    record_measurement,
    record_plan,
    record_session,
    session_from_plan,
    visit_answers,
)
from acuknee.records.models import Clinic, Patient

START = dt.date(2026, 1, 5)  # a Monday: plans start here
TODAY = dt.date(2026, 6, 1)

FINDINGS: dict[str, Any] = {
    "side": "left",
    "activity_related_pain": True,
    "morning_stiffness_minutes": 15,
    "examination": {
        "pain_location": ["medial"],
        "crepitus": True,
        "bony_tenderness": True,
        "bony_enlargement": True,
        "palpable_warmth": False,
    },
}

BRUISE = AdverseEvent(
    kind=AdverseEventKind.BRUISING, severity=Severity.MILD, action_taken="pressure"
)
FAINT = AdverseEvent(
    kind=AdverseEventKind.FAINTING,
    severity=Severity.MODERATE,
    action_taken="lay down",
    note="felt faint",
)


def course(
    clinic: Clinic,
    user: User,
    number: int,
    *,
    outcome: str | None,
    sessions: int | None = None,
    start: dt.date = START,
    events: dict[int, list[AdverseEvent]] | None = None,
) -> Patient:
    """One patient: intake, signed plan, ``sessions`` sessions (default: all planned) and,
    unless ``outcome`` is None, a follow-up that makes them a responder or a non-responder."""
    patient: Patient = Patient.objects.create(
        clinic=clinic,
        record_number=f"T-{number:03d}",
        given_name="Test",
        family_name=f"Patient{number}",
        date_of_birth=dt.date(1958, 1, 1),
        sex="female",
        synthetic=True,
        created_by=user,
    )
    burden = 0.8 if outcome == "responder" else 0.6
    baseline = visit_answers(random.Random(number), burden)
    intake = Intake.model_validate(
        {"age": 68, "sex": "female", "duration_weeks": 52.0, **FINDINGS, "baseline": baseline}
    )
    intake_record = record_intake(patient, intake, start - dt.timedelta(days=7), user)
    plan_record = record_plan(intake_record, start, user)
    assert plan_record is not None
    plan = Plan.model_validate(plan_record.content)
    visits = [v for v in plan.schedule if v.kind == "session"]
    given = visits if sessions is None else visits[:sessions]
    for visit in given:
        record_session(
            plan_record,
            session_from_plan(
                plan,
                visit.number,
                visit.date,
                pain_before=5,
                pain_after=4,
                practitioner=user.username,
                adverse_events=(events or {}).get(visit.number, []),
            ),
            user,
        )
    if outcome is not None:
        follow_up = (
            visit_answers(random.Random(1000 + number), 0.1)
            if outcome == "responder"
            else baseline  # the very same answers: no change at all
        )
        day = given[-1].date + dt.timedelta(days=3)
        for instrument, answers in follow_up.items():
            record_measurement(patient, instrument, answers, day, user)
    return patient
