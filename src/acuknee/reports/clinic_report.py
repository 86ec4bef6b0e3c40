"""The clinic outcomes report: who was treated, who finished, who responded, what went wrong.

``clinic_report(clinic, start, end)`` reads one clinic's records in a fixed number of queries
(whatever the number of patients: the records are prefetched, never fetched per patient) and
returns a ``ClinicReport`` of plain numbers with their 95% intervals (``outcomes_stats``). Every
clinical judgement comes from the core: the per-patient OMERACT-OARSI verdict and change per
measure from ``acuknee.clinical.evaluate``, the cause and severity band from the stored
``Assessment``; this module only counts.

Definitions (also printed in the report, so a reader knows what a figure means):

- **treated**: a patient (not voided) with at least one session (not voided) dated in the period;
- **completion**: of the treated patients whose signed plan (the latest signed by the period's
  end) has its last scheduled session on or before that end, those who attended at least the
  planned number of sessions on that plan by then;
- **responder rate**: of the treated patients evaluable at their latest follow-up on or before the
  period's end, those the core calls OMERACT-OARSI responders (Pham 2004). Patients not yet
  reassessed, and follow-ups the core cannot evaluate, are counted apart, never as failures;
- **mean change**: per measure, the mean improvement from baseline to that latest follow-up
  (positive = better, in the measure's unit), with a t-based 95% interval;
- **adverse events**: those recorded in the period's sessions, per 1,000 of those sessions, with
  the exact Poisson 95% interval, by type and by severity.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from acuknee.care.queries import course_from, latest_signed, live, on_plan
from acuknee.care.queries import today as clinic_today
from acuknee.clinical import (
    InvalidInput,
    InvalidInputs,
    KnowledgeBase,
    Plan,
    SessionRecord,
    evaluate,
    load_knowledge,
)
from acuknee.clinical.numbers import format_number
from acuknee.clinical.vocabulary import Cause
from acuknee.records.models import (
    Clinic,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    TreatmentSession,
)
from acuknee.reports.outcomes_stats import (
    Mean,
    Proportion,
    Rate,
    mean_interval,
    poisson_rate,
    wilson,
)

NO_BAND = "no severity band"
UNKNOWN = "not recorded"


class BadPeriod(ValueError):
    """The date range cannot be reported on (end before start)."""


# --- one patient's course, as the report counts it ------------------------------------------------


@dataclass
class PatientCourse:
    """What the report reads of one treated patient (also handy to check a figure by hand)."""

    patient_id: int
    record_number: str
    cause: str
    severity: str
    protocol: str
    protocol_id: str | None
    practitioner: str
    sessions_in_period: int
    sessions_to_end: int
    planned: int | None
    course_due: bool
    """The plan's last scheduled session is on or before the period's end."""
    verdict: str | None
    """responder / non_responder / not_evaluable at the latest follow-up; None: no follow-up."""
    improvements: dict[tuple[str, str, str], float] = field(default_factory=dict)
    """(domain, instrument, subscale) -> improvement at the latest follow-up (positive = better)."""
    adverse_events: list[tuple[str, str]] = field(default_factory=list)
    """(kind label, severity) of each adverse event recorded in the period's sessions."""

    @property
    def completed(self) -> bool:
        return self.planned is not None and self.sessions_to_end >= self.planned


def _person(user: Any) -> str:
    if user is None:
        return UNKNOWN
    full = str(user.get_full_name()).strip()
    return full or str(user.get_username())


def _cause(value: str | None) -> str:
    """A stored cause as a sentence says it (``Cause.phrase``); a code the core no longer knows
    is read with its underscores as spaces."""
    if not value:
        return UNKNOWN
    try:
        return Cause(value).phrase
    except ValueError:
        return value.replace("_", " ")


