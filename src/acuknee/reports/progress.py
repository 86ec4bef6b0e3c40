"""The patient progress report: one template, rendered as an HTML page and as a PDF.

``build_patient_report(patient)`` gathers what the report shows; every judgement in it comes
from the clinical core through the clinic app's own adapters (``outcomes_context`` for the
five-domain evaluation, MIC and OMERACT-OARSI verdicts; the stored ``Assessment`` for cause and
classification; the signed ``Plan`` for points and schedule). This module arranges, it does not
decide. The charts are drawn by ``acuknee.reports.charts`` (the same charts as the outcomes
page); the knee diagrams by ``acuknee.reports.diagrams``.

``render_patient_report(report)`` gives the HTML; ``html_to_pdf(html)`` prints it with
WeasyPrint. WeasyPrint fetches nothing from the network: its URL fetcher serves ``data:`` images
and the package's own static files, and refuses everything else (``ReportError``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gc
import hashlib
import io
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote, urlparse

from django.template.loader import render_to_string
from django.utils import timezone

from acuknee.care.queries import INTAKE_ORDER, live
from acuknee.care.status import Overview, overview_of, status_from
from acuknee.clinical import KnowledgeBase, Plan, load_knowledge
from acuknee.clinical.assessment import Assessment, CriteriaResult
from acuknee.clinical.response import domain_exploratory
from acuknee.clinical.vocabulary import Domain, Side
from acuknee.records.models import Clinic, IntakeRecord, Patient, PlanRecord
from acuknee.reports.charts import (
    GlanceRow,
    GlanceSpec,
    TrendSpec,
    glance_data_uri,
    trend_data_uri,
)
from acuknee.reports.diagrams import (
    VIEWS,
    DiagramError,
    is_local,
    knee_diagram,
    point_label,
    views_showing,
)
from acuknee.reports.outcomes import (
    DomainView,
    Outcomes,
    lead_measure,
    outcomes_context,
)
from acuknee.reports.style import svg_data_uri

__all__ = [
    "PatientReport",
    "ReportError",
    "build_patient_report",
    "html_to_pdf",
    "render_patient_report",
]

DISCLAIMER = "Decision support; not a diagnosis"
"""Printed in every page header of every report."""


class ReportError(Exception):
    """A report cannot be made (unknown record, a resource outside the package, ...)."""


# --- what the report shows -----------------------------------------------------------------------


@dataclass
class Image:
    """An image embedded as a ``data:`` address, with its alt text."""

    src: str
    alt: str
    caption: str = ""


@dataclass
class MeasureLine:
    """One measure of a domain in the report's table: values and a short MIC verdict."""

    name: str
    unit: str
    baseline: str
    latest: str
    change: str
    mic: str
    mic_status: str
    exploratory: bool


@dataclass
class DomainCharts:
    """One domain: its chart (the lead measure) and every measure as a table row."""

    domain: str
    label: str
    exploratory: bool
    note: str | None
    lead: str | None
    chart: Image | None
    measures: list[MeasureLine]


@dataclass
class Classification:
    name: str
    result: str


@dataclass
class PatientReport:
    """Everything the progress report template shows, computed once for HTML and PDF alike."""

    patient: Patient
    clinic: Clinic
    today: dt.date
    age: int
    status: str
    status_label: str
    intake: IntakeRecord | None = None
    assessment: Assessment | None = None
    cause: str | None = None
    classifications: list[Classification] = field(default_factory=list)
    plan_record: PlanRecord | None = None
    plan: Plan | None = None
    knees: list[tuple[str, list[Image]]] = field(default_factory=list)
    distal_points: list[str] = field(default_factory=list)
    diagram_error: str | None = None
    outcomes: Outcomes | None = None
    domains: list[DomainCharts] = field(default_factory=list)
    glance: GlanceSpec | None = None
    """The figure page 1 leads with: the five domains in units of their MIC."""
    glance_image: Image | None = None
    next_steps: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER

    @property
    def sessions_text(self) -> str:
        """'5 of 10 planned', the line the report and its tests read."""
        o = self.outcomes
        if o is None:
            return "0"
        text = f"{o.attended} of {o.planned} planned" if o.planned else f"{o.attended}"
        if o.earlier_sessions:
            text += f"; {o.earlier_sessions} more under an earlier plan"
        return text


def _label(value: str) -> str:
    return value.replace("_", " ")


def _criteria(name: str, result: CriteriaResult | None) -> Classification | None:
    if result is None:
        return None
    if result.classified is None:
        verdict = "not decidable (findings missing)"
    else:
        verdict = "criteria met" if result.classified else "criteria not met"
    counts = f"{result.met_count} items met, {result.required_count} required"
    return Classification(name=name or result.name, result=f"{verdict}; {counts}")


