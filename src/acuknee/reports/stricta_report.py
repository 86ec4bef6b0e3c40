"""STRICTA methods for one patient's course or for a clinic's use of one protocol.

The items themselves come from the core (``acuknee.clinical.stricta``, MacPherson et al. 2010,
PLoS Med 7:e1000261); this module only gathers what the core needs from the database, adds what
the clinic knows (the setting, the practitioners' recorded training) and turns the result into a
document a researcher can use: the items as a table, a methods paragraph to paste into a paper,
and a numbered reference list.

Sources are cited by short citation ("Jensen et al. 1999"), never by the knowledge base's raw ids:
a plan's rationale ends with "Sources: proto_jensen1999, ...", which ``resolve_sources`` rewrites.

For a protocol, the sessions of every course on it are pooled: the needling items (2a-2g) then
describe all sessions the clinic gave on that protocol, while the regimen (3a, 3b) is counted per
patient (a pooled "number of sessions" would mean nothing) and the rationale, style and
variation (1a-1c) come from the protocol as the knowledge base defines it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from acuknee.care.queries import SIGNED_ORDER, live, signed_plan
from acuknee.care.queries import today as clinic_today
from acuknee.clinical import KnowledgeBase, Plan, SessionRecord, load_knowledge, stricta
from acuknee.clinical.knowledge import Source
from acuknee.clinical.numbers import format_number
from acuknee.clinical.planning import PlannedPoint
from acuknee.clinical.sessions import adverse_events_text
from acuknee.clinical.stricta import StrictaContext, StrictaItem, StrictaReport
from acuknee.clinical.vocabulary import Side
from acuknee.records.models import Clinic, Patient, PlanRecord, TreatmentSession

_SOURCES_SENTENCE = re.compile(r"\s*Sources?:\s*([A-Za-z0-9_\-,\s]+?)\.(?=\s|$)")
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
_AUTHOR = re.compile(r"^([A-ZÀ-Ý][\w'’\-]+(?:[ -][A-ZÀ-Ý][\w'’\-]+)?) [A-Z]{1,3}[,.]")


class NothingToReport(LookupError):
    """No signed plan (patient) or unknown protocol: there is nothing STRICTA could describe."""


def short_citation(source: Source) -> str:
    """ "Jensen et al. 1999" from "Jensen R, et al. ... 1999 ..." ("Li and Wu 2022" for two
    authors); an organisation's document keeps its first sentence (shortened) and year."""
    text = source.citation.strip()
    year_match = _YEAR.search(text)
    year = year_match.group(0) if year_match else ""
    head = text.split(". ", 1)[0]
    author = _AUTHOR.match(text)
    if author:
        names = [a.strip() for a in head.split(",") if a.strip()]
        if "et al" in head or len(names) > 2:
            who = f"{author.group(1)} et al."
        elif len(names) == 2 and (second := _AUTHOR.match(names[1] + ",")):
            who = f"{author.group(1)} and {second.group(1)}"
        else:
            who = author.group(1)
        return f"{who} {year}".strip()
    first = head.rstrip(".")
    if len(first) > 60:
        first = first[:57].rsplit(" ", 1)[0] + "…"
    return first if not year or year in first else f"{first} {year}"


@dataclass
class References:
    """Sources in order of first citation, numbered from 1, with their short citations."""

    kb: KnowledgeBase
    ids: list[str] = field(default_factory=list)

    def cite(self, source_ids: Iterable[str]) -> str:
        """ "Jensen et al. 1999 [1]; Näslund et al. 2002 [2]" (unknown ids are kept as they are,
        so nothing silently disappears)."""
        parts = []
        for sid in source_ids:
            source = self.kb.sources.get(sid)
            if source is None:
                parts.append(sid)
                continue
            if sid not in self.ids:
                self.ids.append(sid)
            parts.append(f"{short_citation(source)} [{self.ids.index(sid) + 1}]")
        return "; ".join(dict.fromkeys(parts))

    def listing(self) -> list[tuple[int, str, str | None]]:
        """(number, full citation, url) for the reference list."""
        return [
            (n, self.kb.sources[sid].citation, self.kb.sources[sid].url)
            for n, sid in enumerate(self.ids, start=1)
        ]