def _course(
    patient: Patient,
    plan_record: PlanRecord,
    period_sessions: list[TreatmentSession],
    end: dt.date,
    kb: KnowledgeBase,
) -> PatientCourse:
    plan = Plan.model_validate(plan_record.content)
    assessment = plan_record.intake.assessment or {}
    cause = assessment.get("likely_cause") or (plan.cause.value if plan.cause else None)
    severity = assessment.get("severity") or (plan.severity.value if plan.severity else None)
    last_session = max((v.date for v in plan.schedule if v.kind == "session"), default=None)
    all_sessions = on_plan(patient.report_sessions, plan_record)  # the course's, to the end
    row = PatientCourse(
        patient_id=patient.pk,
        record_number=patient.record_number,
        cause=_cause(cause),
        severity=severity or NO_BAND,
        protocol=plan.protocol_name or plan.protocol or UNKNOWN,
        protocol_id=plan.protocol,
        practitioner=_person(plan_record.signed_by),
        sessions_in_period=len(period_sessions),
        sessions_to_end=len(all_sessions),
        planned=plan.number_of_sessions,
        course_due=last_session is not None and last_session <= end,
        verdict=None,
    )
    for s in period_sessions:
        for event in SessionRecord.model_validate(s.data).adverse_events:
            row.adverse_events.append((event.kind.label, event.severity.value))
    found = course_from(patient.report_intakes, patient.report_measurements, end)
    course = found.course if found is not None else None
    if course is None or not course.follow_ups:
        return row
    try:
        latest = evaluate(course, kb).follow_ups[-1]
    except (InvalidInput, InvalidInputs):
        row.verdict = "not_evaluable"
        return row
    row.verdict = latest.oarsi.status
    for group in latest.domains:
        for m in group.measures:
            if m.improvement is not None:
                domain = group.domain.value if group.domain else "other"
                row.improvements[(domain, m.instrument, m.subscale)] = m.improvement
    return row


MEASUREMENT_FIELDS = ("id", "patient_id", "measured_on", "instrument", "answers", "origin")
"""What ``care.queries.course_from`` reads of a measurement (``voided_at`` too)."""


def treated_courses(
    clinic: Clinic, start: dt.date | None, end: dt.date, kb: KnowledgeBase
) -> list[PatientCourse]:
    """One ``PatientCourse`` per patient treated in the period, in five queries in all."""
    in_period = (
        live(TreatmentSession)
        .filter(
            patient__clinic=clinic,
            patient__voided_at__isnull=True,
            session_date__lte=end,
        )
        .only("id", "patient_id", "plan_id", "session_date", "data")
    )
    if start is not None:
        in_period = in_period.filter(session_date__gte=start)
    by_patient: dict[int, list[TreatmentSession]] = defaultdict(list)
    for s in in_period.order_by("session_date", "number"):
        by_patient[s.patient_id].append(s)
    if not by_patient:
        return []
    patients = (
        Patient.objects.filter(pk__in=list(by_patient))
        .order_by("record_number")
        .prefetch_related(
            Prefetch(
                "intakes",
                live(IntakeRecord)
                .filter(visit_date__lte=end)
                .only("id", "patient_id", "visit_date", "baseline_on", "voided_at"),
                to_attr="report_intakes",
            ),
            Prefetch(
                "measurements",
                live(Measurement)
                .filter(measured_on__lte=end)
                .only(
                    "id",
                    "patient_id",
                    "measured_on",
                    "instrument",
                    "answers",
                    "origin",
                    "voided_at",
                ),
                to_attr="report_measurements",
            ),
            Prefetch(
                "plans",
                live(PlanRecord)
                .filter(status="signed")
                .select_related("signed_by", "intake")
                .only(
                    "id",
                    "patient_id",
                    "content",
                    "start_date",
                    "signed_at",
                    "created_at",
                    "status",
                    "voided_at",
                    "signed_by__username",
                    "signed_by__first_name",
                    "signed_by__last_name",
                    "intake__id",
                    "intake__assessment",
                ),
                to_attr="report_plans",
            ),
            Prefetch(
                "sessions",
                live(TreatmentSession)
                .filter(session_date__lte=end)
                .only("id", "patient_id", "plan_id"),
                to_attr="report_sessions",
            ),
        )
    )
    rows = []
    for patient in patients:
        plan_record = latest_signed(patient.report_plans, by=end)  # the plan of the period
        if plan_record is None:  # sessions against a voided plan only: not a treated course
            continue
        rows.append(_course(patient, plan_record, by_patient[patient.pk], end, kb))
    return rows


# --- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    """One group's responder rate (of the evaluable) beside its number of treated patients."""

    label: str
    treated: int
    responders: Proportion


@dataclass(frozen=True)
class ChangeRow:
    """Mean improvement of one measure, with its domain, unit and interval."""

    domain: str
    instrument: str
    subscale: str
    name: str
    unit: str
    change: Mean
    exploratory: bool = False
    """The measure is exploratory (``instruments.toml``): said beside its name, as on every
    page and chart of one patient."""

    @property
    def label(self) -> str:
        return f"{self.name} (exploratory)" if self.exploratory else self.name


