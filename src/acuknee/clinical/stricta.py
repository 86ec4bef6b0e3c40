"""STRICTA 2010: the acupuncture details of a plan and its sessions, item by item.

STRICTA (MacPherson H, Altman DG, Hammerschlag R, et al. Revised STandards for Reporting
Interventions in Clinical Trials of Acupuncture: extending the CONSORT statement. PLoS Med
2010;7(6):e1000261; checklist at https://stricta.info/?p=54) lists what a report must say about
the needling so others can judge and repeat it. ``stricta`` fills items 1a-6b from what acuknee
already holds: the plan (style, rationale, variation, regimen), the session records (what was
actually needled) and a short context the researcher supplies (co-interventions, setting,
practitioners, comparator). An item with no data says "not reported"; nothing is guessed. Where
the sessions do not record a detail but the plan does, the planned value is given and labelled
"planned".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import Field, computed_field

from acuknee.clinical.base import CoreModel
from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.numbers import format_number
from acuknee.clinical.planning import Plan
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.vocabulary import Method, Side

NOT_REPORTED = "not reported"
NO_COMPARATOR = "not applicable: routine care, no comparator"

STRICTA_ITEMS: tuple[tuple[str, str, str], ...] = (
    # (item, topic, what it asks for) paraphrased from the STRICTA 2010 checklist.
    ("1a", "Acupuncture rationale", "Style of acupuncture"),
    ("1b", "Acupuncture rationale", "Reasoning for the treatment, with references"),
    ("1c", "Acupuncture rationale", "Extent to which treatment was varied"),
    ("2a", "Details of needling", "Needle insertions per subject per session (mean and range)"),
    ("2b", "Details of needling", "Names of points used (uni/bilateral)"),
    ("2c", "Details of needling", "Depth of insertion, by unit of measurement or tissue level"),
    ("2d", "Details of needling", "Response sought (e.g. de qi or muscle twitch)"),
    ("2e", "Details of needling", "Needle stimulation (e.g. manual, electrical)"),
    ("2f", "Details of needling", "Needle retention time"),
    ("2g", "Details of needling", "Needle type (diameter, length, manufacturer or material)"),
    ("3a", "Treatment regimen", "Number of treatment sessions"),
    ("3b", "Treatment regimen", "Frequency and duration of treatment sessions"),
    ("4a", "Other components of treatment", "Other interventions given to the acupuncture group"),
    ("4b", "Other components of treatment", "Setting and context, instructions and information"),
    ("5", "Practitioner background", "Qualification, years in acupuncture practice, experience"),
    ("6a", "Control or comparator interventions", "Rationale for the control or comparator"),
    ("6b", "Control or comparator interventions", "Precise description of the control"),
)

_METHOD_WORDS = {Method.MANUAL: "manual", Method.ELECTRO: "electrical", Method.LASER: "laser"}

Status = Literal["reported", "not_reported", "not_applicable"]
Origin = Literal["plan", "sessions", "context", "plan and sessions"]


class StrictaContext(CoreModel):
    """What neither the plan nor the sessions hold (STRICTA items 4a, 4b, 5, 6a, 6b).

    Leave the control fields empty for routine care: items 6a and 6b then read "not applicable".
    """

    other_interventions: str | None = None
    setting: str | None = None
    practitioner_background: str | None = None
    control_rationale: str | None = None
    control_description: str | None = None


class StrictaItem(CoreModel):
    """One checklist item: its id, topic, what it asks, the value and where the value came from."""

    id: str
    topic: str
    asks: str
    status: Status
    value: str
    origin: Origin | None = None
    sentence: str | None = None
    """The item as a sentence of the methods paragraph (None when not reported)."""


class InsertionStats(CoreModel):
    """STRICTA 2a as numbers: needle insertions per session over the recorded sessions."""

    sessions: int
    mean: float
    minimum: int
    maximum: int


class PointUse(CoreModel):
    """STRICTA 2b as data: a point, its name, and whether it was needled on one side or both."""

    code: str
    name: str | None
    laterality: Literal["bilateral", "unilateral"]
    sides: list[Side]
    sessions: int


class StrictaReport(CoreModel):
    """Every STRICTA 2010 item for one plan and its sessions, and the numbers behind them."""

    items: list[StrictaItem]
    insertions: InsertionStats | None
    points: list[PointUse]
    sessions_given: int
    sessions_planned: int | None
    source: str = "MacPherson et al. 2010, PLoS Med 7(6):e1000261 (STRICTA 2010)"

    def item(self, item_id: str) -> StrictaItem:
        for found in self.items:
            if found.id == item_id:
                return found
        raise KeyError(item_id)

    @property
    def not_reported(self) -> list[str]:
        """Ids of the items a report would still have to supply."""
        return [i.id for i in self.items if i.status == "not_reported"]

    def methods_paragraph(self) -> str:
        """The reported items as one paragraph for a paper's methods section."""
        return " ".join(i.sentence for i in self.items if i.sentence)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def methods(self) -> str:
        """The methods paragraph, also in the JSON output."""
        return self.methods_paragraph()


