"""The outcomes of a course, shaped for a page or a report: the response over the course.

``outcomes_context(patient)`` takes the core ``Course`` from the care layer
(``care.queries.course_of``: baseline = the intake's measurements unless the practitioner chose
another, follow-ups = later dates up to today), calls ``acuknee.clinical.evaluate`` and shapes
its answer for ``pages/_outcomes_section.html`` and the progress report: the five domains with
a trend chart per measure, change from baseline, MIC reached or "no established MIC", the
OMERACT-OARSI verdict at each follow-up, adverse events and sessions attended against planned.
Every judgement comes from the core; this module only arranges and draws.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from acuknee.care.chart import Chart, ChartSession, chart_of
from acuknee.care.queries import on_plan
from acuknee.care.status import visit_states
from acuknee.clinical import (
    Course,
    Evaluation,
    InvalidInput,
    InvalidInputs,
    KnowledgeBase,
    evaluate,
    load_knowledge,
    score,
)
from acuknee.clinical.knowledge import Source
from acuknee.clinical.numbers import format_number
from acuknee.clinical.response import MicCheck, domain_label
from acuknee.clinical.vocabulary import AdverseEventKind, Direction, Domain
from acuknee.kept import Kept
from acuknee.records.models import Measurement, Patient, PlanRecord
from acuknee.reports import chart_cache
from acuknee.reports.charts import (
    CHART_HEIGHT_IN,
    CHART_WIDTH_IN,
    TREND_SVG,
    TrendSpec,
    drawn_trend_svg,
    trend_digest,
    trend_svg,
)
from acuknee.reports.style import svg_data_uri

# --- the trend chart -----------------------------------------------------------------------------
# Drawn by acuknee.reports.charts (matplotlib), the same code as the progress report's charts,
# and embedded as an <img> with a data: address: the Content-Security-Policy forbids inline SVG
# with style attributes but allows data: images. A chart not drawn yet (new measurements) is
# linked instead, by its digest, and drawn by the request for that image (``trend_chart_svg``):
# a page never waits for matplotlib (issue 15: the outcomes page drew 16 charts, 0.2-0.3 s).

_INLINE: Kept[tuple[TrendSpec, float, str], SafeString] = chart_cache.kept(256)
"""The finished ``<img>`` of each chart drawn, by spec, size and class: the outcomes page shows
16, and reading each from the shared cache, encoding and escaping it took about a sixth of the
page (issue 15)."""


def chart_img(
    spec: TrendSpec, *, patient_pk: int | None = None, scale: float = 1.0, css: str = "trend"
) -> SafeString:
    """The trend chart as an ``<img>`` whose alt text lists every value (screen readers);
    ``scale`` enlarges the same drawing (SVG: no loss, nothing drawn again). With ``patient_pk``
    a chart not drawn yet is linked at the patient's chart address instead of drawn here."""
    if not spec.points:
        return SafeString("")
    name = (spec, scale, css)
    found = _INLINE.get(name)
    if found is not None:
        return found
    alt, digest = _NAMED.made(
        (spec, chart_cache.layout_version()), lambda: (spec.alt_text(), trend_digest(spec))
    )
    if patient_pk is not None:
        svg = drawn_trend_svg(digest)
        if svg is None:
            chart_cache.remember(TREND_SVG, digest, (spec,), patient_pk)
            return _img(alt, _chart_address(patient_pk, digest), scale, css)
    else:
        svg = trend_svg(spec)
    found = _img(alt, svg_data_uri(svg), scale, css)
    _INLINE.put(name, found)
    return found


_NAMED: Kept[tuple[TrendSpec, str], tuple[str, str]] = chart_cache.kept(512)
"""Each chart's alt text and name (``trend_digest``), by spec and drawing code (the name's
``layout_version``): a page shows a domain's lead chart twice (in its table and large), and a
chart not drawn yet is linked on each view until it is (issue 15: the first view after a
reassessment links all 16 of its charts)."""