@dataclass(frozen=True)
class RateRow:
    label: str
    rate: Rate


@dataclass
class ClinicReport:
    clinic: str
    start: dt.date | None
    end: dt.date
    generated_on: dt.date
    treated: int
    sessions: int
    completion: Proportion
    responders: Proportion
    not_reassessed: int
    not_evaluable: int
    by_cause: list[GroupRow]
    by_severity: list[GroupRow]
    by_protocol: list[GroupRow]
    by_practitioner: list[GroupRow]
    changes: list[ChangeRow]
    adverse_events: Rate
    adverse_by_type: list[RateRow]
    adverse_by_severity: list[RateRow]
    courses: list[PatientCourse]

    @property
    def period_text(self) -> str:
        since = self.start.isoformat() if self.start else "the first record"
        return f"{since} to {self.end.isoformat()}"


def _responders(rows: list[PatientCourse]) -> Proportion:
    evaluable = [r for r in rows if r.verdict in ("responder", "non_responder")]
    return wilson(sum(r.verdict == "responder" for r in evaluable), len(evaluable))


def _groups(rows: list[PatientCourse], key: Callable[[PatientCourse], str]) -> list[GroupRow]:
    grouped: dict[str, list[PatientCourse]] = defaultdict(list)
    for r in rows:
        grouped[key(r)].append(r)
    return [
        GroupRow(label=label, treated=len(members), responders=_responders(members))
        for label, members in sorted(grouped.items())
    ]


_SEVERITY_ORDER = {"mild": 0, "moderate": 1, "severe": 2, NO_BAND: 3}


def _changes(rows: list[PatientCourse], kb: KnowledgeBase) -> list[ChangeRow]:
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        for key, value in r.improvements.items():
            values[key].append(value)
    domain_order = ["pain", "inflammation", "circulation", "relaxation", "function", "other"]
    out = []
    for (domain, instrument, subscale), items in values.items():
        inst = kb.instruments.get(instrument)
        sub = next((s for s in inst.subscales if s.id == subscale), None) if inst else None
        out.append(
            ChangeRow(
                domain=domain,
                instrument=instrument,
                subscale=subscale,
                name=sub.name if sub else f"{instrument} {subscale}",
                unit=sub.unit if sub else "",
                change=mean_interval(items),
                exploratory=bool(inst and sub and (inst.exploratory or sub.exploratory)),
            )
        )
    rank = {d: i for i, d in enumerate(domain_order)}
    return sorted(out, key=lambda c: (rank.get(c.domain, 99), c.instrument, c.subscale))


def _rates(events: list[str], sessions: int, order: list[str] | None = None) -> list[RateRow]:
    counts: dict[str, int] = defaultdict(int)
    for e in events:
        counts[e] += 1
    labels = order if order is not None else sorted(counts)
    return [RateRow(label=k, rate=poisson_rate(counts.get(k, 0), sessions)) for k in labels]


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    """Refuse a range that ends before it starts, naming both dates."""
    if start is not None and end is not None and end < start:
        raise BadPeriod(
            f"the end date {end.isoformat()} is before the start date {start.isoformat()}"
        )


def clinic_report(
    clinic: Clinic,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    today: dt.date | None = None,
    kb: KnowledgeBase | None = None,
) -> ClinicReport:
    """The outcomes report of ``clinic`` for sessions from ``start`` (default: the first record)
    to ``end`` (default: ``today``). Raises ``BadPeriod`` when ``end`` is before ``start``."""
    today = today or clinic_today()
    end = end or today
    check_period(start, end)
    kb = kb or load_knowledge()
    rows = treated_courses(clinic, start, end, kb)
    due = [r for r in rows if r.course_due]
    events = [e for r in rows for e in r.adverse_events]
    sessions = sum(r.sessions_in_period for r in rows)
    return ClinicReport(
        clinic=clinic.name,
        start=start,
        end=end,
        generated_on=today,
        treated=len(rows),
        sessions=sessions,
        completion=wilson(sum(r.completed for r in due), len(due)),
        responders=_responders(rows),
        not_reassessed=sum(r.verdict is None for r in rows),
        not_evaluable=sum(r.verdict == "not_evaluable" for r in rows),
        by_cause=_groups(rows, lambda r: r.cause),
        by_severity=sorted(
            _groups(rows, lambda r: r.severity), key=lambda g: _SEVERITY_ORDER.get(g.label, 9)
        ),
        by_protocol=_groups(rows, lambda r: r.protocol),
        by_practitioner=_groups(rows, lambda r: r.practitioner),
        changes=_changes(rows, kb),
        adverse_events=poisson_rate(len(events), sessions),
        adverse_by_type=_rates([t for t, _ in events], sessions),
        adverse_by_severity=_rates(
            [s for _, s in events], sessions, order=["mild", "moderate", "severe"]
        ),
        courses=rows,
    )