class StrictaInput(CoreModel):
    """The ``acuknee stricta`` input: a plan, its session records and the research context."""

    plan: Plan
    sessions: list[SessionRecord] = Field(default_factory=list)
    context: StrictaContext | None = None


# --- formatting helpers -------------------------------------------------------------------------


def _num(value: float) -> str:
    """1 -> "1", 1.25 -> "1.3": one decimal at most, no trailing zero."""
    return format_number(value, 1)


def _span(values: Iterable[float], unit: str = "") -> str:
    ordered = sorted(set(values))
    suffix = f" {unit}" if unit else ""
    if len(ordered) == 1:
        return f"{_num(ordered[0])}{suffix}"
    return f"{_num(ordered[0])}–{_num(ordered[-1])}{suffix}"


def _mean_range(values: Sequence[float], unit: str) -> str:
    if len(set(values)) == 1:
        return f"{_num(values[0])} {unit}"
    mean = sum(values) / len(values)
    return f"a mean of {_num(mean)} {unit} (range {_span(values)})"


def _frequencies(hz: Sequence[float]) -> str:
    return "/".join(_num(f) for f in hz) + " Hz"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _item(
    item_id: str, value: str | None, origin: Origin | None, sentence: str | None = None
) -> StrictaItem:
    _, topic, asks = next(i for i in STRICTA_ITEMS if i[0] == item_id)
    if value is None:
        return StrictaItem(
            id=item_id, topic=topic, asks=asks, status="not_reported", value=NOT_REPORTED
        )
    return StrictaItem(
        id=item_id,
        topic=topic,
        asks=asks,
        status="reported",
        value=value,
        origin=origin,
        sentence=_sentence(sentence or value),
    )


# --- the items ----------------------------------------------------------------------------------


def _point_name(kb: KnowledgeBase, code: str) -> str | None:
    point = kb.points.get(code)
    return point.pinyin if point else None


def _point_uses(kb: KnowledgeBase, sessions: Sequence[SessionRecord]) -> list[PointUse]:
    sides: dict[str, set[Side]] = {}
    bilateral: set[str] = set()
    used_in: Counter[str] = Counter()
    for session in sessions:
        here: dict[str, set[Side]] = {}
        for point in session.points:
            if point.is_ashi:
                continue
            here.setdefault(point.code, set()).update(point.side.single_sides())
        for code, found in here.items():
            used_in[code] += 1
            sides.setdefault(code, set()).update(found)
            if len(found) == 2:
                bilateral.add(code)
    return [
        PointUse(
            code=code,
            name=_point_name(kb, code),
            laterality="bilateral" if code in bilateral else "unilateral",
            sides=sorted(sides[code]),
            sessions=used_in[code],
        )
        for code in sides
    ]


def _point_text(use: PointUse, total_sessions: int) -> str:
    name = f"{use.code} {use.name}" if use.name else use.code
    if use.laterality == "bilateral":
        detail = "bilateral"
    else:
        detail = "unilateral, " + " or ".join(s.value for s in use.sides)
    if use.sessions < total_sessions:
        detail += f"; {use.sessions} of {total_sessions} sessions"
    return f"{name} ({detail})"


def _planned_points_text(kb: KnowledgeBase, plan: Plan) -> str | None:
    sides: dict[str, set[Side]] = {}
    for planned in plan.points:
        sides.setdefault(planned.code, set()).update(planned.side.single_sides())
    parts = []
    for code, found in sides.items():
        name = _point_name(kb, code)
        label = f"{code} {name}" if name else code
        detail = "bilateral" if len(found) == 2 else "unilateral, " + next(iter(found)).value
        parts.append(f"{label} ({detail})")
    if plan.ashi_points:
        parts.append(f"up to {plan.ashi_points} Ashi (tender) points")
    return ", ".join(parts) + " (planned)" if parts else None


def _insertions(sessions: Sequence[SessionRecord]) -> InsertionStats | None:
    counts = [s.insertions for s in sessions if s.insertions is not None]
    if not counts:
        return None
    return InsertionStats(
        sessions=len(counts),
        mean=sum(counts) / len(counts),
        minimum=min(counts),
        maximum=max(counts),
    )