def _classifications(assessment: Assessment) -> list[Classification]:
    rows = [
        _criteria(assessment.acr_clinical.name, assessment.acr_clinical),
        _criteria("", assessment.acr_clinical_laboratory),
        _criteria("", assessment.acr_clinical_radiographic),
        _criteria(assessment.nice.name, assessment.nice),
    ]
    out = [r for r in rows if r is not None]
    if assessment.kellgren_lawrence_grade is not None:
        out.append(
            Classification("Kellgren-Lawrence grade", str(assessment.kellgren_lawrence_grade))
        )
    if assessment.severity is not None:
        out.append(
            Classification(
                "Severity", f"{_label(assessment.severity.value)} ({assessment.severity_basis})"
            )
        )
    return out


_HALO = re.compile(r'(<text\b[^>]*?) stroke="#ffffff" stroke-width="[\d.]+" paint-order="stroke"')


def without_halo(svg: str) -> str:
    """The diagram's point labels without their white halo. The halo is a white stroke painted
    under the text (``paint-order``); WeasyPrint ignores ``paint-order`` and paints the stroke
    over the letters, which then vanish. Dark text on the pale skin reads well without it."""
    return _HALO.sub(r"\1", svg)


def _views_with_points(plan: Plan, side: Side) -> set[str]:
    """The views that show at least one of the plan's points on ``side``: an empty view costs
    the PDF a quarter of its knee-drawing time and tells the reader nothing."""
    codes = [p.code for p in plan.points if side in p.side.single_sides()]
    return {view for code in codes for view in views_showing(code)}


def _diagrams(report: PatientReport, plan: Plan, kb: KnowledgeBase, for_print: bool) -> None:
    """Static knee diagrams of each treated knee, and the distal points as a list."""
    sides: list[Side] = []
    for planned in plan.points:
        sides += [s for s in planned.side.single_sides() if s not in sides]
    sides.sort(key=lambda s: s is Side.LEFT)  # the right knee first, as everywhere else
    try:
        for side in sides:
            images = [
                Image(
                    src=svg_data_uri(
                        (without_halo if for_print else str)(
                            knee_diagram(
                                plan.points,
                                view,
                                side,
                                kb,
                                interactive=False,
                                list_distal=False,
                                id_prefix=f"{side.value}-{view}",
                            )
                        )
                    ),
                    alt=f"{side.value.capitalize()} knee, {view} view, with the planned points",
                    caption=view.capitalize(),
                )
                for view in VIEWS
                if view in _views_with_points(plan, side)
            ]
            report.knees.append((f"{side.value.capitalize()} knee", images))
    except DiagramError as exc:
        report.diagram_error = str(exc)
        report.knees = []
    for planned in plan.points:
        point = kb.points[planned.code]
        if not is_local(point, kb):
            report.distal_points.append(f"{point_label(point)} ({planned.side.value})")


def _chart_image(spec: TrendSpec | None, raster: bool) -> Image | None:
    if spec is None or not spec.points:
        return None
    return Image(src=trend_data_uri(spec, raster=raster), alt=spec.alt_text())


def _domains(views: list[DomainView], raster: bool) -> list[DomainCharts]:
    out = []
    for d in views:
        lead = lead_measure(d.rows)
        out.append(
            DomainCharts(
                domain=d.domain,
                label=d.label,
                exploratory=d.exploratory,
                note=d.note,
                lead=lead.name if lead else None,
                chart=_chart_image(lead.chart_spec, raster) if lead else None,
                measures=[
                    MeasureLine(
                        name=r.name,
                        unit=r.unit,
                        baseline=r.baseline,
                        latest=r.latest,
                        change=r.change,
                        mic=r.mic_short,
                        mic_status=r.mic_status,
                        exploratory=r.exploratory,
                    )
                    for r in d.rows
                ],
            )
        )
    return out


