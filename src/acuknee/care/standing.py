"""What stands of a signed plan and of an intake, for readers of many records at once (the FHIR
server and the bulk export), by the definitions the pages use, so that they cannot disagree.

A signed plan: whether it is the patient's current plan (``queries.signed_plan``: the latest
signed live plan) and the state of each of its visits (``status.visit_states``, as the outcomes
and appointments sections read them: the live sessions logged on the plan and the latest live
measurement, both up to today). A plan that a later one superseded is read as it stood on the
day the later plan was signed: a measurement taken afterwards answers the new plan's
reassessments, not the old one's.

An intake: the visit date of the live intake that followed it, if any (the latest live intake,
``queries.latest_intake``, is the one whose findings the safety banner shows), and the live
outcome that cleared its referral, if any (``queries.standing``: a referral stands until one is
recorded).

``with_plan_standing`` and ``with_intake_standing`` annotate a queryset with these facts, so a
search page or an export reads them in its own query; ``plan_standing`` and ``intake_standing``
take them from a record so annotated, or query them for a record that was not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    DateField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from acuknee.care.queries import SIGNED_ORDER, clearing_outcomes, live, today
from acuknee.care.status import COMPLETED, Overview, VisitState, status_from, visit_states
from acuknee.clinical import Plan
from acuknee.records.models import IntakeRecord, Measurement, PlanRecord, TreatmentSession

# --- plans ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanStanding:
    """A signed plan as the records stand."""

    current: bool
    """The patient's current plan (``queries.signed_plan``); else a later one superseded it."""
    visits: tuple[VisitState, ...]
    """Each visit of its schedule with its state (``status.visit_states``); a superseded plan's as
    they stood on the day it was superseded."""
    completed: bool
    """Every planned session done and the last reassessment measured: the status rules'
    ``completed`` (``status.status_from``) on the plan's own facts."""


def _current_plan_id() -> Subquery:
    """``queries.signed_plan``'s pk, correlated to a plan's patient (``SIGNED_ORDER``)."""
    rows = live(PlanRecord).filter(patient=OuterRef("patient_id"), status=PlanRecord.Status.SIGNED)
    return Subquery(rows.order_by(*SIGNED_ORDER).values("pk")[:1])


def _sessions_on(plan: Any, until: dt.date) -> Subquery:
    """How many live sessions are logged on the plan ``plan`` refers to, dated up to ``until``."""
    rows = live(TreatmentSession).filter(plan=plan, session_date__lte=until).order_by()
    return Subquery(rows.values("plan").annotate(n=Count("pk")).values("n"), IntegerField())


def _last_measured(patient: Any, until: dt.date) -> Subquery:
    """The latest live measurement date of ``patient`` up to ``until``."""
    rows = live(Measurement).filter(patient=patient, measured_on__lte=until).order_by()
    return Subquery(rows.values("patient").annotate(m=Max("measured_on")).values("m"))


def with_plan_standing(plans: QuerySet[PlanRecord], on: dt.date) -> QuerySet[PlanRecord]:
    """``plans`` annotated with what ``plan_standing`` reads as of ``on`` (today): the patient's
    current plan, the plan's sessions and the latest measurement; no query per plan."""
    return plans.annotate(
        standing_on=Value(on, DateField()),
        standing_current_id=_current_plan_id(),
        standing_sessions=Coalesce(_sessions_on(OuterRef("pk"), on), 0),
        standing_measured=_last_measured(OuterRef("patient_id"), on),
    )


def _superseded_on(plan: PlanRecord) -> dt.date | None:
    """The day (clinic time) the signed plan that followed ``plan`` in ``SIGNED_ORDER`` was signed:
    the day ``plan`` stopped being current; None when none followed."""
    signed = live(PlanRecord).filter(patient_id=plan.patient_id, status=PlanRecord.Status.SIGNED)
    order = [(at, pk) for pk, at in signed.values_list("pk", Coalesce("signed_at", "created_at"))]
    own = next(((at, pk) for at, pk in order if pk == plan.pk), None)
    later = [key for key in order if own is None or key > own]
    return timezone.localdate(min(later)[0]) if later else None


