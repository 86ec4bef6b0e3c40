"""Search parameters: checked against the type (an unknown one is a 400, not ignored), parsed
once into a ``Query``, and FHIR R4's date prefixes on day ranges.

Search follows FHIR R4's parameter names per type (``date`` where R4 defines it, ``authored`` on
QuestionnaireResponse, ``recorded-date`` on Condition, ``subject`` only on AdverseEvent). Pages
are ``_count`` and ``_offset``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.http import HttpRequest

from acuknee.api.auth import require
from acuknee.api.fhir_api.resources import (
    ID_PATTERN,
    ResourceType,
    Unmapped,
)
from acuknee.api.fhir_api.responses import FhirError, Json
from acuknee.records.ids import storable_pk, whole_number

DEFAULT_COUNT = 20
MAX_COUNT = 500


PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb")
Span = tuple[dt.date, dt.date]
"""A day range, end exclusive."""


def _after(day: dt.date, days: int = 1) -> dt.date:
    """``day`` plus ``days``, held at the calendar's last day: the exclusive end of a range
    ending on 9999-12-31 is not a date Python has, and overflowed into a 500 (issue 13)."""
    return day + dt.timedelta(days=days) if (dt.date.max - day).days >= days else dt.date.max


def parse_date_param(raw: str) -> tuple[str, Span]:
    """``[prefix]YYYY[-MM[-DD[Thh:mm...]]]`` as (prefix, day range). A time of day is ignored:
    acuknee records visits to the day. Digits are ASCII: a regex's ``\\d`` and ``int`` would
    read 2026 written in Arabic-Indic digits as 2026."""
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    value = raw[2:] if raw[:2] in PREFIXES else raw
    try:
        if re.fullmatch(r"[0-9]{4}", value):
            start = dt.date(int(value), 1, 1)
            return prefix, (start, _after(dt.date(start.year, 12, 31)))
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
            start = dt.date(int(value[:4]), int(value[5:]), 1)
            last = _after(start, 31).replace(day=1) - dt.timedelta(days=1)
            if start.year == 9999 and start.month == 12:
                last = dt.date.max
            return prefix, (start, _after(last))
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T.*)?", value):
            day = dt.date.fromisoformat(value[:10])
            if len(value) > 10:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return prefix, (day, _after(day))
    except ValueError:
        pass
    raise FhirError(400, f"not a FHIR date: {raw!r}", "invalid")


def date_matches(prefix: str, param: Span, value: Span) -> bool:
    """FHIR R4 search date prefixes on ranges (3.1.1.4.4 / 3.1.1.5.8)."""
    ps, pe = param
    vs, ve = value
    checks: dict[str, bool] = {
        "eq": ps <= vs and ve <= pe,
        "ne": not (ps <= vs and ve <= pe),
        "lt": vs < ps,
        "le": vs < pe,
        "gt": ve > pe,
        "ge": ve > ps,
        "sa": vs >= pe,
        "eb": ve <= ps,
    }
    return checks[prefix]


def day_of(text: str) -> dt.date:
    """The day of a date or dateTime this server wrote (always a full date). Not for a client's
    date: a posted ``authored`` may be a year alone (``writes._authored_day`` reads it)."""
    return dt.date.fromisoformat(text[:10])


def span_of(resource: Json) -> Span | None:
    """The resource's own date as a day range (the element its ``date`` parameter searches)."""
    kind = resource["resourceType"]
    if kind in ("CarePlan", "Flag"):
        period = resource.get("period")
        if not period:
            return None
        return day_of(period["start"]), day_of(period.get("end", period["start"])) + dt.timedelta(1)
    element = {
        "Observation": "effectiveDateTime",
        "Procedure": "performedDateTime",
        "AdverseEvent": "date",
        "QuestionnaireResponse": "authored",
        "Condition": "recordedDate",
        "ServiceRequest": "authoredOn",
    }.get(kind)
    if element is None or element not in resource:
        return None
    day = day_of(resource[element])
    return day, day + dt.timedelta(days=1)


COMMON_PARAMS = {"_id", "_count", "_offset", "_format", "_total", "_sort"}
PARAM_DOCS: dict[str, tuple[str, str]] = {
    "patient": ("reference", "The patient: Patient/<id> or <id>."),
    "subject": ("reference", "The patient: Patient/<id> or <id> (the only subject type)."),
    "code": ("token", "system|code, |code or code; comma-separated values match any."),
}