def _glance_row(
    view: DomainView | None, domain: Domain, outcomes: Outcomes, kb: KnowledgeBase
) -> GlanceRow:
    """The domain's first measure (knowledge-base order) at the latest follow-up. Every number
    is read from the core's evaluation as the outcomes view carries it: the values at baseline
    and at the latest follow-up (the chart's points) and the MIC the core applied (the chart's
    band); the improvement is their difference in the measure's good direction, as the core
    defines it."""
    label = view.label if view is not None else domain.value.title()
    exploratory = view.exploratory if view is not None else domain_exploratory(kb, domain)
    row = view.rows[0] if view is not None and view.rows else None
    spec = row.chart_spec if row is not None else None
    if row is None or spec is None or not spec.points:
        return GlanceRow(domain=label, state="not_measured", exploratory=exploratory)
    common: dict[str, Any] = {
        "domain": label,
        "measure": row.name,
        "unit": row.unit,
        "higher_is_better": spec.higher_is_better,
        "exploratory": exploratory,
        "decimals": spec.decimals,
    }
    values = dict(spec.points)
    base = values.get(outcomes.baseline_date) if outcomes.baseline_date else None
    latest_day = outcomes.follow_up_dates[-1] if outcomes.follow_up_dates else None
    latest = values.get(latest_day) if latest_day is not None else None
    if base is None or latest is None:
        return GlanceRow(state="no_follow_up", **common)
    change = latest - base
    improvement = change if spec.higher_is_better else -change
    if spec.mic is None:
        return GlanceRow(state="no_mic", change=change, improvement=improvement, **common)
    return GlanceRow(
        state="ratio",
        change=change,
        improvement=improvement,
        mic=spec.band_width,
        mic_label=spec.mic_label,
        mic_text=spec.mic_from_baseline,
        **common,
    )


def _glance(outcomes: Outcomes, kb: KnowledgeBase) -> GlanceSpec:
    """The five domains in the seed article's order, and the latest OMERACT-OARSI verdict."""
    views = {d.domain: d for d in outcomes.domains}
    rows = tuple(_glance_row(views.get(d.value), d, outcomes, kb) for d in Domain)
    if outcomes.verdicts:
        last = outcomes.verdicts[-1]
        title = f"At a glance: OMERACT-OARSI {last.label.lower()} at {last.date.isoformat()}"
    elif outcomes.baseline_date is not None:
        title = "At a glance: no follow-up yet, so no OMERACT-OARSI verdict"
    else:
        title = "At a glance: no measurements yet"
    return GlanceSpec(title=title, rows=rows)


def glance_caption(report: PatientReport) -> str:
    """The words under the figure (also what a PDF's text extraction finds on page 1)."""
    o = report.outcomes
    if o is None or not o.follow_up_dates:
        return (
            "Change from baseline on each domain's first measure, once a follow-up is recorded; "
            "no verdict before then."
        )
    return (
        f"Improvement from baseline ({o.baseline_date}) to the latest follow-up "
        f"({o.follow_up_dates[-1]}) on each domain's first measure, as a multiple of its "
        "minimal important change (MIC): at 1.0 the MIC is reached. Measures without an "
        "established MIC show their raw change instead."
        + (f" OMERACT-OARSI verdict: {o.verdicts[-1].label}." if o.verdicts else "")
    )


def _dates(days: list[dt.date]) -> str:
    return ", ".join(day.isoformat() for day in days)


def _next_steps(report: PatientReport) -> list[str]:
    """What is scheduled and what is due, from the plan compared with the records as of the
    report's date (``care.status.visit_states``): a visit that happened is never "planned",
    even when it happened before its planned date. No clinical advice."""
    steps: list[str] = []
    o = report.outcomes
    plan = report.plan
    if report.status == "referred":
        steps.append("Referred: see the referral letter; acupuncture waits for that assessment.")
    if plan is None or o is None:
        steps.append("No signed plan yet.")
        return steps
    if o.planned:
        left = max(o.planned - o.sessions_on_plan, 0)
        steps.append(f"Sessions remaining: {left} of {o.planned}.")
    if o.sessions_overdue:
        n = o.sessions_overdue
        steps.append(
            f"{n} planned session{'s' if n > 1 else ''} passed without a logged session: "
            "rebook or log it."
        )
    if o.next_session is not None:
        when = " (today)" if o.next_session == report.today else ""
        steps.append(f"Next session planned: {o.next_session.isoformat()}{when}.")
    if o.reassessments_done:
        steps.append(f"Reassessment done: {', '.join(map(str, o.reassessments_done))}.")
    if o.reassessments_due:
        steps.append(
            f"Reassessment due since {_dates(o.reassessments_due)}: "
            "record the follow-up measurements."
        )
    if o.reassessments_planned:
        steps.append(f"Reassessment planned: {_dates(o.reassessments_planned)}.")
    if report.status == "completed":
        steps.append("Course completed: review the verdicts above with the practitioner.")
    if o.verdicts:
        last = o.verdicts[-1]
        steps.append(f"Latest OMERACT-OARSI verdict ({last.date.isoformat()}): {last.label}.")
    return steps


