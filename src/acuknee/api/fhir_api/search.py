"""Search: ``search_page`` runs the type's own plan (``SQL_PLANS``, one per served type), which
filters, counts and pages in the database and maps only the page's rows.

Each plan answers what the reference search answers (tests/fhir/reference_search.py maps every
resource of the clinic and filters in Python; tests/fhir/test_search_sql.py checks on random
data that both give the same resources, in the same order, with the same total). Patient, _id and
date are SQL filters, a Bundle's total is a COUNT, and the page is an OFFSET/LIMIT over the rows
in primary-key order (or the date's, for ``_sort``). Where one row gives several resources, or a
resource's date is in JSON, the matching rows are read as light tuples and the resources' ids
listed from them without building anything; only the page's rows are then fetched and mapped:

- Observation (one per scored subscale of a Measurement): from (pk, instrument, scores).
- Flag and ServiceRequest (a few per intake, from its screening): the intakes filtered by
  date (a ServiceRequest's is the ``visit_date``; a Flag's is its period, from the
  ``visit_date`` to that of the live intake that superseded it, ``care.standing``), listed from
  (pk, screening).
- CarePlan (signed plans): the period lives in the plan's JSON; with a date or ``_sort`` it is
  computed from (pk, content) by the mapping's own ``care_plan_period`` and filtered in Python.
- AdverseEvent (one per event of a session): mapped from the matching sessions that record one,
  which are few. Condition's code filter, read from the assessment, runs on the built Conditions
  after the SQL date filter.
- Questionnaire is no row: the fixed list of instruments filtered by ``_id`` and ``url``.

A record that cannot be listed or mapped fails alone: left out, logged and named in
``Found.unmapped``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.db.models import CharField, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.http import HttpRequest

from acuknee.api.fhir_api.query import (
    Found,
    Query,
    Span,
    code_matches,
    date_matches,
    parse_query,
)
from acuknee.api.fhir_api.resources import (
    ResourceType,
    Scope,
    Unmapped,
    adverse_event_jsons,
    care_plan_json,
    condition_json,
    fhir_id,
    flag_jsons,
    id_scope,
    intake_rows,
    live_patients,
    live_records,
    mapped,
    one,
    plan_rows,
    procedure_json,
    questionnaire_jsons,
    service_request_jsons,
)
from acuknee.api.fhir_api.responses import Json
from acuknee.care.standing import next_intake_day
from acuknee.clinical import load_knowledge
from acuknee.clinical.planning import Plan
from acuknee.clinical.screening import Screening
from acuknee.fhir import bulk, care_plan_period
from acuknee.fhir import codes as fhir_codes
from acuknee.records.ids import storable_pk
from acuknee.records.models import IntakeRecord, Measurement, PlanRecord, TreatmentSession

logger = logging.getLogger(__name__)
SqlPlan = Callable[[Scope, Query, ResourceType, int, int], Found]
"""A type's search: (scope, query, type, offset, count) to the page and the exact total."""


def _date_q(column: str, prefix: str, span: Span, text: bool = False, last: str | None = None) -> Q:
    """The rows whose one-day ``column`` matches ``prefix`` and ``span`` as ``date_matches``
    matches the day's range [d, d+1): exact, since a stored day is whole (``text``: the column is
    an ISO date string, as in JSON, which orders as the dates do). With ``last``, the rows whose
    days from ``column`` to ``last`` (both whole) match, as the range [first, last + 1)."""
    start: dt.date | str = span[0].isoformat() if text else span[0]
    end: dt.date | str = span[1].isoformat() if text else span[1]
    last = last or column
    before_start = Q(**{f"{column}__lt": start})
    before_end = Q(**{f"{column}__lt": end})
    last_before_start = Q(**{f"{last}__lt": start})
    last_before_end = Q(**{f"{last}__lt": end})
    last_from_start = Q(**{f"{last}__gte": start})
    from_start = Q(**{f"{column}__gte": start})
    from_end = Q(**{f"{column}__gte": end})
    last_from_end = Q(**{f"{last}__gte": end})
    lookups = {
        "eq": from_start & last_before_end,  # ps <= d and d + 1 <= pe
        "ne": before_start | last_from_end,
        "lt": before_start,  # d < ps
        "le": before_end,  # d < pe
        "gt": last_from_end,  # d + 1 > pe
        "ge": last_from_start,  # d + 1 > ps
        "sa": from_end,  # d >= pe
        "eb": last_before_start,  # d + 1 <= ps
    }
    return lookups[prefix]