def split_sources(text: str) -> tuple[str, list[str]]:
    """``text`` without its first "Sources: id1, id2." sentence, and those ids (none: as is)."""
    found = _SOURCES_SENTENCE.search(text)
    if found is None:
        return text, []
    ids = [s.strip() for s in found.group(1).split(",") if s.strip()]
    return (text[: found.start()] + text[found.end() :]).strip(), list(dict.fromkeys(ids))


def resolve_sources(text: str, refs: References) -> str:
    """Rewrite every "Sources: id1, id2." sentence of ``text`` as short citations."""

    def replace(match: re.Match[str]) -> str:
        ids = [s.strip() for s in match.group(1).split(",") if s.strip()]
        return f" Sources: {refs.cite(ids)}."

    return _SOURCES_SENTENCE.sub(replace, text).strip()


@dataclass
class StrictaDocument:
    """A STRICTA report ready to render: what it describes, the items, the paragraph, the refs."""

    title: str
    subject: str
    items: list[StrictaItem]
    methods: str
    references: list[tuple[int, str, str | None]]
    not_reported: list[str]
    generated_on: dt.date
    notes: list[str] = field(default_factory=list)
    knee_points: Sequence[PlannedPoint] | Sequence[str] = ()
    """The points the lead picture draws: a course's planned points (with their sides) or a
    protocol's point codes (drawn on one knee, the affected one)."""
    knee_sides: list[tuple[str, Side]] = field(default_factory=list)
    """(caption, side) of each knee drawn."""
    adverse_events: str = ""
    """The adverse events of the sessions described, counted by coded kind (STRICTA 2010 has no
    harms item; CONSORT, which STRICTA extends, asks for harms, so the report states them)."""
    for_print: bool = False
    """Set by ``render_stricta_html``: diagrams for WeasyPrint (labels without their halo)."""

    @property
    def knees(self) -> list[KneeFigure]:
        """The knee diagrams of the points, four views a knee, for the top of the document."""
        return knee_figures(self.knee_points, self.knee_sides, for_print=self.for_print)

    def item_value(self, item_id: str) -> str:
        """The reported value of one item (``KeyError`` for an id STRICTA does not have)."""
        for item in self.items:
            if item.id == item_id:
                return item.value
        raise KeyError(item_id)


@dataclass
class KneeFigure:
    """One knee's four views, its caption and the distal points listed (not drawn)."""

    label: str
    images: list[Any]
    distal: list[str]
    error: str | None = None


def knee_figures(
    points: Sequence[PlannedPoint] | Sequence[str],
    sides: Sequence[tuple[str, Side]],
    *,
    for_print: bool = False,
    kb: KnowledgeBase | None = None,
) -> list[KneeFigure]:
    """The knee diagrams (``acuknee.reports.diagrams``, as the progress report draws them)."""
    from acuknee.reports.diagrams import VIEWS, DiagramError, is_local, knee_diagram, point_label
    from acuknee.reports.progress import Image, without_halo
    from acuknee.reports.style import svg_data_uri

    if not points:
        return []
    kb = kb or load_knowledge()
    codes = [p.code if isinstance(p, PlannedPoint) else p for p in points]
    distal = [
        point_label(kb.points[c]) for c in dict.fromkeys(codes) if not is_local(kb.points[c], kb)
    ]
    out = []
    for label, side in sides:
        try:
            images = [
                Image(
                    src=svg_data_uri(
                        (without_halo if for_print else str)(
                            knee_diagram(
                                points,
                                view,
                                side,
                                kb,
                                interactive=False,
                                list_distal=False,
                                id_prefix=f"stricta-{side.value}-{view}",
                            )
                        )
                    ),
                    alt=f"{label}, {view} view, with the points",
                    caption=view.capitalize(),
                )
                for view in VIEWS
            ]
        except DiagramError as exc:
            out.append(KneeFigure(label=label, images=[], distal=distal, error=str(exc)))
            continue
        out.append(KneeFigure(label=label, images=images, distal=distal))
    return out


def _plan_sides(plan: Plan) -> list[tuple[str, Side]]:
    """Each treated knee, the right first (as the progress report orders them)."""
    sides: list[Side] = []
    for planned in plan.points:
        sides += [s for s in planned.side.single_sides() if s not in sides]
    sides.sort(key=lambda s: s is Side.LEFT)
    return [(f"{s.value.capitalize()} knee", s) for s in sides]