def _chart_address(patient_pk: int, digest: str) -> str:
    """The patient's address for the chart ``digest`` (``reverse``, about 18 µs), kept for the
    same link on the same page and the next view."""
    return _ADDRESSES.made(
        (patient_pk, digest, get_script_prefix(), get_urlconf()),
        lambda: reverse("patient-chart", args=[patient_pk, digest]),
    )


_ADDRESSES: Kept[tuple[int, str, str, Any], str] = chart_cache.kept(1024)


def _img(alt: str, src: str, scale: float, css: str) -> SafeString:
    return format_html(
        '<img class="{}" src="{}" alt="{}" width="{}" height="{}">',
        css,
        src,
        alt,
        round(CHART_WIDTH_IN * 96 * scale),
        round(CHART_HEIGHT_IN * 96 * scale),
    )


def trend_chart_svg(patient: Patient, digest: str) -> str | None:
    """The SVG of the patient's trend chart named ``digest`` (``chart_img`` links it), drawn now
    if it is not yet; None when none of the patient's charts has that name. The spec comes
    from the page that linked it, else (another worker) from the patient's records again."""
    kept = chart_cache.remembered(TREND_SVG, digest, patient.pk)
    spec = kept[0] if kept is not None else None
    if not isinstance(spec, TrendSpec):
        outcomes: Outcomes = outcomes_context(patient)["outcomes"]
        specs = (r.chart_spec for d in outcomes.domains for r in d.rows if r.chart_spec)
        spec = next((s for s in specs if trend_digest(s) == digest), None)
        if spec is None:
            return None
    return trend_svg(spec)


# --- shaping the evaluation for the template -----------------------------------------------------


_MIC_SHORT = {"reached": "reached", "not_reached": "not reached"}


@dataclass(frozen=True)
class MeasureRow:
    name: str
    unit: str
    exploratory: bool
    baseline: str
    latest: str
    change: str
    mic_status: str
    mic_text: str
    note: str | None
    chart_spec: TrendSpec | None = None
    """The chart's data; the progress report draws the same chart from it."""
    patient_pk: int | None = None
    """Whose chart it is: a page links a chart not drawn yet at the patient's address."""

    @property
    def mic_short(self) -> str:
        """'MCID 2 reached', 'no established MIC', 'no follow-up yet': the short MIC verdict of
        the report's table and the patient page (the full sentence is on the outcomes page)."""
        spec = self.chart_spec
        if spec is not None and spec.mic is not None:
            verdict = _MIC_SHORT.get(self.mic_status, "not evaluable")
            return f"{spec.mic_stated} {verdict}"
        if self.mic_status == "no_established_mic":
            return "no established MIC"
        return self.mic_text

    @property
    def chart(self) -> SafeString:
        """The trend chart when a template first shows it: inline once drawn (cached by its
        data), else linked at the patient's chart address; a caller that never shows it, like
        the progress report's table, pays nothing."""
        if self.chart_spec is None:
            return SafeString("")
        return chart_img(self.chart_spec, patient_pk=self.patient_pk)


def lead_measure(rows: Sequence[MeasureRow]) -> MeasureRow | None:
    """The measure a domain's one chart shows: the first (in the knowledge base's order) with an
    MIC band and a follow-up, else the first with a follow-up, else the first with a value.
    One chart per domain keeps the patient page and the report readable; every measure stays
    in the table beside it."""
    drawn = [r for r in rows if r.chart_spec is not None and r.chart_spec.points]
    followed = [r for r in drawn if r.chart_spec is not None and len(r.chart_spec.points) > 1]
    with_band = [r for r in followed if r.chart_spec is not None and r.chart_spec.mic is not None]
    for group in (with_band, followed, drawn):
        if group:
            return group[0]
    return None


LARGE_CHART_SCALE = 1.6
"""The patient page's one chart per domain is the report's chart drawn 1.6 times larger (SVG
scales without loss): about 500 px wide, its labels as large as the page's small text."""