def plan_standing(
    plan: PlanRecord, content: Plan | None = None, on: dt.date | None = None
) -> PlanStanding:
    """Where the signed ``plan`` stands on ``on`` (default today), from the annotations of
    ``with_plan_standing`` when ``plan`` has them, else read now. ``content``: the plan's content
    already validated."""
    content = content or Plan.model_validate(plan.content)
    facts = getattr(plan, "standing_on", None)
    if facts is None or (on is not None and facts != on):
        plan = with_plan_standing(PlanRecord.objects.filter(pk=plan.pk), on or today()).get()
    on = plan.standing_on
    current = plan.standing_current_id == plan.pk
    sessions: int = plan.standing_sessions
    measured: dt.date | None = plan.standing_measured
    if not current:
        ended = _superseded_on(plan)
        if ended is not None and ended < on:
            on = ended
            rows = live(Measurement).filter(patient_id=plan.patient_id, measured_on__lte=on)
            measured = rows.aggregate(m=Max("measured_on"))["m"]
    visits = visit_states(
        content, plan.start_date, sessions_done=sessions, last_measured=measured, today=on
    )
    facts_of_plan = Overview(
        referral_open=False,
        plan_content=plan.content,
        plan_start=plan.start_date,
        sessions_done=sessions,
        last_measured=measured,
    )
    completed = status_from(facts_of_plan, on, content) == COMPLETED
    return PlanStanding(current, tuple(visits), completed)


# --- intakes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralCleared:
    """The live outcome that cleared an intake's referral: who saw the patient and when."""

    seen_by: str
    seen_on: dt.date
    note: str = ""


@dataclass(frozen=True)
class IntakeStanding:
    """An intake as the records stand."""

    superseded_on: dt.date | None
    """The visit date of the live intake that followed it (``queries.INTAKE_ORDER``); None when it
    is the patient's latest live intake, whose findings the safety banner shows."""
    cleared: ReferralCleared | None
    """The live outcome that cleared its referral (the latest); None when its referral stands
    (``queries.standing``) or it referred the patient nowhere."""


def next_intake_day() -> Subquery:
    """The visit date of the live intake after an intake in ``queries.INTAKE_ORDER`` (latest visit
    date, then latest stored), of the same patient: None for the latest."""
    later = live(IntakeRecord).filter(patient=OuterRef("patient_id"))
    later = later.filter(
        Q(visit_date__gt=OuterRef("visit_date"))
        | Q(visit_date=OuterRef("visit_date"), pk__gt=OuterRef("pk"))
    )
    return Subquery(later.order_by("visit_date", "pk").values("visit_date")[:1])


def _clearing(field: str) -> Subquery:
    """``field`` of the intake's latest live outcome that cleared its referral."""
    return Subquery(clearing_outcomes().order_by("-seen_on", "-pk").values(field)[:1])


def with_intake_standing(intakes: QuerySet[IntakeRecord]) -> QuerySet[IntakeRecord]:
    """``intakes`` annotated with what ``intake_standing`` reads; no query per intake."""
    return intakes.annotate(
        standing_next_day=next_intake_day(),
        standing_cleared_by=_clearing("seen_by"),
        standing_cleared_on=_clearing("seen_on"),
        standing_cleared_note=_clearing("note"),
    )


def intake_standing(record: IntakeRecord) -> IntakeStanding:
    """Where ``record`` stands, from the annotations of ``with_intake_standing`` when it has them,
    else read now."""
    if not hasattr(record, "standing_next_day"):
        record = with_intake_standing(IntakeRecord.objects.filter(pk=record.pk)).get()
    cleared = None
    if record.standing_cleared_on is not None:
        cleared = ReferralCleared(
            record.standing_cleared_by, record.standing_cleared_on, record.standing_cleared_note
        )
    return IntakeStanding(record.standing_next_day, cleared)
