"""Where a patient stands in their course, computed from the records (never stored).

Storing the status would let it drift from the records; computing it from the latest intake, the
signed plan, its sessions and the measurements keeps one truth. The rules, in order:

1. the latest intake's screening has an emergency or urgent referral: **referred**;
2. no signed plan: **intake**;
3. every planned session done and the last scheduled reassessment measured: **completed**;
4. a scheduled reassessment date has passed without a measurement: **reassessment due**;
5. otherwise: **in course**.

A scheduled reassessment counts as measured when a Measurement is dated after the visit that
precedes it in the schedule (so one taken a day early still counts, and the previous
reassessment's own measurement does not).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from acuknee.clinic.models import Patient, PlanRecord
from acuknee.clinical import Plan, Screening

# Patient.Status("...") not Patient.Status.X: mypy reads an untyped Django choice as a tuple.
INTAKE = Patient.Status("intake")
IN_COURSE = Patient.Status("in_course")
REASSESSMENT_DUE = Patient.Status("reassessment_due")
COMPLETED = Patient.Status("completed")
REFERRED = Patient.Status("referred")


def _live(records: Any) -> list[Any]:
    """Non-voided records of a related manager (uses a prefetch cache when there is one)."""
    return [r for r in records.all() if r.voided_at is None]


def is_referred(screening: Screening) -> bool:
    """True when the screening refers the patient elsewhere before any needling."""
    return any(r.urgency.blocks_plan for r in screening.referrals)


def signed_plan(patient: Patient) -> PlanRecord | None:
    """The patient's most recently signed, non-voided plan."""
    signed = [p for p in _live(patient.plans) if p.status == "signed"]
    if not signed:
        return None
    return max(signed, key=lambda p: (p.signed_at or p.created_at, p.pk))


def patient_status(patient: Patient, today: dt.date) -> Patient.Status:
    """The patient's stage on ``today``; see the module docstring for the rules."""
    intakes = _live(patient.intakes)
    if intakes:
        latest = max(intakes, key=lambda r: (r.visit_date, r.pk))
        if is_referred(Screening.model_validate(latest.screening)):
            return REFERRED
    record = signed_plan(patient)
    if record is None:
        return INTAKE
    content = Plan.model_validate(record.content)
    schedule = content.schedule
    measured = sorted(m.measured_on for m in _live(patient.measurements))
    due = _windows(schedule, measured, record.start_date)
    planned = sum(1 for v in schedule if v.kind == "session") or (content.number_of_sessions or 0)
    done = sum(1 for s in _live(patient.sessions) if s.plan_id == record.pk)
    if due and done >= planned and due[-1][1]:
        return COMPLETED
    if any(day <= today and not was_measured for day, was_measured in due):
        return REASSESSMENT_DUE
    return IN_COURSE


def _windows(
    schedule: list[Any], measured: list[dt.date], start: dt.date
) -> list[tuple[dt.date, bool]]:
    """Each scheduled reassessment's date and whether it was measured: a measurement dated
    after the preceding scheduled visit (on or after the start for the first visit)."""
    out: list[tuple[dt.date, bool]] = []
    previous: dt.date | None = None
    for visit in schedule:
        if visit.kind == "reassessment":
            low = start if previous is None else previous + dt.timedelta(days=1)
            out.append((visit.date, any(low <= day for day in measured)))
        previous = visit.date
    return out