# --- rendering: one body template for the page and the PDF ----------------------------------------


def fmt_proportion(p: Proportion) -> str:
    """``"57% (25% to 84%)"``; ``"—"`` for an empty group (never a 0% that reads as a result)."""
    return "—" if p.estimate is None else p.percent()


def fmt_mean(m: Mean) -> tuple[str, str]:
    """(mean, interval) to one decimal; the interval is "—" below two values."""
    if m.mean is None:
        return "—", "—"
    interval = (
        "—"
        if m.low is None or m.high is None
        else f"{format_number(m.low)} to {format_number(m.high)}"
    )
    return format_number(m.mean, signed=True), interval


def fmt_rate(r: Rate) -> tuple[str, str]:
    """(rate per 1,000 sessions, interval) to one decimal."""
    if r.rate is None or r.low is None or r.high is None:
        return "—", "—"
    return format_number(r.rate), f"{format_number(r.low)} to {format_number(r.high)}"


def _group_rows(
    groups: list[GroupRow], links: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "label": g.label,
            "protocol_id": (links or {}).get(g.label),
            "treated": g.treated,
            "evaluable": g.responders.total,
            "responders": g.responders.count,
            "rate": fmt_proportion(g.responders),
            "small": g.responders.total > 0 and g.responders.small,
        }
        for g in groups
    ]


def _rate_rows(rows: list[RateRow]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        rate, interval = fmt_rate(row.rate)
        out.append(
            {"label": row.label, "events": row.rate.events, "rate": rate, "interval": interval}
        )
    return out


def report_context(report: ClinicReport, *, charts: bool = True) -> dict[str, Any]:
    """What ``reports/clinic_body.html`` shows: figures already formatted, charts as data URIs."""
    from acuknee.reports.clinic_charts import change_chart, responder_chart

    changes = []
    for c in report.changes:
        mean, interval = fmt_mean(c.change)
        changes.append(
            {
                "domain": c.domain,
                "name": c.name,
                "exploratory": c.exploratory,
                "unit": c.unit,
                "n": c.change.n,
                "mean": mean,
                "interval": interval,
                "small": c.change.small,
            }
        )
    total_rate, total_interval = fmt_rate(report.adverse_events)
    protocol_ids = {r.protocol: r.protocol_id for r in report.courses if r.protocol_id}
    return {
        "report": report,
        "completion": fmt_proportion(report.completion),
        "responders": fmt_proportion(report.responders),
        "groups": [
            ("Cause", _group_rows(report.by_cause)),
            ("Severity band", _group_rows(report.by_severity)),
            ("Protocol", _group_rows(report.by_protocol, protocol_ids)),
            ("Practitioner (who signed the plan)", _group_rows(report.by_practitioner)),
        ],
        "changes": changes,
        "adverse_total": {
            "events": report.adverse_events.events,
            "rate": total_rate,
            "interval": total_interval,
        },
        "adverse_by_type": _rate_rows(report.adverse_by_type),
        "adverse_by_severity": _rate_rows(report.adverse_by_severity),
        "responder_chart": responder_chart(report) if charts and report.treated else None,
        "change_chart": change_chart(report) if charts else None,
    }


def render_print_html(report: ClinicReport) -> str:
    """The standalone printable document (what WeasyPrint turns into the PDF)."""
    from django.template.loader import render_to_string

    context = {"clinic_name": report.clinic, "for_print": True, **report_context(report)}
    return render_to_string("reports/clinic_report.html", context)


def render_pdf(report: ClinicReport) -> bytes:
    """The report as PDF: the printable HTML through WeasyPrint (no network: data URIs only)."""
    from acuknee.reports.progress import html_to_pdf

    return html_to_pdf(render_print_html(report))