def _status_on(patient: Patient, outcomes: Outcomes, today: dt.date) -> Patient.Status:
    """The patient's status from the records up to ``today`` (the same rules as everywhere,
    ``care.status.status_from``), so a report dated in the past describes that day."""
    record = outcomes.plan_record
    facts = Overview(
        referral_open=overview_of(patient).referral_open,
        plan_content=record.content if record is not None else None,
        plan_start=record.start_date if record is not None else None,
        sessions_done=outcomes.sessions_on_plan,
        last_measured=outcomes.last_measured,
    )
    return status_from(facts, today)


def build_patient_report(
    patient: Patient,
    *,
    today: dt.date | None = None,
    kb: KnowledgeBase | None = None,
    for_print: bool = False,
) -> PatientReport:
    """Gather the progress report of ``patient`` as of ``today`` (``for_print``: charts as
    PNG, which WeasyPrint embeds far faster than it lays out SVG text)."""
    kb = kb or load_knowledge()
    today = today or timezone.localdate()
    outcomes: Outcomes = outcomes_context(patient, kb, today)["outcomes"]
    status = _status_on(patient, outcomes, today)
    report = PatientReport(
        patient=patient,
        clinic=patient.clinic,
        today=today,
        age=patient.age_on(today),
        status=status.value,
        status_label=str(status.label),
    )
    intake = cast(
        IntakeRecord | None,
        live(patient.intakes.filter(visit_date__lte=today)).order_by(*INTAKE_ORDER).first(),
    )
    if intake is not None:
        report.intake = intake
        report.assessment = Assessment.model_validate(intake.assessment)
        report.cause = report.assessment.likely_cause.phrase
        report.classifications = _classifications(report.assessment)
    record = outcomes.plan_record
    if record is not None:
        report.plan_record = record
        report.plan = Plan.model_validate(record.content)
        if report.plan.status != "refused" and report.plan.points:
            _diagrams(report, report.plan, kb, for_print)
    report.outcomes = outcomes
    report.domains = _domains(outcomes.domains, raster=for_print)
    report.glance = _glance(outcomes, kb)
    report.glance_image = Image(
        src=glance_data_uri(report.glance, raster=for_print),
        alt=report.glance.alt_text(),
        caption=glance_caption(report),
    )
    report.next_steps = _next_steps(report)
    return report


# --- rendering -----------------------------------------------------------------------------------


def render_patient_report(report: PatientReport, *, for_print: bool = False) -> str:
    """The report as an HTML document (``for_print``: without the on-screen links)."""
    context = {
        "report": report,
        "for_print": for_print,
        "synthetic": report.patient.synthetic,
        "disclaimer": DISCLAIMER,
    }
    return render_to_string("reports/patient_report.html", context)


def _mime(path: str) -> str:
    if path.endswith(".css"):
        return "text/css"
    if path.endswith(".svg"):
        return "image/svg+xml"
    if path.endswith(".png"):
        return "image/png"
    return "application/octet-stream"


def _package_fetcher(pictures: Mapping[str, tuple[str, bytes]] | None = None) -> Any:
    """WeasyPrint's URL fetcher for reports: ``data:`` and the package's static files only,
    never the network (no CDN at run time, no request to an address a record might contain).
    ``pictures``: the report's own ``data:`` pictures, taken out of its HTML by
    ``_pictures_apart``, by the addresses put in their place. Anything else stops the
    rendering with ``ReportError``'s message."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    prefix = static("")
    held = pictures or {}

    class PackageFetcher(URLFetcher):  # weasyprint is untyped: Any
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url in held:
                mime, body = held[url]
                return URLFetcherResponse(url, body, {"Content-Type": mime})
            path = unquote(urlparse(url).path)
            if prefix and path.startswith(prefix):
                found = finders.find(path[len(prefix) :])
                if isinstance(found, str):
                    with open(found, "rb") as handle:
                        body = handle.read()
                    return URLFetcherResponse(url, body, {"Content-Type": _mime(found)})
            raise ReportError(f"a report uses only data: images and packaged files, not {url}")

    return PackageFetcher(allowed_protocols=("data", "http"), fail_on_errors=True)


_BASE_URL = "http://acuknee.invalid/"
"""Relative links in a report resolve here; the fetcher serves only packaged files for it."""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while WeasyPrint prints a report.

    WeasyPrint allocates a few hundred thousand objects a report (boxes, styles, text runs);
    with the collector on they set off about 50 young collections and, every second or third
    report, a full one that walks every object of the process (Django, matplotlib, WeasyPrint:
    over 200,000), 0.1 to 0.15 s each. Measured on the demo's progress report: 50 ms of CPU a
    report on average and up to 150 ms on one, for garbage that is freed anyway when the
    collector runs again after the report (about 1 MiB more at the peak). Held off for the
    report only, and never left off: a report that found it off (another thread's report)
    leaves turning it back on to the one that turned it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_STYLESHEET = "reports/report.css"
"""The reports' one stylesheet (the page, the header and the page numbers of every PDF)."""

