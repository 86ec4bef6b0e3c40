"""Where a patient stands in their course, computed from the records (never stored).

Storing the status would let it drift from the records; computing it from the latest intake, the
signed plan, its sessions and the measurements keeps one truth. The rules, in order:

1. a referral stands (an intake's screening referred the patient before any needling and no
   outcome clearing it is recorded; a later intake does not lift it): **referred**;
2. no signed plan: **intake**;
3. every planned session done and the last scheduled reassessment measured: **completed**;
4. a scheduled reassessment date has passed without a measurement: **reassessment due**;
5. otherwise: **in course**.

A scheduled reassessment counts as measured when a Measurement is dated after the visit that
precedes it in the schedule (so one taken a day early still counts, and the previous
reassessment's own measurement does not). Voided records count for nothing.

The rules read only a few facts (``Overview``): whether a referral stands, the signed plan's
schedule, the number of sessions logged against it and the latest measurement date. Those are
loaded with subquery annotations in the patients' own query (``with_status_facts``,
``attach_overviews``), so a list of patients costs one query however many records each has.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from acuknee.care.queries import has_open_referral, live, signed_plan_id
from acuknee.clinical import Plan
from acuknee.records.models import Measurement, Patient, PlanRecord, TreatmentSession

# Patient.Status("...") not Patient.Status.X: mypy reads an untyped Django choice as a tuple.
INTAKE = Patient.Status("intake")
IN_COURSE = Patient.Status("in_course")
REASSESSMENT_DUE = Patient.Status("reassessment_due")
COMPLETED = Patient.Status("completed")
REFERRED = Patient.Status("referred")

OVERVIEW_ATTR = "status_overview"
"""Where ``attach_overviews`` leaves each patient's ``Overview``."""


@dataclass(frozen=True, eq=False)
class Overview:
    """The few facts the status rules read, each from non-voided records only."""

    referral_open: bool
    plan_content: dict[str, Any] | None
    plan_start: dt.date | None
    sessions_done: int
    last_measured: dt.date | None
    plan_json: str | None = None
    """The signed plan's content as the JSON text stored, where it was read so (``plan_content``
    is then None): a list of patients reads every signed plan, and the same plans each time."""

    @property
    def has_plan(self) -> bool:
        """Whether a signed plan is in force (its content and start are known)."""
        content = self.plan_content if self.plan_json is None else self.plan_json
        return content is not None and self.plan_start is not None

    def __eq__(self, other: object) -> bool:
        """The same facts, however the plan's content was read (decoded or as stored text)."""
        if not isinstance(other, Overview):
            return NotImplemented
        return self._facts() == other._facts()

    def __hash__(self) -> int:
        return hash((self.referral_open, self.plan_start, self.sessions_done, self.last_measured))

    def _facts(self) -> tuple[Any, ...]:
        return (
            self.referral_open,
            self.plan,
            self.plan_start,
            self.sessions_done,
            self.last_measured,
        )

    @functools.cached_property
    def plan(self) -> Plan | None:
        """The signed plan's content as the core's ``Plan``, validated once (the status, the
        reassessments due and the sessions planned each read it)."""
        if not self.has_plan:
            return None
        if self.plan_json is not None:
            return plan_from_json(self.plan_json)
        return Plan.model_validate(self.plan_content)


@functools.lru_cache(maxsize=2048)
def plan_from_json(text: str) -> Plan:
    """A signed plan's stored content as the core's ``Plan``, kept by its exact text: a signed
    plan never changes (only drafts are edited), the ``Plan`` is frozen, and validating each of
    a list's plans on every request was about a tenth of the patient list (issue 15)."""
    return Plan.model_validate_json(text)


# The subquery annotations below are built once per process: a query resolving an expression
# works on a copy and never changes the original, so one instance serves every request, and
# building them (querysets inside querysets) took about 1.5 ms of every patient list and
# worklist (issue 15).


@functools.cache
def latest(model: Any, field: str) -> Subquery:
    """The patient's latest non-voided ``field`` of ``model``, as a correlated subquery."""
    rows = live(model).filter(patient=OuterRef("pk")).order_by()
    rows = rows.values("patient").annotate(latest=Max(field)).values("latest")
    return Subquery(rows)