def _item_2a(
    plan: Plan, sessions: Sequence[SessionRecord], stats: InsertionStats | None
) -> StrictaItem:
    if stats is not None:
        spread = (
            f"{stats.minimum}"
            if stats.minimum == stats.maximum
            else f"{stats.minimum}–{stats.maximum}"
        )
        coverage = (
            f" over {stats.sessions} sessions"
            if stats.sessions == len(sessions)
            else f" over the {stats.sessions} of {len(sessions)} sessions that recorded them"
        )
        value = f"mean {_num(stats.mean)} (range {spread}) per session{coverage}"
        sentence = (
            f"Each session used a mean of {_num(stats.mean)} needle insertions "
            f"(range {spread}){coverage}"
        )
        return _item("2a", value, "sessions", sentence)
    planned = sum(len(p.side.single_sides()) for p in plan.points)
    if planned:
        ashi = f" plus up to {plan.ashi_points} Ashi points" if plan.ashi_points else ""
        value = f"{planned} insertions per session{ashi} (planned)"
        sentence = f"Each session was planned with {planned} needle insertions{ashi}"
        return _item("2a", value, "plan", sentence)
    return _item("2a", None, None)


def _item_2b(
    kb: KnowledgeBase, plan: Plan, sessions: Sequence[SessionRecord], uses: list[PointUse]
) -> StrictaItem:
    ashi = [sum(1 for p in s.points if p.is_ashi) for s in sessions]
    parts = [_point_text(u, len(sessions)) for u in uses]
    if any(ashi):
        parts.append(f"Ashi (tender) points ({_span(ashi)} per session)")
    if parts:
        value = ", ".join(parts)
        return _item("2b", value, "sessions", f"Points needled: {value}")
    planned = _planned_points_text(kb, plan)
    sentence = f"Planned points: {planned.removesuffix(' (planned)')}" if planned else None
    return _item("2b", planned, "plan", sentence)