_PRINTING = threading.local()
"""Per thread: WeasyPrint's font configuration and the stylesheet, parsed (``_print_tools``)."""


def _print_tools(html: str) -> tuple[str, Any, list[Any]]:
    """The HTML without its link to the reports' stylesheet, the thread's font configuration
    and that stylesheet parsed once (reused while its text is unchanged).

    Unless told otherwise WeasyPrint starts every document afresh: a new Fontconfig
    configuration and Pango font map (fonts loaded and shaping caches filled again) and the
    linked stylesheet fetched, parsed and compiled again. Together about 25 ms of a progress
    report's 300 (measured, CPU). The parsed stylesheet is applied as a user stylesheet: the
    same rules, and the reports have no author styles for it to lose to (no ``<style>`` or
    ``style=`` under the Content-Security-Policy). Kept per thread, as WeasyPrint does not
    promise that Pango's font map may be shared between threads."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = getattr(_PRINTING, "font_config", None)
    if font_config is None:
        font_config = _PRINTING.font_config = FontConfiguration()
        _PRINTING.sheets = {}
    link = f'<link rel="stylesheet" href="{static(_STYLESHEET)}">'
    found = finders.find(_STYLESHEET)
    if link not in html or not isinstance(found, str):
        return html, font_config, []
    with open(found, "rb") as handle:
        text = handle.read()
    key = hashlib.sha256(text).hexdigest()
    sheets: dict[str, Any] = _PRINTING.sheets
    if key not in sheets:
        sheets.clear()  # the file changed (development): the old rules are of no more use
        sheets[key] = CSS(string=text.decode("utf-8"), font_config=font_config)
    return html.replace(link, "", 1), font_config, [sheets[key]]


_DATA_PICTURE = re.compile(r'src="data:(image/(?:png|jpeg|svg\+xml));base64,([A-Za-z0-9+/=]+)"')
"""An ``<img>``'s ``data:`` picture as the report templates write it (``src`` in double quotes:
a quote in the report's text is escaped, so text never matches)."""


def _pictures_apart(html: str) -> tuple[str, dict[str, tuple[str, bytes]]]:
    """The HTML with each ``data:`` picture replaced by a short address, and the pictures
    (type and bytes) by those addresses, for the fetcher to serve.

    WeasyPrint's HTML parser reads an attribute character by character: on the progress
    report's 170 KB of base64 pictures it spends 4% of the report's instructions (valgrind;
    8 to 11 ms of CPU), against well under a millisecond to find and decode them here. The HTML
    a report hands over stays self-contained (a page, a file, a test can read it); only the
    printing takes the pictures apart."""
    pictures: dict[str, tuple[str, bytes]] = {}
    addresses: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        address = addresses.get(match.group(0))
        if address is None:
            try:
                body = base64.b64decode(match.group(2), validate=True)
            except binascii.Error:
                return match.group(0)  # left to WeasyPrint, which reports it as it would
            address = addresses[match.group(0)] = f"{_BASE_URL}picture/{len(addresses)}"
            pictures[address] = (match.group(1), body)
        return f'src="{address}"'

    return _DATA_PICTURE.sub(swap, html), pictures


def html_to_pdf(html: str) -> bytes:
    """Print an HTML report to PDF with WeasyPrint (A4, page numbers from the print CSS)."""
    from weasyprint import HTML

    buffer = io.BytesIO()
    from weasyprint.urls import FatalURLFetchingError

    with _collector_paused():
        html, font_config, stylesheets = _print_tools(html)
        html, pictures = _pictures_apart(html)
        fetcher = _package_fetcher(pictures)
        document = HTML(string=html, base_url=_BASE_URL, url_fetcher=fetcher)
        try:
            document.write_pdf(buffer, font_config=font_config, stylesheets=stylesheets)
        except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: name the resource
            cause = exc.__cause__
            raise ReportError(str(cause) if isinstance(cause, ReportError) else str(exc)) from exc
    return buffer.getvalue()


def patient_report_pdf(patient: Patient, *, today: dt.date | None = None) -> bytes:
    """The progress report of ``patient`` as PDF bytes."""
    report = build_patient_report(patient, today=today, for_print=True)
    return html_to_pdf(render_patient_report(report, for_print=True))