@functools.cache
def _sessions_on_signed_plan() -> Subquery:
    rows = (
        live(TreatmentSession)
        .filter(plan_id=OuterRef("status_signed_plan_id"))
        .order_by()
        .values("plan_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(rows)


def with_status_facts(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate what ``patient_status`` needs: whether a referral stands, the signed plan's id,
    content and start, the sessions logged on that plan, the latest measurement date."""
    return patients.annotate(**_status_facts()).annotate(
        status_sessions_done=_sessions_on_signed_plan(), **_signed_plan_facts()
    )


@functools.cache
def _status_facts() -> dict[str, Any]:
    return {
        "status_referral_open": has_open_referral(),
        "status_signed_plan_id": signed_plan_id(),
        "status_last_measured": latest(Measurement, "measured_on"),
    }


_CONTENT_TEXT = Cast("content", TextField())
"""A plan's content as the JSON text stored (SQLite) or as PostgreSQL prints it: not decoded."""


@functools.cache
def _signed_plan_facts() -> dict[str, Any]:
    """The signed plan's content (as stored text) and start, by the id ``_status_facts`` found:
    read with the patients rather than by a second query (issue 15)."""
    plan = PlanRecord.objects.filter(pk=OuterRef("status_signed_plan_id"))
    return {
        "status_plan_text": Subquery(plan.annotate(text=_CONTENT_TEXT).values("text")[:1]),
        "status_plan_start": Subquery(plan.values("start_date")[:1]),
    }


def attach_overviews(patients: Iterable[Patient]) -> None:
    """Give each patient annotated by ``with_status_facts`` its ``Overview`` (no query: the
    facts, the signed plan's content and start included, came with the patient)."""
    for p in patients:
        overview = Overview(
            referral_open=bool(p.status_referral_open),
            plan_content=None,
            plan_json=p.status_plan_text if p.status_signed_plan_id is not None else None,
            plan_start=p.status_plan_start if p.status_signed_plan_id is not None else None,
            sessions_done=p.status_sessions_done or 0,
            last_measured=p.status_last_measured,
        )
        setattr(p, OVERVIEW_ATTR, overview)


def overview_of(patient: Patient) -> Overview:
    """The patient's ``Overview``: the one attached by ``attach_overviews``, else loaded now."""
    attached = getattr(patient, OVERVIEW_ATTR, None)
    if isinstance(attached, Overview):
        return attached
    fresh = with_status_facts(Patient.objects.filter(pk=patient.pk)).get()
    attach_overviews([fresh])
    overview: Overview = getattr(fresh, OVERVIEW_ATTR)
    return overview


def patient_status(patient: Patient, today: dt.date) -> Patient.Status:
    """The patient's stage on ``today``; see the module docstring for the rules."""
    return status_from(overview_of(patient), today)


def status_from(overview: Overview, today: dt.date, content: Plan | None = None) -> Patient.Status:
    """The status rules on the loaded facts (``content``: the signed plan already validated)."""
    if overview.referral_open:
        return REFERRED
    start = overview.plan_start
    if not overview.has_plan or start is None:
        return INTAKE
    content = content or overview.plan
    assert content is not None
    schedule = content.schedule
    due = _windows(schedule, overview.last_measured, start)
    planned = sum(1 for v in schedule if v.kind == "session") or (content.number_of_sessions or 0)
    if due and overview.sessions_done >= planned and due[-1][1]:
        return COMPLETED
    if any(day <= today and not was_measured for day, was_measured in due):
        return REASSESSMENT_DUE
    return IN_COURSE


def _windows(
    schedule: list[Any], last_measured: dt.date | None, start: dt.date
) -> list[tuple[dt.date, bool]]:
    """Each scheduled reassessment's date and whether it was measured: a measurement dated
    after the preceding scheduled visit (on or after the start for the first visit). Any
    measurement on or after that bound counts, so the latest measurement date decides."""
    return [
        (day, last_measured is not None and low <= last_measured)
        for day, low in _reassessments(schedule, start)
    ]


def _reassessments(schedule: list[Any], start: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Each scheduled reassessment's date and the first day a measurement answers it: the day
    after the preceding scheduled visit, or the start for a first visit."""
    out: list[tuple[dt.date, dt.date]] = []
    previous: dt.date | None = None
    for visit in schedule:
        if visit.kind == "reassessment":
            out.append((visit.date, start if previous is None else previous + dt.timedelta(days=1)))
        previous = visit.date
    return out


def plan_of(overview: Overview) -> Plan | None:
    """The signed plan's content, or None when the patient has no signed plan."""
    return overview.plan


def reassessments_due(overview: Overview, until: dt.date) -> list[dt.date]:
    """The signed plan's reassessment dates up to ``until`` that no measurement answers yet
    (overdue ones included): the worklist's "reassessments due this week"."""
    plan = plan_of(overview)
    if plan is None or overview.plan_start is None:
        return []
    windows = _windows(plan.schedule, overview.last_measured, overview.plan_start)
    return [day for day, measured in windows if day <= until and not measured]


def sessions_planned_on(overview: Overview, day: dt.date) -> list[int]:
    """The numbers of the signed plan's sessions scheduled on ``day`` and not yet logged."""
    plan = plan_of(overview)
    if plan is None:
        return []
    return [
        v.number
        for v in plan.schedule
        if v.kind == "session" and v.date == day and v.number > overview.sessions_done
    ]


@dataclass(frozen=True)
class VisitState:
    """One scheduled visit as the records stand on a day: ``done`` (a session logged for it, or
    a reassessment measured in its window), ``due`` (its date has passed, or for a reassessment
    has come, and it is not done) or ``planned`` (later, or a session today, not done).
    Documents say "planned" only of the last kind."""

    kind: str
    number: int
    date: dt.date
    state: str
    since: dt.date | None = None
    """A reassessment's first day: a measurement on or after it answers the visit (the plan's
    start, or the day after the visit before it). None for a session."""


def visit_states(
    plan: Plan,
    start: dt.date,
    *,
    sessions_done: int,
    last_measured: dt.date | None,
    today: dt.date,
) -> list[VisitState]:
    """Each visit of ``plan``'s schedule with its state on ``today``. Sessions are numbered in
    date order, so the first ``sessions_done`` planned sessions are the ones that happened (a
    session logged early still answers its planned visit); a reassessment is done when it was
    measured by the rule of ``status_from`` (``_windows``). Pass facts as of ``today``."""
    measured = iter(m for _, m in _windows(plan.schedule, last_measured, start))
    opens = iter(low for _, low in _reassessments(plan.schedule, start))
    out = []
    for visit in plan.schedule:
        since = None
        if visit.kind == "session":
            done, late = visit.number <= sessions_done, visit.date < today
        else:  # due on its own day, as ``status_from`` says "reassessment due"
            done, late, since = next(measured), visit.date <= today, next(opens)
        state = "done" if done else ("due" if late else "planned")
        out.append(VisitState(visit.kind, visit.number, visit.date, state, since))
    return out