def _dated(
    rows: Any, column: str, query: Query, text: bool = False, last: str | None = None
) -> Any:
    for prefix, span in query.dates:
        rows = rows.filter(_date_q(column, prefix, span, text, last))
    return rows


def _exact_pks(kind: ResourceType, ids: Iterable[str], render: Callable[[int], str]) -> set[int]:
    """The rows named by ``ids`` whose id is written exactly as served (``meas-07`` names no
    row: ids compare as text)."""
    assert kind.id_pattern is not None
    pks: set[int] = set()
    for resource_id in ids:
        found = re.match(kind.id_pattern, resource_id)
        pk = storable_pk(found.group(1)) if found is not None else None
        if pk is not None and render(pk) == resource_id:
            pks.add(pk)
    return pks


def _ordered(rows: Any, column: str, query: Query) -> Any:
    """Primary-key order (the order resources are built in), or by the date column for
    ``_sort``, ties in primary-key order (as a stable sort of the pk-ordered list keeps them)."""
    if query.sort == ("date",):
        return rows.order_by(column, "pk")
    if query.sort == ("-date",):
        return rows.order_by(F(column).desc(), "pk")
    return rows.order_by("pk")


def _one_per_row(
    scope: Scope,
    kind: ResourceType,
    rows: Any,
    build: Callable[[Any], Json],
    offset: int,
    count: int,
    *,
    table: str | None = None,
    prepare: Callable[[Any], Any] | None = None,
) -> Found:
    """Types with one resource per row: COUNT, then build only the page's rows (a row that
    cannot be mapped is left out of the page, and counted in the total: it matched).
    ``table`` names the rows' table when they are ``.values()`` dicts; ``prepare`` adds what
    the page's rows need to be mapped (annotations), which the count does not."""
    total = rows.count()
    page = (prepare or (lambda r: r))(rows)[offset : offset + count] if count else []
    return Found(total, mapped(scope, kind.name, page, one(build), table=table) if count else [])


# No resource is validated by fhir.resources on the read path: validating cost about 2.7 ms an
# Observation and 0.9 ms a Condition, most of a page. Patients, QuestionnaireResponses and
# Observations are built from ``.values()`` rows as plain dicts by ``acuknee.fhir.bulk`` (the
# builders bulk $export uses), the other types by ``resources``' mappers (the mapping's
# ``*_data`` dicts). tests/fhir/test_search_mapping.py checks, for every served type, that a page
# is byte for byte the validated mappings' JSON and passes fhir.resources.
MEASUREMENT_FIELDS = ("id", "patient_id", "measured_on", "instrument", "scores", "answers")
"""The ``.values()`` columns ``bulk.observation_dicts`` and ``questionnaire_response_dict`` read."""


def _sql_patients(scope: Scope, query: Query, kind: ResourceType, offset: int, count: int) -> Found:
    rows = live_patients(scope)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, str))
    rows = rows.order_by("pk").values(*bulk.PATIENT_FIELDS)
    return _one_per_row(scope, kind, rows, bulk.patient_dict, offset, count, table="Patient")


def _sql_conditions(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    rows = _dated(live_records(IntakeRecord, scope), "visit_date", query)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"intake-{pk}"))
    rows = _ordered(rows, "visit_date", query)
    if not query.codes:
        return _one_per_row(scope, kind, rows, condition_json, offset, count)
    # The codes come from the assessment's JSON (a cause's ICD-10 and SNOMED CT codes): matched
    # on the built resources, a few per patient, after the SQL date filter.
    found = mapped(scope, kind.name, rows, one(condition_json))
    for tokens in query.codes:
        found = [r for r in found if code_matches(r, list(tokens))]
    return Found(len(found), found[offset : offset + count])


def _session_rows(scope: Scope, query: Query) -> Any:
    """Sessions whose recorded day (``SessionRecord.date`` in ``data``, the day Procedure and
    AdverseEvent carry) matches the date parameters; ``session_date`` holds the same day but is
    written separately, so the filter reads the JSON the mapping reads."""
    rows = live_records(TreatmentSession, scope).annotate(
        fhir_day=Cast(KeyTextTransform("date", "data"), CharField())
    )
    return _ordered(_dated(rows, "fhir_day", query, text=True), "fhir_day", query)