@dataclass(frozen=True)
class DomainView:
    """One domain's measures as the pages and the report show them. Frozen, rows and all: a
    patient's views are kept by what they are worked out from (``_outcome_domains``) and shared
    by every page that shows them."""

    domain: str
    label: str
    exploratory: bool
    note: str | None
    rows: tuple[MeasureRow, ...] = ()
    about: str | None = None

    @property
    def lead(self) -> MeasureRow | None:
        return lead_measure(self.rows)

    @property
    def lead_chart(self) -> SafeString:
        """The lead measure's chart, large enough to read (the page's one chart per domain)."""
        lead = self.lead
        if lead is None or lead.chart_spec is None:
            return SafeString("")
        return chart_img(
            lead.chart_spec,
            patient_pk=lead.patient_pk,
            scale=LARGE_CHART_SCALE,
            css="trend trend-large",
        )


@dataclass
class VerdictView:
    date: dt.date
    days: int
    status: str
    label: str
    criterion: str | None
    explanation: str


@dataclass
class AdverseEventRow:
    number: int
    date: dt.date
    kind: str
    """The coded kind's label (``AdverseEventKind.label``)."""
    severity: str
    action_taken: str
    point: str | None
    note: str | None = None


@dataclass
class RecordedVisit:
    """One date's stored measurements, voided ones included (they stay visible, marked)."""

    date: dt.date
    measurements: list[tuple[str, Measurement]]


def recorded_visits(rows: Iterable[Measurement], kb: KnowledgeBase) -> list[RecordedVisit]:
    """Every stored measurement by date (``rows`` in date order: a chart's), with its
    instrument's name; the course and the evaluation read only the live ones."""
    by_date: dict[dt.date, list[tuple[str, Measurement]]] = defaultdict(list)
    for m in rows:
        inst = kb.instruments.get(m.instrument)
        by_date[m.measured_on].append((inst.name if inst else m.instrument, m))
    return [RecordedVisit(day, items) for day, items in sorted(by_date.items())]


@dataclass(frozen=True)
class DoneReassessment:
    """A scheduled reassessment that was measured: said by the day it was measured, with its
    planned day when that differs, so a document never dates a visit that has happened later
    than it happened (measured two days early: "2026-05-04 (planned for 2026-05-06)")."""

    planned: dt.date
    measured: dt.date

    def __str__(self) -> str:
        if self.measured == self.planned:
            return self.measured.isoformat()
        return f"{self.measured.isoformat()} (planned for {self.planned.isoformat()})"


def _measured_on(since: dt.date | None, measured: list[dt.date], planned: dt.date) -> dt.date:
    """The first measurement day (``measured``: sorted) that answers a reassessment whose
    window opens on ``since``; ``visit_states`` found one, so the fallback is never used."""
    return next((day for day in measured if since is None or day >= since), planned)


@dataclass
class Outcomes:
    patient: Patient
    baseline_date: dt.date | None = None
    baseline_words: str = ""
    """Which measurements the course is measured from, in words (the page says which)."""
    follow_up_dates: list[dt.date] = field(default_factory=list)
    domains: list[DomainView] = field(default_factory=list)
    verdicts: list[VerdictView] = field(default_factory=list)
    adverse_events: list[AdverseEventRow] = field(default_factory=list)
    adverse_event_counts: list[tuple[str, int]] = field(default_factory=list)
    """(kind label, events) for each coded kind recorded, in the vocabulary's order."""
    attended: int = 0
    """Live sessions of the course up to the day: on the signed plan (``care.queries.on_plan``),
    or every one when there is no signed plan."""
    sessions_logged: int = 0
    """Every live session up to the day, under any plan."""
    planned: int | None = None
    plan_record: PlanRecord | None = None
    """The signed plan in force on the day (``Chart.plan_on``), whose schedule the counts read."""
    planned_to_date: int | None = None
    reassessments_planned: list[dt.date] = field(default_factory=list)
    """Scheduled reassessments still ahead (not measured, date not yet come)."""
    reassessments_done: list[DoneReassessment] = field(default_factory=list)
    """Scheduled reassessments measured in their window (``care.status.visit_states``), each
    with the day it was measured."""
    reassessments_due: list[dt.date] = field(default_factory=list)
    """Scheduled reassessments whose date has come without a measurement."""
    next_session: dt.date | None = None
    """The first planned session not yet logged whose date is today or later."""
    sessions_overdue: int = 0
    last_measured: dt.date | None = None
    """The latest live measurement up to the day."""
    sessions_on_plan: int = 0
    """Live sessions logged on the signed plan up to the day (what its schedule is read by)."""
    sources: list[Source] = field(default_factory=list)
    error: str | None = None
    records: list[RecordedVisit] = field(default_factory=list)
    voided_count: int = 0

    @property
    def earlier_sessions(self) -> int:
        """Live sessions up to the day under an earlier plan than the signed one."""
        return self.sessions_logged - self.attended

    @property
    def charted(self) -> list[DomainView]:
        """The five domains with a measure to chart (the patient page's one chart each)."""
        return [d for d in self.domains if d.domain != "other" and d.lead is not None]

    @property
    def unmeasured(self) -> list[DomainView]:
        """The five domains with nothing measured: named, never drawn as an empty chart."""
        return [d for d in self.domains if d.domain != "other" and d.lead is None]


