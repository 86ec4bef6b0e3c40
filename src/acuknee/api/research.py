"""``GET /api/v1/research/outcomes``: the research network's pooled report, for the researcher
role only, with the same small-cell suppression as the page and the CLI (a count under 5 is
``"<5"``, the rates built on it ``null``). Aggregates only: no patient-level field exists here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pydantic
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from acuknee.api.auth import require
from acuknee.api.errors import ApiError
from acuknee.api.schemas import ErrorOut, Storable
from acuknee.records.models import Role
from acuknee.research import analytics

router = Router(tags=["research"])

RESEARCHER = frozenset({Role("researcher")})
ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 422), ErrorOut)

Count = int | str | None
"""A published count: the number, ``"<5"`` when suppressed, or null in a suppressed row."""


class OutcomeFilters(Schema):
    by: str = Field("", max_length=300, description="Breakdowns, comma-separated; all if empty.")
    clinic: Storable | None = Field(None, description="Only this clinic (id).")
    region: str | None = Field(None, max_length=100)
    cause: str | None = Field(None, max_length=100)
    method: str | None = Field(None, max_length=20)
    protocol: str | None = Field(None, max_length=100)
    sex: str | None = Field(None, max_length=20)
    age_band: str | None = Field(None, max_length=10)
    severity_band: str | None = Field(None, max_length=20)
    period: str | None = Field(
        None,
        max_length=7,
        description="Courses started in this calendar year (2026) or quarter (2026-Q1).",
    )
    start_from: dt.date | None = Field(
        None,
        description="With start_to: rounded outward to the one calendar quarter or year holding "
        "the window (said in the notes); prefer period.",
    )
    start_to: dt.date | None = Field(None, description="See start_from.")


def _domain_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for d in analytics.DOMAINS:
        fields[f"{d}_n"] = (Count, None)
        fields[f"{d}_mic"] = (Count, None)
        for stat in ("mean", "sd", "low", "high"):
            fields[f"{d}_{stat}"] = (float | None, None)
    return fields


class _OutcomeBase(Schema):
    dimension: str
    level: str
    n: Count
    evaluable: Count
    responders: Count
    responder_rate: float | None
    responder_low: float | None
    responder_high: float | None
    dropped_out: Count
    completed: Count
    dropout_rate: float | None
    dropout_low: float | None
    dropout_high: float | None
    sessions_planned: Count
    sessions_attended: Count
    adherence: float | None
    adverse_events: Count
    adverse_events_per_1000: float | None


OutcomeRowOut: Any = pydantic.create_model(
    "OutcomeRowOut", __base__=_OutcomeBase, **_domain_fields()
)


class AdverseEventRowOut(Schema):
    type: str
    severity: str
    events: Count
    sessions: Count
    per_1000_sessions: float | None
    per_1000_low: float | None
    per_1000_high: float | None


class ResearchReportOut(Schema):
    small_cell: int
    filters: dict[str, Any]
    domains: list[str]
    outcomes: list[OutcomeRowOut]
    adverse_events: list[AdverseEventRowOut]
    notes: list[str]


@router.get("/outcomes", response={200: ResearchReportOut, **ERRORS})
def outcomes(request: HttpRequest, filters: Query[OutcomeFilters]) -> Any:
    """Responder rate, mean improvement per domain, adherence, dropout and adverse events by
    breakdown (``by``), as last refreshed; counts under 5 suppressed."""
    require(request, RESEARCHER)
    if filters.start_from and filters.start_to and filters.start_from > filters.start_to:
        raise ApiError(422, [("start_to", "must be on or after start_from")])
    try:
        by = analytics.parse_by(filters.by)
    except analytics.ReportError as exc:
        raise ApiError(422, [("by", str(exc).removeprefix("--by: "))]) from None
    chosen = analytics.Filters(**filters.dict(exclude={"by"}))
    try:
        return analytics.report(analytics.django_engine(), chosen, by=list(by)).as_dict()
    except analytics.ReportError as exc:  # a refused filter, named first in the message
        field, _, message = str(exc).partition(": ")
        raise ApiError(422, [(field, message)]) from None
