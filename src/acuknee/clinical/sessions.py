"""The record of one treatment session: what was needled, how, and what happened.

Its fields are the per-session items of STRICTA 2010 (items 2a-2g: insertions, points and sides,
depth, response sought and obtained, stimulation, retention, needle type; MacPherson et al. 2010,
PLoS Med 7:e1000261, https://stricta.info/?p=54), plus the pain rating before and after the
session and any adverse event, which the NCCIH acupuncture fact sheet advises logging. ``stricta``
summarises a course of these records; the clinic app stores and signs them.

Ranges here are sanity bounds on the input (a mm value typed as cun, a needle gauge typed as a
diameter), not clinical limits: the plan's safety limits come from ``screening`` and ``planning``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from acuknee.clinical.base import CoreModel
from acuknee.clinical.vocabulary import AdverseEventKind, Method, Severity, Side

ASHI = "ashi"
"""The code for an Ashi (tender) point, which has no standard name; it may appear many times."""

PainNrs = Annotated[int, Field(ge=0, le=10)]
Minutes = Annotated[int, Field(gt=0, le=120)]


class Depth(CoreModel):
    """Insertion depth with its unit (STRICTA 2c): proportional cun or millimetres."""

    value: Annotated[float, Field(gt=0)]
    unit: Literal["cun", "mm"]

    @model_validator(mode="after")
    def _plausible(self) -> Depth:
        limit = 10.0 if self.unit == "cun" else 150.0
        if self.value > limit:
            raise ValueError(
                f"depth {self.value} {self.unit} is above {limit:g} {self.unit}; check the unit"
            )
        return self

    def text(self) -> str:
        return f"{self.value:g} {self.unit}"


class NeedledPoint(CoreModel):
    """One point needled on one side (``both`` = one needle on each side)."""

    code: Annotated[str, Field(min_length=1)]
    side: Side
    depth: Depth | None = None
    angle: Literal["perpendicular", "oblique", "transverse"] | None = None
    de_qi: bool | None = None
    """True when de qi was obtained, False when sought but not obtained, None when not assessed."""
    stimulation: Method = Method.MANUAL
    retention_minutes: Minutes | None = None
    """Only when this point's retention differed from the session's."""

    @property
    def is_ashi(self) -> bool:
        return self.code.lower() == ASHI

    @property
    def insertions(self) -> int:
        """Needles inserted here: one per side; a laser point has no insertion."""
        return 0 if self.stimulation is Method.LASER else len(self.side.single_sides())


class ElectroPair(CoreModel):
    """Two needled points wired together for electroacupuncture, on one side."""

    points: tuple[str, str]
    side: Side
    frequency_hz: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    """One value for a fixed frequency, two for alternating (e.g. 2 and 100 Hz)."""
    intensity: str | None = None


class NeedleType(CoreModel):
    """Needle type (STRICTA 2g): diameter, length, and manufacturer or material."""

    diameter_mm: Annotated[float, Field(gt=0, le=1.0)]
    length_mm: Annotated[float, Field(gt=0, le=200)]
    material: str | None = None
    manufacturer: str | None = None

    def text(self) -> str:
        made = ", ".join(x for x in (self.material, self.manufacturer) if x)
        size = f"{self.diameter_mm:g} × {self.length_mm:g} mm"
        return f"{size} ({made})" if made else size


class AdverseEvent(CoreModel):
    """An adverse event during or after the session: its coded kind (so events can be counted),
    how bad it was, what was done, and any words the practitioner adds in ``note``.

    The action stays free text: no coded list of actions for acupuncture adverse events was found
    in STRICTA 2010 or the surveys behind ``AdverseEventKind``.
    """

    kind: AdverseEventKind
    severity: Severity
    action_taken: Annotated[str, Field(min_length=1)]
    point: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_free_text_type(cls, data: Any) -> Any:
        """A record stored before the coded kinds had a free-text ``type`` and no ``kind``: it
        loads as ``other`` with that text kept at the head of ``note``, never lost."""
        if not isinstance(data, dict) or "type" not in data:
            return data
        if "kind" in data:
            raise ValueError("type: give the coded kind only; type is the old free-text field")
        data = dict(data)
        text = data.pop("type")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("type: the old free-text type must be non-empty text")
        earlier = data.get("note")
        data["kind"] = AdverseEventKind.OTHER.value
        data["note"] = f"{text.strip()}; {earlier}" if earlier else text.strip()
        return data

    @property
    def label(self) -> str:
        """The kind's label, with the note after it when there is one."""
        return f"{self.kind.label}: {self.note}" if self.note else self.kind.label