_VERDICT_LABELS = {
    "responder": "Responder",
    "non_responder": "Non-responder",
    "not_evaluable": "Not evaluable",
}
_CRITERION_LABELS = {
    "high_improvement": "high improvement in pain or function",
    "domains_improved": "improvement in at least two domains",
}


def _about(kb: KnowledgeBase, domain: Domain | None) -> str | None:
    """The domain's plain statement of what measures it (``instruments.toml`` [[domain]])."""
    info = kb.domains.get(domain) if domain is not None else None
    return info.about if info is not None else None


def _series(
    evaluation: Evaluation,
) -> dict[tuple[str, str], list[tuple[dt.date, float]]]:
    series: dict[tuple[str, str], dict[dt.date, float]] = defaultdict(dict)
    for fu in evaluation.follow_ups:
        for group in fu.domains:
            for m in group.measures:
                key = (m.instrument, m.subscale)
                if m.baseline is not None:
                    series[key][evaluation.baseline_date] = m.baseline
                if m.follow_up is not None:
                    series[key][fu.date] = m.follow_up
    return {k: sorted(v.items()) for k, v in series.items()}


def _spec(
    kb: KnowledgeBase,
    instrument: str,
    subscale: str,
    points: list[tuple[dt.date, float]],
    mic: MicCheck | None = None,
    no_band_text: str = "no established MIC",
) -> TrendSpec:
    """The chart's data: the subscale's scale and direction, the MIC the core applied."""
    inst = kb.instruments[instrument]
    sub = next(s for s in inst.subscales if s.id == subscale)
    given = mic is not None and mic.kind is not None
    threshold = mic.threshold if given and mic is not None else None
    return TrendSpec(
        title=sub.name,
        unit=sub.unit,
        low=sub.range_min,
        high=sub.range_max,
        higher_is_better=sub.direction is Direction.HIGHER_IS_BETTER,
        points=tuple(points),
        mic=threshold,
        mic_label=(mic.kind or "mic").upper() if mic is not None else "MIC",
        mic_relative=mic.relative_percent if given and mic is not None else None,
        mic_applied=mic.applied if given and mic is not None else None,
        exploratory=inst.exploratory or sub.exploratory,
        no_band_text=no_band_text,
        decimals=sub.decimals,
    )


def _domains_from_evaluation(
    kb: KnowledgeBase, evaluation: Evaluation, patient_pk: int | None = None
) -> list[DomainView]:
    latest = evaluation.follow_ups[-1]
    series = _series(evaluation)
    views = []
    for group in latest.domains:
        domain = group.domain
        # From the measures, not the stored group's flags: an evaluation stored before the
        # rule was one (``domain_label``) is labelled as a new one is.
        exploratory, note = domain_label(kb, domain, [m.exploratory for m in group.measures])
        rows = []
        for m in group.measures:
            spec = _spec(
                kb, m.instrument, m.subscale, series.get((m.instrument, m.subscale), []), m.mic
            )
            rows.append(
                MeasureRow(
                    name=m.name,
                    unit=m.unit,
                    exploratory=m.exploratory,
                    baseline=format_number(m.baseline, spec.decimals),
                    latest=format_number(m.follow_up, spec.decimals),
                    change=format_number(m.change, spec.decimals, signed=True),
                    mic_status=m.mic.status,
                    mic_text=m.mic.text,
                    note=m.note,
                    chart_spec=spec,
                    patient_pk=patient_pk,
                )
            )
        views.append(
            DomainView(
                domain=domain.value if domain else "other",
                label=domain.value.title() if domain else "Other measures",
                exploratory=exploratory,
                note=note,
                rows=tuple(rows),
                about=_about(kb, domain),
            )
        )
    return views


