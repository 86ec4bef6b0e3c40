"""Build the research tables from the clinic's own records: one row per course of care.

A course is a patient (not voided) with a signed plan. Its row holds de-identified attributes
only (no name, record number, contact or date of birth; the clinic's id and region), what was
planned and delivered, and per domain the baseline, last follow-up and improvement, judged by the
clinical core: ``care.queries.build_course`` (the outcomes page's) and
``acuknee.clinical.evaluate``, once per patient; the verdict is stored, never recomputed in SQL.

When to run: nightly (``python -m acuknee.manage refresh_research`` from cron or a systemd timer),
and after bulk edits or imports (``acuknee research report --refresh`` refreshes, then reports).
The report reads the tables as last refreshed, so a record edited today shows tomorrow.

Rows are replaced clinic by clinic, all in one transaction: the clinics that have patient records
in this database are rebuilt; rows of other clinics (e.g. ``acuknee research synth`` cohorts,
whose clinics have no patient records) are left alone. ``course_id`` is a fresh random
permutation after the highest kept id, so it reveals neither the patient's id nor the order of
registration.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from acuknee.care.queries import (
    build_course,
    latest_intake,
    live,
    live_sessions,
    on_plan,
    signed_plan,
)
from acuknee.clinical import (
    Evaluation,
    InvalidInput,
    InvalidInputs,
    KnowledgeBase,
    Plan,
    SessionRecord,
    evaluate,
    load_knowledge,
)
from acuknee.clinical.assessment import Assessment
from acuknee.clinical.intake import Intake
from acuknee.records.models import Patient, TreatmentSession
from acuknee.research.models import AdverseEventFact, CourseOutcome
from acuknee.research.schema import DOMAIN_MEASURES, age_band

PAIN_NRS = ("pain_nrs", "average_last_week")
PATIENT_GLOBAL = ("patient_global", "global")


@dataclass
class RefreshSummary:
    """What a refresh did, for the command's output and the tests."""

    clinics: int = 0
    courses: int = 0
    adverse_events: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    not_evaluable_errors: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def text(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        return (
            f"research tables refreshed: {self.courses} courses, {self.adverse_events} adverse "
            f"events from {self.clinics} clinics; skipped: {skipped}; stored measurements that "
            f"could not be evaluated: {self.not_evaluable_errors}"
        )


@dataclass
class _Course:
    row: dict[str, Any]
    events: list[dict[str, Any]]


def _measure(evaluation: Evaluation | None, instrument: str, subscale: str) -> Any:
    """The latest follow-up's change on one measure, or None."""
    if evaluation is None or not evaluation.follow_ups:
        return None
    for group in evaluation.follow_ups[-1].domains:
        for m in group.measures:
            if m.instrument == instrument and m.subscale == subscale:
                return m
    return None


def _outcome_columns(evaluation: Evaluation | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dm in DOMAIN_MEASURES:
        m = _measure(evaluation, dm.instrument, dm.subscale)
        mic = None
        if m is not None and m.mic.status in ("reached", "not_reached"):
            mic = m.mic.status == "reached"
        out[f"{dm.prefix}_baseline"] = m.baseline if m else None
        out[f"{dm.prefix}_final"] = m.follow_up if m else None
        out[f"{dm.prefix}_improvement"] = m.improvement if m else None
        out[f"{dm.prefix}_mic_reached"] = mic
    nrs = _measure(evaluation, *PAIN_NRS)
    out["pain_nrs_baseline"] = nrs.baseline if nrs else None
    out["pain_nrs_final"] = nrs.follow_up if nrs else None
    # The third OMERACT-OARSI domain, so the verdict can be worked out again from the row.
    global_ = _measure(evaluation, *PATIENT_GLOBAL)
    out["patient_global_baseline"] = global_.baseline if global_ else None
    out["patient_global_final"] = global_.follow_up if global_ else None
    return out


def course_row(
    patient: Patient, kb: KnowledgeBase, today: dt.date, summary: RefreshSummary
) -> _Course | None:
    """The patient's course as a research row, or None (with the reason counted) when there is
    no course to pool: no intake, no signed plan, or a plan without protocol or method.

    The course is the signed plan, as on every page and report: the patient, cause and severity
    of the intake it was planned from (a later intake that led to no plan does not relabel it),
    and the sessions logged on it (``care.queries.on_plan``); sessions under an earlier plan
    were another course's."""
    plan_record = signed_plan(patient)
    if plan_record is None:
        unplanned = (
            "without an intake" if latest_intake(patient) is None else "without a signed plan"
        )
        summary.skip(unplanned)
        return None
    intake_record = plan_record.intake  # a signed plan always has its intake
    try:
        intake = Intake.model_validate(intake_record.data)
        assessment = Assessment.model_validate(intake_record.assessment)
        plan = Plan.model_validate(plan_record.content)
    except pydantic.ValidationError:
        # A record stored under an older core schema: counted, never guessed at.
        summary.skip("with an intake or plan the core cannot read")
        return None
    if plan.protocol is None or plan.method is None:
        summary.skip("signed plan without protocol or method")
        return None
    sessions: list[TreatmentSession] = on_plan(live_sessions(patient, until=today), plan_record)
    planned_sessions = [v for v in plan.schedule if v.kind == "session"]
    planned = plan.number_of_sessions or len(planned_sessions)
    attended = len(sessions)

    evaluation: Evaluation | None = None
    course = build_course(patient, today)
    if course is not None and course.follow_ups:
        try:
            evaluation = evaluate(course, kb)
        except (InvalidInput, InvalidInputs):
            summary.not_evaluable_errors += 1
    verdict = evaluation.follow_ups[-1].oarsi.status if evaluation else "not_evaluable"
    follow_up_weeks = None
    if evaluation is not None:
        follow_up_weeks = evaluation.follow_ups[-1].days_from_baseline / 7

    last_planned = max((v.date for v in planned_sessions), default=plan_record.start_date)
    last_attended = sessions[-1].session_date if sessions else None
    measured_after = course is not None and any(
        last_attended is None or v.date > last_attended for v in course.follow_ups
    )
    dropped_out = attended < planned and last_planned < today and not measured_after

    row: dict[str, Any] = {
        "clinic_id": patient.clinic_id,
        "clinic_region": patient.clinic.region,
        "sex": patient.sex,
        "age": intake.age,
        "age_band": age_band(intake.age),
        "cause": assessment.likely_cause.value,
        "severity_band": assessment.severity.value if assessment.severity else None,
        "side": intake.side.value,
        "diabetes": intake.health.diabetes,
        "anticoagulated": intake.health.anticoagulant is not None,
        "cardiac_device": intake.health.implanted_electronic_device,
        "knee_prosthesis": intake.health.knee_prosthesis is not None,
        "protocol_id": plan.protocol,
        "method": plan.method.value,
        "start_date": sessions[0].session_date if sessions else plan_record.start_date,
        "sessions_planned": planned,
        "sessions_attended": attended,
        "completed": attended >= planned,
        "dropped_out": dropped_out,
        "follow_up_weeks": follow_up_weeks,
        "follow_up_date": evaluation.follow_ups[-1].date if evaluation else None,
        "verdict": verdict,
        "responder": None if verdict == "not_evaluable" else verdict == "responder",
        **_outcome_columns(evaluation),
    }
    events = [
        {"session_number": s.number, "type": a.kind.value, "severity": a.severity.value}
        for s in sessions
        for a in SessionRecord.model_validate(s.data).adverse_events
    ]
    return _Course(row, events)


def refresh(
    *, today: dt.date | None = None, kb: KnowledgeBase | None = None, seed: int | None = None
) -> RefreshSummary:
    """Rebuild the research rows of every clinic with patient records; all or nothing.

    ``seed`` fixes the course id permutation (tests); by default it is random each time.
    """
    kb = kb or load_knowledge()
    today = today or timezone.localdate()
    summary = RefreshSummary()
    patients: Iterable[Patient] = live(Patient).select_related("clinic").order_by("id")
    courses = [c for p in patients if (c := course_row(p, kb, today, summary)) is not None]
    clinic_ids = set(Patient.objects.values_list("clinic_id", flat=True).distinct())
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    order = list(range(len(courses)))
    rng.shuffle(order)
    with transaction.atomic():
        kept = CourseOutcome.objects.exclude(clinic_id__in=clinic_ids)
        first = (kept.aggregate(top=Max("course_id"))["top"] or 0) + 1
        stale = CourseOutcome.objects.filter(clinic_id__in=clinic_ids)
        AdverseEventFact.objects.filter(course_id__in=stale.values("course_id")).delete()
        stale.delete()
        rows, events = [], []
        for position, course in zip(order, courses, strict=True):
            course_id = first + position
            rows.append(CourseOutcome(course_id=course_id, **course.row))
            events += [AdverseEventFact(course_id=course_id, **e) for e in course.events]
        CourseOutcome.objects.bulk_create(rows, batch_size=500)
        AdverseEventFact.objects.bulk_create(events, batch_size=500)
    summary.clinics = len(clinic_ids)
    summary.courses = len(rows)
    summary.adverse_events = len(events)
    return summary
