"""Synthetic records for the care tests, built through the care services (the one write path)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.contrib.auth.models import User

from acuknee.care import services
from acuknee.care.queries import today
from acuknee.clinical import Intake, Plan, SessionRecord
from acuknee.clinical.consent import Consent
from acuknee.clinical.vocabulary import AdverseEventKind, ConsentBy
from acuknee.demo import session_from_plan, visit_answers
from acuknee.records.models import IntakeRecord, Patient, PlanRecord, TreatmentSession
from tests.intake_answers import asked


def asked_intake(data: dict[str, Any]) -> Intake:
    return asked(Intake.model_validate(data))


def oa_intake(**extra: Any) -> Intake:
    """Knee OA of the left knee, no red flag (every red-flag question asked)."""
    return asked_intake(
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
    """Hot swollen knee with fever: an emergency referral (septic arthritis screen)."""
    return oa_intake(red_flags={"hot_swollen_knee": True, "fever": True})


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def intake(patient: Patient, user: User, data: Intake, day: dt.date) -> IntakeRecord:
    return services.record_intake(patient, user, visit=day, intake=data)


def pain_answers(burden: float) -> dict[str, float | None]:
    return visit_answers(random.Random(1), burden)["pain_nrs"]


def consent_on(day: dt.date) -> Consent:
    """The patient's own consent on ``day``, the common risks explained."""
    return Consent(
        given_on=day,
        given_by=ConsentBy.PATIENT,
        risks_explained=[AdverseEventKind.BRUISING, AdverseEventKind.FAINTING],
    )


def signed_plan(
    patient: Patient, user: User, start: dt.date, *, consent: bool = True
) -> PlanRecord:
    """An OA intake a week before ``start`` and its plan, signed; with the patient's informed
    consent taken at the intake unless ``consent`` is False."""
    record = intake(patient, user, oa_intake(), start - dt.timedelta(days=7))
    plan_record = services.propose_plan(record, user, start)
    services.sign_plan(plan_record, user, plan_record.version)
    plan_record.refresh_from_db()
    if consent:
        services.record_consent(patient, user, consent_on(record.visit_date))
    return plan_record


def session_on(plan_record: PlanRecord, day: dt.date, number: int = 1) -> SessionRecord:
    content = Plan.model_validate(plan_record.content)
    return session_from_plan(
        content, number, day, pain_before=6, pain_after=4, practitioner="alice"
    )


def log(plan_record: PlanRecord, user: User, day: dt.date, **kwargs: Any) -> TreatmentSession:
    return services.record_session(
        plan_record.patient, user, session_on(plan_record, day), **kwargs
    )


def course_with_voided_records(patient: Patient, user: User) -> PlanRecord:
    """A plan signed 30 days ago with three sessions, the second voided, and two pain ratings
    (10 and 9 days ago), the second voided: what a page must list, marked, and never count."""
    plan_record = signed_plan(patient, user, days_ago(30))
    for day in (days_ago(28), days_ago(21), days_ago(14)):
        log(plan_record, user, day)
    voided = patient.sessions.get(number=2)
    services.void(voided, user, "entered on the wrong day", voided.version)
    services.record_measurements(patient, user, days_ago(10), {"pain_nrs": pain_answers(0.4)})
    (wrong,) = services.record_measurements(
        patient, user, days_ago(9), {"pain_nrs": pain_answers(0.2)}
    )
    services.void(wrong, user, "another patient's answers", wrong.version)
    return plan_record
