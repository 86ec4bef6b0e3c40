"""Planning: choose a protocol for the likely cause and personalise it under the screening's
constraints. A plan never contains a point or method a rule blocks. (Implementation in progress.)"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from acuknee.clinical.base import CoreModel
from acuknee.clinical.vocabulary import Cause, Method, Side


class PlannedPoint(CoreModel):
    """One point to needle on one side, with the depth allowed after safety limits."""

    code: str
    side: Side
    role: Literal["local", "distal", "adjunct", "pattern"]
    depth_cun_min: float | None
    depth_cun_max: float | None
    angle: str
    depth_note: str | None = None


class Change(CoreModel):
    """Something the safety rules (or the pattern layer) changed, and why, with its sources."""

    action: Literal["removed_point", "removed_method", "replaced_method", "limited_depth", "warned", "added_point"]
    target: str
    side: Side | None = None
    rule: str
    reason: str
    sources: list[str]


class ScheduledVisit(CoreModel):
    number: int
    date: dt.date
    kind: Literal["session", "reassessment"]
    week: int


class Plan(CoreModel):
    """A proposed plan (to be reviewed and signed in the clinic app) or a refusal with reasons."""

    status: Literal["proposed", "refused"]
    refusal_reasons: list[str] = []
    cause: Cause | None = None
    protocol: str | None = None
    protocol_name: str | None = None
    style: str | None = None
    method: Method | None = None
    points: list[PlannedPoint] = []
    ashi_points: int = 0
    electro_pairs: list[tuple[str, str]] = []
    electro_frequency_hz: list[float] = []
    retention_minutes: int | None = None
    sessions_per_week: int | None = None
    number_of_sessions: int | None = None
    max_needle_diameter_mm: float | None = None
    start: dt.date | None = None
    schedule: list[ScheduledVisit] = []
    changes: list[Change] = []
    warnings: list[str] = []
    pattern: str | None = None
    rationale: str = ""
    expected_response: str = ""
    evidence_level: str | None = None
    sources: list[str] = []