def _domains_at_baseline(
    kb: KnowledgeBase, course: Course, patient_pk: int | None = None
) -> list[DomainView]:
    """Before any follow-up: the baseline values only, grouped as ``evaluate`` groups them."""
    rows: dict[Domain | None, list[MeasureRow]] = {d: [] for d in [*Domain, None]}
    day = course.baseline.date
    for instrument, answers in course.baseline.measurements.items():
        scores = score(instrument, answers, kb)
        inst = kb.instruments[instrument]
        for sub in inst.subscales:
            value = scores.value(sub.id)
            if scores.subscales[sub.id].answered == 0:
                continue
            points = [(day, value)] if value is not None else []
            spec = _spec(kb, instrument, sub.id, points, no_band_text="no follow-up yet")
            rows[sub.domain].append(
                MeasureRow(
                    name=sub.name,
                    unit=sub.unit,
                    exploratory=inst.exploratory or sub.exploratory,
                    baseline=format_number(value, sub.decimals),
                    latest="—",
                    change="—",
                    mic_status="not_evaluable",
                    mic_text="no follow-up yet",
                    note=scores.subscales[sub.id].note,
                    chart_spec=spec,
                    patient_pk=patient_pk,
                )
            )
    views = []
    for domain, found in rows.items():
        if domain is None and not found:
            continue
        exploratory, note = domain_label(kb, domain, [r.exploratory for r in found])
        views.append(
            DomainView(
                domain=domain.value if domain is not None else "other",
                label=domain.value.title() if domain is not None else "Other measures",
                exploratory=exploratory,
                note=note,
                rows=tuple(found),
                about=_about(kb, domain) if domain is not None else None,
            )
        )
    return views


def _adverse_events(sessions: list[ChartSession], chart: Chart) -> list[AdverseEventRow]:
    """The sessions' adverse events, each from its session's validated record. A session whose
    stored record lists none (most; ``Chart.sessions``' ``adverse_events``) is neither read nor
    validated: reading and validating every session cost every patient and outcomes page more
    with every session (issue 15)."""
    rows = []
    listing = [s for s in sessions if s.adverse_events]
    for s, record in zip(listing, chart.session_records(listing), strict=True):
        for a in record.adverse_events:
            rows.append(
                AdverseEventRow(
                    number=s.number,
                    date=s.session_date,
                    kind=a.kind.label,
                    severity=a.severity.value,
                    action_taken=a.action_taken,
                    point=a.point,
                    note=a.note,
                )
            )
    return rows


def _counts_by_kind(rows: list[AdverseEventRow]) -> list[tuple[str, int]]:
    """How many events of each coded kind, so a course's adverse events can be counted."""
    counts = Counter(r.kind for r in rows)
    return [(k.label, counts[k.label]) for k in AdverseEventKind if counts[k.label]]


_CourseViews = tuple[Evaluation | None, tuple[DomainView, ...]]
"""A course's evaluation (None before a follow-up) and its domains as the pages show them."""