def _with_references(report: StrictaReport, plan: Plan, refs: References) -> list[StrictaItem]:
    """The core's items with item 1b's raw source ids and full citations replaced by short,
    numbered citations (the full ones go to the reference list)."""
    items = []
    for item in report.items:
        if item.id == "1b" and item.status == "reported":
            rationale = resolve_sources(plan.rationale, refs)
            if not _SOURCES_SENTENCE.search(plan.rationale) and plan.sources:
                rationale += f" Sources: {refs.cite(plan.sources)}."
            item = item.model_copy(
                update={"value": rationale, "sentence": f"Rationale: {rationale}"}
            )
        items.append(item)
    return items


def _document(
    title: str,
    subject: str,
    items: list[StrictaItem],
    refs: References,
    today: dt.date,
    notes: Sequence[str] = (),
    sessions: Sequence[SessionRecord] = (),
) -> StrictaDocument:
    methods = " ".join(i.sentence for i in items if i.sentence)
    return StrictaDocument(
        adverse_events=adverse_events_text(sessions),
        title=title,
        subject=subject,
        items=items,
        methods=methods,
        references=refs.listing(),
        not_reported=[i.id for i in items if i.status == "not_reported"],
        generated_on=today,
        notes=list(notes),
    )


def _background(profiles: Iterable[Any]) -> str | None:
    """STRICTA item 5 from the staff profiles' recorded training (and registration)."""
    parts = []
    for p in profiles:
        if p is None or not p.training.strip():
            continue
        text = p.training.strip().rstrip(".")
        if p.registration.strip():
            text += f" (registration {p.registration.strip()})"
        parts.append(text)
    return "; ".join(dict.fromkeys(parts)) or None


def _setting(clinic: Clinic) -> str:
    return f"routine care at {clinic.name}; sessions recorded in acuknee"


def patient_stricta(
    patient: Patient, *, kb: KnowledgeBase | None = None, today: dt.date | None = None
) -> StrictaDocument:
    """STRICTA for one patient's current signed plan and the sessions given on it."""
    kb = kb or load_knowledge()
    record = signed_plan(patient)
    if record is None:
        raise NothingToReport(f"patient {patient.record_number} has no signed plan")
    plan = Plan.model_validate(record.content)
    rows = live(record.sessions.all()).filter(session_date__lte=today or clinic_today())
    rows = rows.order_by("session_date", "number")
    sessions = [SessionRecord.model_validate(s.data) for s in rows]
    signer = getattr(record.signed_by, "staff", None) if record.signed_by else None
    context = StrictaContext(
        setting=_setting(patient.clinic), practitioner_background=_background([signer])
    )
    report = stricta(plan, sessions, context, kb)
    refs = References(kb)
    items = _with_references(report, plan, refs)
    doc = _document(
        title=f"STRICTA: {patient.record_number}",
        subject=(
            f"Course of patient {patient.record_number}: {plan.protocol_name or 'individual plan'}"
            f", {len(sessions)} session{'s' if len(sessions) != 1 else ''} given"
        ),
        items=items,
        refs=refs,
        today=today or clinic_today(),
        sessions=sessions,
    )
    if plan.status != "refused" and plan.points:
        doc.knee_points = list(plan.points)
        doc.knee_sides = _plan_sides(plan)
    return doc


# --- a clinic's protocol ----------------------------------------------------------------------


def _protocol_plan(kb: KnowledgeBase, protocol_id: str) -> Plan:
    """The protocol as the knowledge base defines it, as a core ``Plan`` without a patient:
    points keep the protocol's sides only where they do not depend on the affected knee."""
    protocol = kb.protocols[protocol_id]
    return Plan(
        status="proposed",
        cause=protocol.cause,
        protocol=protocol.id,
        protocol_name=protocol.name,
        style=protocol.style,
        variation=protocol.variation,
        method=protocol.method,
        ashi_points=protocol.ashi_points,
        electro_pairs=list(protocol.electro.pairs) if protocol.electro else [],
        electro_frequency_hz=list(protocol.electro.frequency_hz) if protocol.electro else [],
        retention_minutes=protocol.retention_minutes,
        sessions_per_week=protocol.sessions_per_week,
        number_of_sessions=protocol.number_of_sessions,
        reassessment_weeks=list(protocol.reassessment_weeks),
        needle=protocol.needle,
        response_sought=protocol.response_sought,
        rationale=protocol.rationale,
        expected_response=protocol.expected_response,
        sources=list(protocol.source),
    )