def _sql_procedures(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    rows = _session_rows(scope, query)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"session-{pk}"))
    rows = rows.select_related("plan", "created_by")
    return _one_per_row(scope, kind, rows, procedure_json, offset, count)


def _sql_adverse_events(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    # Few sessions record an event: the rest are left out in SQL (a missing key stays in).
    rows = _session_rows(scope, query).exclude(data__adverse_events=[])
    found = mapped(scope, kind.name, rows.select_related("plan"), adverse_event_jsons)
    if query.ids:
        found = [e for e in found if e["id"] in query.ids]
    return Found(len(found), found[offset : offset + count])


def _measurement_rows(scope: Scope, query: Query) -> Any:
    return _dated(live_records(Measurement, scope), "measured_on", query)


def _sql_questionnaire_responses(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    rows = _measurement_rows(scope, query)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"meas-{pk}"))
    rows = _ordered(rows, "measured_on", query).values(*MEASUREMENT_FIELDS)
    templates = bulk.templates()
    return _one_per_row(
        scope,
        kind,
        rows,
        lambda row: bulk.questionnaire_response_dict(row, templates),
        offset,
        count,
        table="Measurement",
    )


def _subscale_codes() -> dict[tuple[str, str], Json]:
    """Every Observation ``code`` the mapping writes, by (instrument, subscale): the LOINC code
    where the subscale has one, then acuknee's ``<instrument>.<subscale>``."""
    out: dict[tuple[str, str], Json] = {}
    for inst in load_knowledge().instruments.values():
        for sub in inst.subscales:
            listed = [{"system": fhir_codes.LOINC, "code": sub.loinc}] if sub.loinc else []
            listed.append({"system": fhir_codes.SUBSCALE_SYSTEM, "code": f"{inst.id}.{sub.id}"})
            out[(inst.id, sub.id)] = {"code": {"coding": listed}}
    return out


def _observation_keys(query: Query) -> frozenset[tuple[str, str]] | None:
    """The (instrument, subscale) pairs whose code matches every ``code`` parameter (by
    ``code_matches`` itself), or None when no code was asked."""
    if not query.codes:
        return None
    chosen = _subscale_codes()
    keys = set(chosen)
    for tokens in query.codes:
        keys = {k for k in keys if code_matches(chosen[k], list(tokens))}
    return frozenset(keys)