def _course_views(kb: KnowledgeBase, course: Course, patient_pk: int) -> _CourseViews:
    """The course evaluated by the core (None before a follow-up) and its domains as the pages
    show them, kept by the course's content, the patient and the rules: the patient page and
    the outcomes page show them on every view, and working them out again was 0.4-1.2 ms a page
    (issue 15). ``evaluate`` and the views read nothing but these (the core never reads the
    clock), so a new measurement, a voided one or another baseline is another key. Raises as
    ``evaluate`` and ``score`` do, and keeps nothing then."""

    def views() -> _CourseViews:
        if not course.follow_ups:
            return None, tuple(_domains_at_baseline(kb, course, patient_pk))
        evaluation = evaluate(course, kb)
        return evaluation, tuple(_domains_from_evaluation(kb, evaluation, patient_pk))

    return _COURSE_VIEWS.made_with(kb, (patient_pk, course.model_dump_json()), views)


_COURSE_VIEWS: Kept[tuple[int, str], tuple[object, _CourseViews]] = Kept(256)
"""Per patient and course content: the rules it was worked out by (held, so their id is not
reused), the evaluation and the domains' views (4-5 kB pickled for a demo patient before a
follow-up; more with each follow-up's series)."""


def outcomes_context(
    patient: Patient,
    kb: KnowledgeBase | None = None,
    today: dt.date | None = None,
    chart: Chart | None = None,
) -> dict[str, Any]:
    """Context for ``pages/_outcomes_section.html``, under the key ``outcomes``; ``chart``: the
    patient's records when the page has read them already (``care.chart``)."""
    kb = kb or load_knowledge()
    today = today or timezone.localdate()
    chart = chart or chart_of(patient)
    view = Outcomes(patient=patient)
    sessions = chart.sessions_until(today)
    view.attended = len(sessions)
    view.sessions_logged = len(sessions)
    view.adverse_events = _adverse_events(sessions, chart)
    view.adverse_event_counts = _counts_by_kind(view.adverse_events)
    record, plan = chart.plan_on(today)
    view.plan_record = record
    view.records = recorded_visits(chart.measurements, kb)
    measured = [
        v.date
        for v in view.records  # in date order
        if v.date <= today and any(not m.is_voided for _, m in v.measurements)
    ]
    view.last_measured = max(measured, default=None)
    if record is not None and plan is not None:
        view.planned = plan.number_of_sessions
        view.planned_to_date = sum(
            1 for v in plan.schedule if v.kind == "session" and v.date <= today
        )
        view.sessions_on_plan = view.attended = len(on_plan(sessions, record))
        states = visit_states(
            plan,
            record.start_date,
            sessions_done=view.sessions_on_plan,
            last_measured=view.last_measured,
            today=today,
        )
        reassessments = [v for v in states if v.kind == "reassessment"]
        view.reassessments_planned = [v.date for v in reassessments if v.state == "planned"]
        view.reassessments_done = [
            DoneReassessment(v.date, _measured_on(v.since, measured, v.date))
            for v in reassessments
            if v.state == "done"
        ]
        view.reassessments_due = [v.date for v in reassessments if v.state == "due"]
        ahead = [v.date for v in states if v.kind == "session" and v.state == "planned"]
        view.next_session = ahead[0] if ahead else None
        view.sessions_overdue = sum(1 for v in states if v.kind == "session" and v.state == "due")
    view.voided_count = sum(1 for v in view.records for _, m in v.measurements if m.is_voided)
    found = chart.course(today)
    if found is not None:
        course = found.course
        view.baseline_date = course.baseline.date
        view.baseline_words = found.baseline.words
        view.follow_up_dates = [v.date for v in course.follow_ups]
        try:
            evaluation, domains = _course_views(kb, course, patient.pk)
            view.domains = list(domains)
            if evaluation is not None:
                view.sources = list(evaluation.sources)
                view.verdicts = [
                    VerdictView(
                        date=fu.date,
                        days=fu.days_from_baseline,
                        status=fu.oarsi.status,
                        label=_VERDICT_LABELS[fu.oarsi.status],
                        criterion=_CRITERION_LABELS.get(fu.oarsi.criterion or ""),
                        explanation=fu.oarsi.explanation,
                    )
                    for fu in evaluation.follow_ups
                ]
        except (InvalidInput, InvalidInputs) as exc:
            view.error = f"The stored measurements could not be evaluated: {exc}"
    return {"outcomes": view}