def _protocol_points(kb: KnowledgeBase, protocol_id: str) -> str:
    protocol = kb.protocols[protocol_id]
    parts = []
    for p in protocol.points:
        point = kb.points.get(p.code)
        name = f"{p.code} {point.pinyin}" if point else p.code
        side = "affected side" if p.side == "affected" else str(p.side)
        parts.append(f"{name} ({side}, {p.role})")
    if protocol.ashi_points:
        parts.append(f"up to {protocol.ashi_points} Ashi (tender) points")
    return ", ".join(parts)


def _spread(values: Sequence[float]) -> str:
    mean = sum(values) / len(values)
    low, high = format_number(min(values)), format_number(max(values))
    spread = low if low == high else f"{low}–{high}"
    return f"a mean of {format_number(mean)} (range {spread})"


def _regimen_items(
    plan: Plan, courses: Sequence[Sequence[SessionRecord]], base: StrictaReport
) -> list[StrictaItem]:
    item_3a, item_3b = base.item("3a"), base.item("3b")
    given = [c for c in courses if c]
    if not given:
        return [item_3a, item_3b]
    n = len(given)
    counts = [float(len(c)) for c in given]
    planned = f"; the protocol plans {plan.number_of_sessions}" if plan.number_of_sessions else ""
    value_3a = (
        f"{n} patient{'s' if n != 1 else ''} received {_spread(counts)} sessions each{planned}"
    )
    rates = [len(c) / ((c[-1].date - c[0].date).days // 7 + 1) for c in given]
    planned_rate = (
        f"; the protocol plans {plan.sessions_per_week} per week" if plan.sessions_per_week else ""
    )
    value_3b = f"sessions were given at {_spread(rates)} per week per patient{planned_rate}"
    return [
        item_3a.model_copy(
            update={
                "value": value_3a,
                "origin": "plan and sessions",
                "sentence": f"In all, {value_3a}.",
                "status": "reported",
            }
        ),
        item_3b.model_copy(
            update={
                "value": value_3b,
                "origin": "plan and sessions",
                "sentence": f"{value_3b[0].upper()}{value_3b[1:]}.",
                "status": "reported",
            }
        ),
    ]


def protocol_courses(
    clinic: Clinic, protocol_id: str
) -> list[tuple[PlanRecord, list[SessionRecord]]]:
    """Each patient's current signed plan on ``protocol_id`` and its sessions (three queries)."""
    plans = (
        live(PlanRecord)
        .filter(patient__clinic=clinic, patient__voided_at__isnull=True, status="signed")
        .select_related("signed_by__staff")
        .order_by("patient_id", *SIGNED_ORDER)
    )
    current: dict[int, PlanRecord] = {}
    for record in plans:
        current.setdefault(record.patient_id, record)
    chosen = [r for r in current.values() if (r.content or {}).get("protocol") == protocol_id]
    sessions: dict[int, list[SessionRecord]] = {r.pk: [] for r in chosen}
    rows = live(TreatmentSession).filter(plan_id__in=list(sessions))
    rows = rows.order_by("session_date", "number")
    for row in rows.only("plan_id", "data"):
        sessions[row.plan_id].append(SessionRecord.model_validate(row.data))
    return [(r, sessions[r.pk]) for r in chosen]


def protocol_stricta(
    clinic: Clinic,
    protocol_id: str,
    *,
    kb: KnowledgeBase | None = None,
    today: dt.date | None = None,
) -> StrictaDocument:
    """STRICTA for a clinic's use of one protocol: the protocol's rationale and regimen, and the
    needling of every session given on it (pooled)."""
    kb = kb or load_knowledge()
    if protocol_id not in kb.protocols:
        raise NothingToReport(
            f"no protocol {protocol_id!r} in the knowledge base "
            f"(known: {', '.join(sorted(kb.protocols))})"
        )
    plan = _protocol_plan(kb, protocol_id)
    courses = protocol_courses(clinic, protocol_id)
    pooled: list[SessionRecord] = []
    for _, sessions in courses:
        for s in sessions:
            pooled.append(s.model_copy(update={"number": len(pooled) + 1}))
    signers = [getattr(r.signed_by, "staff", None) for r, _ in courses if r.signed_by]
    context = StrictaContext(setting=_setting(clinic), practitioner_background=_background(signers))
    report = stricta(plan, pooled, context, kb)
    refs = References(kb)
    items = _with_references(report, plan, refs)
    personalised = sum(1 for r, _ in courses if (r.content or {}).get("changes"))
    regimen = _regimen_items(plan, [s for _, s in courses], report)
    out: list[StrictaItem] = []
    for item in items:
        if item.id == "1c" and courses:
            extra = (
                f" Plans were personalised for safety findings or preferences in {personalised} "
                f"of {len(courses)} patients."
            )
            value = (item.value if item.status == "reported" else "").strip() + extra
            item = item.model_copy(
                update={
                    "value": value.strip(),
                    "status": "reported",
                    "origin": "plan and sessions",
                    "sentence": f"Variation: {value.strip()}",
                }
            )
        elif item.id == "2b" and not pooled:
            value = _protocol_points(kb, protocol_id) + " (planned)"
            item = item.model_copy(
                update={
                    "value": value,
                    "status": "reported",
                    "origin": "plan",
                    "sentence": f"Planned points: {value.removesuffix(' (planned)')}.",
                }
            )
        elif item.id == "3a":
            item = regimen[0]
        elif item.id == "3b":
            item = regimen[1]
        out.append(item)
    notes = []
    if not courses:
        notes.append(
            f"No patient of {clinic.name} has a signed plan on this protocol: every item is the "
            "protocol as planned."
        )
    elif len(courses) < 5:
        notes.append(f"Only {len(courses)} patients: the pooled figures are unstable.")
    doc = _document(
        title=f"STRICTA: {plan.protocol_name}",
        subject=(
            f"Protocol {protocol_id} at {clinic.name}: {len(courses)} patient"
            f"{'s' if len(courses) != 1 else ''}, {len(pooled)} sessions"
        ),
        items=out,
        refs=refs,
        today=today or clinic_today(),
        notes=notes,
        sessions=pooled,
    )
    # The protocol names sides relative to the affected knee: drawn once, on a right knee.
    doc.knee_points = list(dict.fromkeys(p.code for p in kb.protocols[protocol_id].points))
    doc.knee_sides = [("Affected knee (drawn as a right knee)", Side.RIGHT)]
    return doc


# --- plain-text output ------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: StrictaDocument) -> str:
    """The document as Markdown: heading, the items table, the methods paragraph, references."""
    lines = [f"# {doc.title}", "", doc.subject, ""]
    lines += [f"> {n}" for n in doc.notes]
    if doc.notes:
        lines.append("")
    lines += [
        "| Item | Topic | Asks for | Reported | Source of the value |",
        "|---|---|---|---|---|",
    ]
    for i in doc.items:
        lines.append(
            f"| {i.id} | {_cell(i.topic)} | {_cell(i.asks)} | {_cell(i.value)} | "
            f"{_cell(i.origin or '—')} |"
        )
    lines += ["", "## Methods paragraph", "", doc.methods, ""]
    if doc.adverse_events:
        lines += ["## Adverse events", "", doc.adverse_events, ""]
    if doc.references:
        lines += ["## References", ""]
        lines += [f"{n}. {citation}" for n, citation, _ in doc.references]
        lines.append("")
    lines.append(
        "Items follow STRICTA 2010 (MacPherson et al. 2010, PLoS Med 7(6):e1000261). "
        f"Generated by acuknee on {doc.generated_on.isoformat()}."
    )
    return "\n".join(lines) + "\n"


__all__ = [
    "KneeFigure",
    "NothingToReport",
    "References",
    "StrictaDocument",
    "knee_figures",
    "patient_stricta",
    "protocol_courses",
    "protocol_stricta",
    "resolve_sources",
    "short_citation",
    "to_markdown",
]


def render_stricta_html(doc: StrictaDocument, clinic_name: str) -> str:
    """The printable document (the page's template without its on-screen controls)."""
    from django.template.loader import render_to_string

    doc = dataclasses.replace(doc, for_print=True)
    return render_to_string(
        "reports/stricta_report.html", {"doc": doc, "clinic_name": clinic_name, "for_print": True}
    )