def _item_2c(plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    depths: dict[tuple[str, str], list[float]] = {}
    recorded = total = 0
    for session in sessions:
        for point in session.points:
            if point.stimulation is Method.LASER:
                continue
            total += 1
            if point.depth is not None:
                recorded += 1
                code = "Ashi points" if point.is_ashi else point.code
                depths.setdefault((code, point.depth.unit), []).append(point.depth.value)
    if depths:
        parts = [f"{code} {_span(values, unit)}" for (code, unit), values in depths.items()]
        coverage = (
            "" if recorded == total else f" (recorded for {recorded} of {total} needled points)"
        )
        value = "; ".join(parts) + coverage
        return _item("2c", value, "sessions", f"Insertion depths were {value}")
    planned = [
        f"{p.code} {_span([p.depth_cun_min, p.depth_cun_max], 'cun')}"
        for p in plan.points
        if p.depth_cun_min is not None and p.depth_cun_max is not None
    ]
    if planned:
        value = "; ".join(dict.fromkeys(planned)) + " (planned)"
        return _item(
            "2c", value, "plan", f"Planned insertion depths were {value.removesuffix(' (planned)')}"
        )
    return _item("2c", None, None)


def _item_2d(kb: KnowledgeBase, plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    sought = list(dict.fromkeys(s.response_sought for s in sessions if s.response_sought))
    assessed = [p.de_qi for s in sessions for p in s.points if p.de_qi is not None]
    parts = []
    if sought:
        parts.append("; ".join(sought) + " sought")
    if assessed:
        parts.append(
            f"de qi obtained at {sum(assessed)} of {len(assessed)} needled points assessed"
        )
    if parts:
        value = "; ".join(parts)
        return _item("2d", value, "sessions", f"Response to needling: {value}")
    protocol = kb.protocols.get(plan.protocol) if plan.protocol else None
    if protocol is not None and protocol.response_sought:
        value = f"{protocol.response_sought} (planned)"
        return _item("2d", value, "plan", f"Response sought: {value}")
    return _item("2d", None, None)


def _item_2e(plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    methods = list(dict.fromkeys(p.stimulation for s in sessions for p in s.points))
    wired: dict[tuple[tuple[str, str], str], set[int]] = {}
    for session in sessions:
        for pair in session.electro:
            key = (pair.points, _frequencies(pair.frequency_hz))
            wired.setdefault(key, set()).add(session.number)
    if methods:
        parts = []
        for method in methods:
            if method is Method.ELECTRO and wired:
                pairs = ", ".join(f"{a}–{b} at {hz}" for ((a, b), hz) in wired)
                parts.append(f"electrical ({pairs})")
            else:
                parts.append(_METHOD_WORDS[method])
        value = "; ".join(parts)
        return _item("2e", value, "sessions", f"Needle stimulation was {value}")
    if plan.method is not None:
        value = _METHOD_WORDS[plan.method]
        if plan.method is Method.ELECTRO and plan.electro_pairs:
            pairs = ", ".join(f"{a}–{b}" for a, b in plan.electro_pairs)
            hz = (
                f" at {_frequencies(plan.electro_frequency_hz)}"
                if plan.electro_frequency_hz
                else ""
            )
            value += f" ({pairs}{hz})"
        value += " (planned)"
        return _item(
            "2e",
            value,
            "plan",
            f"Planned needle stimulation was {value.removesuffix(' (planned)')}",
        )
    return _item("2e", None, None)


def _item_2f(plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    per_session: list[float] = []
    for session in sessions:
        own = [session.retention_for(p) for p in session.points]
        values = [v for v in own if v is not None]
        if session.retention_minutes is not None:
            per_session.append(session.retention_minutes)
        elif values:
            per_session.append(max(values))
    if per_session:
        value = _mean_range(per_session, "minutes")
        if len(per_session) < len(sessions):
            value += f" (recorded in {len(per_session)} of {len(sessions)} sessions)"
        return _item("2f", value, "sessions", f"Needles were retained for {value}")
    if plan.retention_minutes is not None:
        value = f"{plan.retention_minutes} minutes (planned)"
        return _item(
            "2f", value, "plan", f"Needles were to be retained for {plan.retention_minutes} minutes"
        )
    return _item("2f", None, None)


def _item_2g(kb: KnowledgeBase, plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    needles = list(dict.fromkeys(s.needle.text() for s in sessions if s.needle is not None))
    if needles:
        value = "; ".join(needles)
        recorded = sum(1 for s in sessions if s.needle is not None)
        if recorded < len(sessions):
            value += f" (recorded in {recorded} of {len(sessions)} sessions)"
        return _item("2g", value, "sessions", f"Needles were {value}")
    protocol = kb.protocols.get(plan.protocol) if plan.protocol else None
    if protocol is not None and protocol.needle:
        value = f"{protocol.needle} (planned)"
        return _item("2g", value, "plan", f"Planned needles: {value.removesuffix(' (planned)')}")
    return _item("2g", None, None)


def _item_3a(plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    planned = f" ({plan.number_of_sessions} planned)" if plan.number_of_sessions else ""
    if sessions:
        count = f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}"
        return _item(
            "3a",
            f"{count} given{planned}",
            "plan and sessions" if planned else "sessions",
            f"Treatment comprised {count}{planned}",
        )
    if plan.number_of_sessions:
        value = f"{plan.number_of_sessions} sessions (planned)"
        return _item(
            "3a", value, "plan", f"Treatment was planned as {plan.number_of_sessions} sessions"
        )
    return _item("3a", None, None)


def _item_3b(plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    planned = f"{plan.sessions_per_week} per week" if plan.sessions_per_week else None
    if sessions:
        first, last = sessions[0].date, sessions[-1].date
        if len(sessions) == 1:
            value = f"a single session on {first.isoformat()}"
            sentence = f"The only session was given on {first.isoformat()}"
        else:
            weeks = (last - first).days // 7 + 1
            span = f"{weeks} week{'s' if weeks != 1 else ''}"
            dates = f"{first.isoformat()} to {last.isoformat()}"
            rate = f"a mean of {_num(len(sessions) / weeks)} per week"
            value = f"{len(sessions)} sessions over {span} ({dates}), {rate}"
            sentence = f"Sessions were given over {span} ({dates}), {rate}"
        if planned:
            value += f" (planned {planned})"
            sentence += f" (planned {planned})"
        origin: Origin = "plan and sessions" if planned else "sessions"
        return _item("3b", value, origin, sentence)
    if planned:
        over = ""
        if plan.number_of_sessions and plan.sessions_per_week:
            over = f" over {math.ceil(plan.number_of_sessions / plan.sessions_per_week)} weeks"
        value = f"{planned}{over} (planned)"
        return _item("3b", value, "plan", f"Sessions were planned at {planned}{over}")
    return _item("3b", None, None)


def _item_1b(kb: KnowledgeBase, plan: Plan) -> StrictaItem:
    if not plan.rationale:
        return _item("1b", None, None)
    refs = [kb.sources[s].citation.rstrip(".") if s in kb.sources else s for s in plan.sources]
    value = _sentence(plan.rationale)
    if refs:
        value += " References: " + "; ".join(refs) + "."
    return _item("1b", value, "plan", f"Rationale: {value}")


def _item_1c(kb: KnowledgeBase, plan: Plan, sessions: Sequence[SessionRecord]) -> StrictaItem:
    parts: list[str] = []
    protocol = kb.protocols.get(plan.protocol) if plan.protocol else None
    if protocol is not None and protocol.variation:
        parts.append(_sentence(protocol.variation))
    if plan.changes:
        changes = "; ".join(
            f"{c.action.replace('_', ' ')} {c.target}" + (f" ({c.side.value})" if c.side else "")
            for c in plan.changes
        )
        parts.append(f"Personalised for the patient's safety findings and preferences: {changes}.")
    if plan.pattern:
        parts.append(f"Adapted to the TCM pattern {plan.pattern} (traditional theory).")
    if sessions and plan.points:
        planned = {p.code for p in plan.points}
        needled = {p.code for s in sessions for p in s.points if not p.is_ashi}
        added = sorted(needled - planned)
        omitted = sorted(planned - needled)
        if added:
            parts.append(f"Points added during the course: {', '.join(added)}.")
        if omitted:
            parts.append(f"Planned points never needled: {', '.join(omitted)}.")
    if not parts:
        return _item("1c", None, None)
    value = " ".join(parts)
    origin: Origin = "plan and sessions" if sessions and plan.points else "plan"
    return _item("1c", value, origin, f"Variation: {value}")


def _context_items(
    context: StrictaContext | None, sessions: Sequence[SessionRecord]
) -> list[StrictaItem]:
    ctx = context or StrictaContext()
    practitioners = {s.practitioner_id for s in sessions if s.practitioner_id}
    background = ctx.practitioner_background
    if background and practitioners:
        count = len(practitioners)
        background = (
            _sentence(background)
            + f" Sessions were given by {count} practitioner{'s' if count != 1 else ''}."
        )
    items = [
        _item(
            "4a",
            ctx.other_interventions,
            "context",
            f"Other interventions: {ctx.other_interventions}",
        ),
        _item("4b", ctx.setting, "context", f"Setting and context: {ctx.setting}"),
        _item("5", background, "context", f"Practitioners: {background}"),
    ]
    if ctx.control_rationale is None and ctx.control_description is None:
        for item_id in ("6a", "6b"):
            _, topic, asks = next(i for i in STRICTA_ITEMS if i[0] == item_id)
            items.append(
                StrictaItem(
                    id=item_id,
                    topic=topic,
                    asks=asks,
                    status="not_applicable",
                    value=NO_COMPARATOR,
                    sentence="No control or comparator was used (routine care)."
                    if item_id == "6a"
                    else None,
                )
            )
    else:
        items.append(
            _item(
                "6a",
                ctx.control_rationale,
                "context",
                f"Rationale for the comparator: {ctx.control_rationale}",
            )
        )
        items.append(
            _item(
                "6b", ctx.control_description, "context", f"Comparator: {ctx.control_description}"
            )
        )
    return items


def stricta(
    plan: Plan,
    sessions: Sequence[SessionRecord],
    context: StrictaContext | None = None,
    kb: KnowledgeBase | None = None,
) -> StrictaReport:
    """Fill STRICTA 2010 items 1a-6b (MacPherson et al. 2010, PLoS Med 7:e1000261) from a plan,
    its session records and the research context; items without data say "not reported"."""
    kb = kb or load_knowledge()
    numbers = Counter(s.number for s in sessions)
    for index, session in enumerate(sessions):
        if numbers[session.number] > 1:
            raise InvalidInput(
                f"sessions.{index}.number", f"session {session.number} is recorded twice"
            )
    ordered = sorted(sessions, key=lambda s: (s.date, s.number))
    stats = _insertions(ordered)
    uses = _point_uses(kb, ordered)
    items = [
        _item(
            "1a",
            plan.style,
            "plan",
            f"The style of acupuncture was {plan.style}" if plan.style else None,
        ),
        _item_1b(kb, plan),
        _item_1c(kb, plan, ordered),
        _item_2a(plan, ordered, stats),
        _item_2b(kb, plan, ordered, uses),
        _item_2c(plan, ordered),
        _item_2d(kb, plan, ordered),
        _item_2e(plan, ordered),
        _item_2f(plan, ordered),
        _item_2g(kb, plan, ordered),
        _item_3a(plan, ordered),
        _item_3b(plan, ordered),
        *_context_items(context, ordered),
    ]
    return StrictaReport(
        items=items,
        insertions=stats,
        points=uses,
        sessions_given=len(ordered),
        sessions_planned=plan.number_of_sessions,
    )