class SessionRecord(CoreModel):
    """One treatment session as delivered (not as planned)."""

    date: dt.date
    number: Annotated[int, Field(ge=1, le=500)]
    points: list[NeedledPoint] = Field(default_factory=list)
    needle: NeedleType | None = None
    number_of_needles: Annotated[int | None, Field(ge=0, le=100)] = None
    """Needles used; when given it must cover every insertion listed in ``points``."""
    retention_minutes: Minutes | None = None
    electro: list[ElectroPair] = Field(default_factory=list)
    response_sought: str | None = None
    """What the practitioner aimed for (STRICTA 2d), e.g. "de qi"; ``NeedledPoint.de_qi`` says
    whether it came."""
    pain_before: PainNrs | None = None
    pain_after: PainNrs | None = None
    adverse_events: list[AdverseEvent] = Field(default_factory=list)
    practitioner_id: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SessionRecord:
        seen: dict[str, list[Side]] = {}
        for point in self.points:
            if point.is_ashi:
                continue
            for earlier in seen.get(point.code, []):
                if earlier.covers(point.side):
                    raise ValueError(
                        f"points: {point.code} is listed twice on the {point.side} side"
                    )
            seen.setdefault(point.code, []).append(point.side)
        listed = self.listed_insertions
        if self.number_of_needles is not None and self.number_of_needles < listed:
            raise ValueError(
                f"number_of_needles: {self.number_of_needles} is fewer than the {listed} "
                "insertions listed in points"
            )
        electro = {p.code for p in self.points if p.stimulation is Method.ELECTRO}
        for index, pair in enumerate(self.electro):
            for code in pair.points:
                if code not in electro:
                    raise ValueError(
                        f"electro.{index}: {code} is not among the points stimulated electrically"
                    )
        return self

    @property
    def listed_insertions(self) -> int:
        return sum(p.insertions for p in self.points)

    @property
    def insertions(self) -> int | None:
        """Needle insertions this session (STRICTA 2a): the needles used when recorded, else the
        insertions listed point by point; None when neither was recorded."""
        if self.number_of_needles is not None:
            return self.number_of_needles
        return self.listed_insertions if self.points else None

    def retention_for(self, point: NeedledPoint) -> int | None:
        return point.retention_minutes or self.retention_minutes


def adverse_event_counts(sessions: Iterable[SessionRecord]) -> dict[AdverseEventKind, int]:
    """How many adverse events of each coded kind ``sessions`` recorded, in the vocabulary's order
    (kinds with none left out): what makes adverse events countable in a report."""
    counts = Counter(e.kind for s in sessions for e in s.adverse_events)
    return {kind: counts[kind] for kind in AdverseEventKind if counts[kind]}


def adverse_events_text(sessions: Sequence[SessionRecord]) -> str:
    """One sentence: the events by kind over the sessions, or that none was recorded."""
    counts = adverse_event_counts(sessions)
    n = len(sessions)
    given = f"{n} session{'s' if n != 1 else ''}"
    if not counts:
        return f"No adverse events recorded in {given}."
    total = sum(counts.values())
    by_kind = "; ".join(f"{kind.label} {count}" for kind, count in counts.items())
    return f"{total} adverse event{'s' if total != 1 else ''} in {given}: {by_kind}."


# --- what an amendment changed -------------------------------------------------------------------

_CHANGE_LABELS: dict[str, str] = {
    "date": "Date",
    "points": "Points",
    "needle": "Needle",
    "number_of_needles": "Needles used",
    "retention_minutes": "Retention (min)",
    "electro": "Electroacupuncture pairs",
    "response_sought": "Response sought",
    "pain_before": "Pain before",
    "pain_after": "Pain after",
    "adverse_events": "Adverse events",
    "note": "Note",
}


def _point_text(p: NeedledPoint) -> str:
    parts = [f"{p.code} {p.side.value}"]
    if p.depth is not None:
        parts.append(p.depth.text())
    if p.angle:
        parts.append(p.angle)
    parts.append(p.stimulation.value)
    if p.de_qi:
        parts.append("de qi")
    if p.retention_minutes:
        parts.append(f"{p.retention_minutes} min")
    return " ".join(parts)


def _field_text(record: SessionRecord, name: str) -> str:
    value = getattr(record, name)
    if name == "points":
        return "; ".join(_point_text(p) for p in record.points) or "none"
    if name == "electro":
        return (
            "; ".join(
                f"{e.points[0]}-{e.points[1]} {e.side.value} "
                f"{', '.join(f'{f:g}' for f in e.frequency_hz)} Hz"
                for e in record.electro
            )
            or "none"
        )
    if name == "adverse_events":
        return (
            "; ".join(
                f"{a.label} ({a.severity.value}, {a.action_taken})" for a in record.adverse_events
            )
            or "none"
        )
    if name == "needle":
        return record.needle.text() if record.needle else "not recorded"
    if value is None or value == "":
        return "not recorded"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def session_changes(before: SessionRecord, after: SessionRecord) -> list[dict[str, str]]:
    """What differs between two versions of a session, field by field, in words a person reads
    (``{"field", "before", "after"}``); the number and practitioner are not the note's content."""
    out = []
    for name, label in _CHANGE_LABELS.items():
        old, new = _field_text(before, name), _field_text(after, name)
        if old != new:
            out.append({"field": label, "before": old, "after": new})
    return out