def patient_ids(values: list[str], name: str) -> frozenset[int]:
    """The patient ids the ``name`` parameter's references name. A reference whose id is not a
    FHIR id (R4 ``id``: at most 64 ASCII letters, digits, '-' and '.') is a 400 naming the
    parameter; a well-formed id no row can have (not a number, beyond BIGINT) matches nothing,
    as an unknown patient does."""
    out: set[int] = set()
    for value in ",".join(values).split(","):
        parts = value.strip().rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] != "Patient":
            raise FhirError(
                400, f"{name} must reference a Patient, not {value[:80]!r}", expression=name
            )
        if parts[-1] and not ID_PATTERN.match(parts[-1]):
            raise FhirError(
                400,
                f"{name}: {value[:80]!r} is not a FHIR id"
                " (at most 64 ASCII letters, digits, '-' and '.')",
                expression=name,
            )
        pk = storable_pk(parts[-1])
        out.add(-1 if pk is None else pk)  # -1: no such patient, matches nothing
    return frozenset(out)


def code_matches(resource: Json, values: list[str]) -> bool:
    codings = resource.get("code", {}).get("coding", [])
    for token in values:
        system, bar, code = token.rpartition("|")
        for coded in codings:
            if code and coded.get("code") != code:
                continue
            if bar and system and coded.get("system") != system:
                continue
            if bar and not system and coded.get("system"):
                continue
            return True
    return False


def int_param(request: HttpRequest, name: str, default: int, high: int) -> int:
    """``name`` as a whole number in ASCII digits, held at ``high`` (a page is never larger than
    ``MAX_COUNT``; however long the number, a count or offset past that only asks for more than
    there is, so it is held, not refused); anything else is a 400 naming the parameter."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    number = whole_number(raw, high)
    if number is None:
        raise FhirError(
            400, f"{name} must be a whole number in digits 0-9, not {raw[:80]!r}", expression=name
        )
    return number


def check_params(request: HttpRequest, kind: ResourceType) -> None:
    allowed = set(COMMON_PARAMS) | set(kind.patient_params)
    allowed |= {kind.date_param} if kind.date_param else set()
    allowed |= {"code"} if kind.code_param else set()
    allowed |= {name for name, _, _ in kind.extra_params}
    for name in request.GET:
        if name not in allowed:
            listed = ", ".join(sorted(allowed))
            raise FhirError(
                400,
                f"unknown search parameter {name!r} for {kind.name}; supported: {listed}",
                "not-supported",
                name,
            )


@dataclass(frozen=True)
class Query:
    """A search request's parameters, parsed and checked once."""

    ids: tuple[str, ...]
    patients: frozenset[int] | None
    dates: tuple[tuple[str, Span], ...]
    codes: tuple[tuple[str, ...], ...]
    """Each ``code`` parameter's tokens: a resource must match one token of every parameter."""
    sort: tuple[str, ...]
    """``("date",)``, ``("-date",)`` (by the type's date parameter) or ``()``."""
    urls: tuple[str, ...] = ()
    """Each ``url`` parameter without its ``|version`` (Questionnaire's)."""


@dataclass(frozen=True)
class Found:
    """A search's exact total and the resources of the asked page; ``unmapped``: the records
    left out because they could not be mapped (reported as OperationOutcome entries)."""

    total: int
    page: list[Json]
    unmapped: tuple[Unmapped, ...] = ()


def parse_query(request: HttpRequest, kind: ResourceType) -> Query:
    check_params(request, kind)
    require(request, kind.roles)
    ids = [i.strip() for v in request.GET.getlist("_id") for i in v.split(",") if i.strip()]
    patients: frozenset[int] | None = None
    for name in kind.patient_params:
        if name in request.GET:
            chosen = patient_ids(request.GET.getlist(name), name)
            patients = chosen if patients is None else patients & chosen
    dates: tuple[tuple[str, Span], ...] = ()
    if kind.date_param:
        dates = tuple(parse_date_param(raw) for raw in request.GET.getlist(kind.date_param))
    codes: tuple[tuple[str, ...], ...] = ()
    if kind.code_param:
        codes = tuple(tuple(t for t in v.split(",") if t) for v in request.GET.getlist("code"))
    # _sort: by the type's date parameter (``-`` descending), ties in the default (id) order.
    sorts = (kind.date_param, f"-{kind.date_param}") if kind.date_param else ()
    sort = tuple(s.strip() for v in request.GET.getlist("_sort") for s in v.split(",") if s)
    for key in sort:
        if key not in sorts:
            allowed = ", ".join(sorts) or "none"
            raise FhirError(
                400,
                f"cannot sort {kind.name} by {key!r}; supported: {allowed}",
                "not-supported",
                "_sort",
            )
    return Query(
        tuple(ids),
        patients,
        dates,
        codes,
        tuple("-date" if k[0] == "-" else "date" for k in sort[:1]),
        tuple(u.split("|", 1)[0] for u in request.GET.getlist("url")),
    )