def _sql_observations(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    """Observations: the matching Measurements' (pk, instrument, scores) in order, each expanded
    to the ids of its scored subscales (as ``observation_resources`` skips an unscored one), the
    code and _id filters applied to those, and only the page's Measurements mapped."""
    rows = _measurement_rows(scope, query)
    wanted = _observation_keys(query)
    if wanted is not None:
        rows = rows.filter(instrument__in=sorted({i for i, _ in wanted}))
    if query.ids:
        found = (re.match(r"^meas-(\d+)-", i) for i in query.ids)
        pks = {pk for m in found if m is not None and (pk := storable_pk(m.group(1))) is not None}
        rows = rows.filter(pk__in=pks)
    kb = load_knowledge()
    order = {i.id: [s.id for s in i.subscales] for i in kb.instruments.values()}
    ids = set(query.ids)

    def listed(row: tuple[int, str, Any]) -> list[tuple[int, str]]:
        pk, instrument, scores = row
        out: list[tuple[int, str]] = []
        scored = scores.get("subscales", {})
        for subscale in order[instrument]:
            score = scored.get(subscale)
            if score is None or score.get("value") is None:
                continue
            if wanted is not None and (instrument, subscale) not in wanted:
                continue
            resource_id = f"meas-{pk}-{fhir_id(subscale)}"
            if ids and resource_id not in ids:
                continue
            out.append((pk, resource_id))
        return out

    def expand(found: Any) -> dict[int, list[tuple[int, str]]]:
        """The keys of each (pk, instrument, scores) row; a row whose scores cannot be read is
        left out and listed in ``unmapped``, as ``mapped`` does."""
        out: dict[int, list[tuple[int, str]]] = {}
        for row in found.values_list("pk", "instrument", "scores"):
            try:
                out[row[0]] = listed(row)
            except Exception:  # bad stored scores or instrument: as ``mapped`` does
                if scope.unmapped is None:
                    raise
                logger.exception("FHIR Observation of Measurement %s could not be listed", row[0])
                scope.unmapped.append(Unmapped(kind.name, "Measurement", row[0]))
                out[row[0]] = []
        return out

    ordered = _ordered(rows, "measured_on", query)
    if wanted is None and not ids:
        # Every scored subscale is an Observation: a row rendered under the current mapping
        # stores how many (``fhir_observation_count``), so only the page's rows and the rows
        # rendered under an older mapping have their scores read (a JSON decode each, most of
        # the search's time over thousands of matches).
        current = bulk.render_version(kb)
        light = list(ordered.values_list("pk", "fhir_version", "fhir_observation_count"))
        # The stale rows are asked for only when the light rows show one (a second pass over
        # the matches, which cost about a third of the search when every row was current).
        any_stale = any(v != current for _, v, _ in light)
        stale = expand(ordered.exclude(fhir_version=current)) if any_stale else {}
        sizes = [(pk, n if v == current else len(stale.get(pk, ()))) for pk, v, n in light]
        start, first = 0, 0
        chosen: list[int] = []
        for pk, n in sizes:
            if n and start + n > offset and start < offset + count:
                first = first if chosen else start
                chosen.append(pk)
            start += n
        total = start
        fresh = expand(Measurement.objects.filter(pk__in=[p for p in chosen if p not in stale]))
        page_keys = [k for pk in chosen for k in (stale | fresh).get(pk, ())]
        chunk = page_keys[offset - first : offset - first + count]
    else:
        by_row = expand(ordered)
        keys = [k for found in by_row.values() for k in found]  # in the rows' order
        total, chunk = len(keys), keys[offset : offset + count]
    page = Measurement.objects.filter(pk__in={pk for pk, _ in chunk}).order_by("pk")
    templates = bulk.templates(kb)
    resources = mapped(
        scope,
        kind.name,
        page.values(*MEASUREMENT_FIELDS),
        lambda row: bulk.observation_dicts(row, templates),
        table="Measurement",
    )
    built = {o["id"]: o for o in resources}
    return Found(total, [built[i] for _, i in chunk if i in built])


def _listed(
    scope: Scope,
    kind: ResourceType,
    table: str,
    rows: Iterable[tuple[Any, ...]],
    listing: Callable[[tuple[Any, ...]], list[str]],
    ids: Iterable[str],
) -> list[tuple[int, int]]:
    """(row pk, position among the row's resources) of every resource ``listing`` names from
    a row's light columns (the row's pk first), in the rows' order, kept when ``ids`` is empty
    or holds its id; a row that cannot be listed is logged and left out, as ``mapped`` does."""
    wanted = set(ids)
    keys: list[tuple[int, int]] = []
    for row in rows:
        try:
            listed = listing(row)
        except Exception:  # bad stored JSON: as ``mapped`` does
            if scope.unmapped is None:
                raise
            logger.exception("FHIR %s of %s %s could not be listed", kind.name, table, row[0])
            scope.unmapped.append(Unmapped(kind.name, table, row[0]))
            continue
        keys += [(row[0], n) for n, i in enumerate(listed) if not wanted or i in wanted]
    return keys


def _page_of(
    scope: Scope,
    kind: ResourceType,
    keys: list[tuple[int, int]],
    source: Any,
    build: Callable[[Any], list[Json]],
    offset: int,
    count: int,
) -> Found:
    """The page ``keys[offset:offset + count]`` of listed resources: only the page's rows are
    fetched (from ``source``, a queryset with what their mapping reads) and mapped (a row that
    cannot be mapped is left out of the page, and counted)."""
    chunk = keys[offset : offset + count]
    records = source.filter(pk__in={pk for pk, _ in chunk}).order_by("pk")
    built = {r.pk: mapped(scope, kind.name, [r], build) for r in records}
    page = [built[pk][n] for pk, n in chunk if n < len(built.get(pk, ()))]
    return Found(len(keys), page)


def _screening_plan(field: str, build: Callable[[IntakeRecord], list[Json]]) -> SqlPlan:
    """Flags (``findings``) and ServiceRequests (``referrals``): a few per intake, read from its
    stored screening. The intakes are filtered in SQL (a ServiceRequest's date is the intake's
    day; a Flag's period runs from it to the day of the intake that superseded it, or is that day
    alone), each one's ids listed from (pk, screening) without building a resource, then the
    page's intakes mapped."""

    def plan(scope: Scope, query: Query, kind: ResourceType, offset: int, count: int) -> Found:
        rows = live_records(IntakeRecord, scope)
        if field == "findings" and query.dates:
            rows = rows.annotate(flag_last=Coalesce(next_intake_day(), F("visit_date")))
            rows = _dated(rows, "visit_date", query, last="flag_last")
        else:
            rows = _dated(rows, "visit_date", query)
        rows = _ordered(rows, "visit_date", query).values_list("pk", "screening")

        def listing(row: tuple[Any, ...]) -> list[str]:
            pk, screening = row
            listed = getattr(Screening.model_validate(screening), field)
            return [f"intake-{pk}-{fhir_id(item.rule)}" for item in listed]

        keys = _listed(scope, kind, "IntakeRecord", rows, listing, query.ids)
        source = intake_rows(IntakeRecord.objects.all())
        return _page_of(scope, kind, keys, source, build, offset, count)

    return plan


def _sql_care_plans(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    """Signed plans. Their date is the plan's period, in the plan's JSON: with a date or
    ``_sort``, the period is computed from (pk, content) by the mapping's own
    ``care_plan_period`` (no resource built), filtered and sorted in Python (a plan without a
    visit has no date: it matches no date and sorts last), and only the page's plans mapped."""
    rows = live_records(PlanRecord, scope).filter(status="signed")
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"plan-{pk}"))
    if not query.dates and not query.sort:
        return _one_per_row(scope, kind, rows, care_plan_json, offset, count, prepare=plan_rows)
    spans: dict[int, Span | None] = {}

    def listing(row: tuple[Any, ...]) -> list[str]:
        pk, content = row
        period = care_plan_period(Plan.model_validate(content))
        span = None if period is None else (period[0], period[1] + dt.timedelta(days=1))
        if not all(span is not None and date_matches(p, s, span) for p, s in query.dates):
            return []
        spans[pk] = span
        return [f"plan-{pk}"]

    keys = _listed(scope, kind, "PlanRecord", rows.values_list("pk", "content"), listing, ())
    if query.sort:
        # As a stable sort of the pk-ordered list: ties keep pk order; undated last either way.
        dated = [k for k in keys if spans[k[0]] is not None]
        dated.sort(key=lambda k: cast(Span, spans[k[0]])[0], reverse=query.sort[0] == "-date")
        keys = dated + [k for k in keys if spans[k[0]] is None]
    source = plan_rows(PlanRecord.objects.all())
    return _page_of(scope, kind, keys, source, one(care_plan_json), offset, count)


