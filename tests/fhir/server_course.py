"""A full synthetic course for the FHIR server's tests, built as the demo builds it.

Ada Synthetic (the clinic personas' ``patient``) has left knee osteoarthritis: an intake with
baseline measurements, a signed plan, three sessions (a bruise after the second) and a
reassessment. Every record goes through the clinical core (``acuknee.demo``'s helpers).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from acuknee import demo
from acuknee.clinical import Intake, Plan
from acuknee.records.models import ApiToken, IntakeRecord, Patient, PlanRecord, TreatmentSession

INTAKE_DAY = dt.date(2026, 1, 5)
START = dt.date(2026, 1, 12)
OA_LEFT: dict[str, Any] = {
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


@dataclass
class Course:
    patient: Patient
    intake: IntakeRecord
    plan: PlanRecord
    sessions: list[TreatmentSession]
    reassessed_on: dt.date


def build_course(patient: Patient, user: User) -> Course:
    rng = random.Random(11)
    intake = Intake.model_validate(
        {
            "age": patient.age_on(INTAKE_DAY),
            "sex": patient.sex,
            "duration_weeks": 40.0,
            **OA_LEFT,
            "baseline": demo.visit_answers(rng, 0.6),
        }
    )
    intake_record = demo.record_intake(patient, intake, INTAKE_DAY, user)
    plan_record = demo.record_plan(intake_record, START, user)
    assert plan_record is not None
    content = Plan.model_validate(plan_record.content)
    visits = [v for v in content.schedule if v.kind == "session"][:3]
    sessions = []
    for visit in visits:
        record = demo.session_from_plan(
            content,
            visit.number,
            visit.date,
            pain_before=6,
            pain_after=4,
            practitioner=user.username,
            adverse_events=[demo.ADVERSE_BRUISE] if visit.number == 2 else [],
        )
        sessions.append(demo.record_session(plan_record, record, user))
    reassessed = visits[-1].date + dt.timedelta(days=7)
    for instrument in ("koos", "pain_nrs"):
        answers = demo.visit_answers(rng, 0.3)[instrument]
        demo.record_measurement(patient, instrument, answers, reassessed, user)
    return Course(patient, intake_record, plan_record, sessions, reassessed)


class Fhir:
    """A client speaking to /fhir with ``Authorization: Bearer <token>`` (or none)."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/fhir/{path}", params, headers=self.headers())

    def post(self, path: str, body: str | bytes, content_type: str) -> Any:
        return self.client.post(
            f"/fhir/{path}", body, content_type=content_type, headers=self.headers()
        )


def fhir_for(user: User | None) -> Fhir:
    if user is None:
        return Fhir()
    _, secret = ApiToken.issue(user, "fhir tests")
    return Fhir(secret)