def _sql_questionnaires(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    """Questionnaires are no rows (one per instrument, static): the instruments filtered by
    ``_id`` and ``url``, and built only when the page holds one."""
    names = [
        name
        for name in sorted(load_knowledge().instruments)
        if (not query.ids or fhir_id(name) in query.ids)
        and all(fhir_codes.questionnaire_url(name) == url for url in query.urls)
    ]
    chunk = names[offset : offset + count]
    if not chunk:
        return Found(len(names), [])
    built = {r["id"]: r for r in questionnaire_jsons()}
    return Found(len(names), [built[fhir_id(name)] for name in chunk])


SQL_PLANS: dict[str, SqlPlan] = {
    "Patient": _sql_patients,
    "Condition": _sql_conditions,
    "Procedure": _sql_procedures,
    "AdverseEvent": _sql_adverse_events,
    "QuestionnaireResponse": _sql_questionnaire_responses,
    "Observation": _sql_observations,
    "Flag": _screening_plan("findings", flag_jsons),
    "ServiceRequest": _screening_plan("referrals", service_request_jsons),
    "CarePlan": _sql_care_plans,
    "Questionnaire": _sql_questionnaires,
}
"""Each served type's plan (tests/fhir/test_search_sql.py checks every type is here)."""


def search_page(request: HttpRequest, kind: ResourceType, offset: int, count: int) -> Found:
    """The page ``[offset, offset + count)`` of the resources of ``kind`` the request matches
    (sorted by ``_sort`` when given), and their exact total; a record that cannot be mapped is
    left out and listed in ``unmapped`` (logged), never failing the page."""
    query = parse_query(request, kind)
    unmapped: list[Unmapped] = []
    pks = id_scope(kind, list(query.ids)) if query.ids else None
    plan = SQL_PLANS[kind.name]
    page = plan(Scope(request, query.patients, pks, unmapped), query, kind, offset, count)
    return Found(page.total, page.page, tuple(unmapped))
