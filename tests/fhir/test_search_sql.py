"""FHIR search in SQL (``search_page``) answers what the Python filter (``search_resources``) does.

``search_resources`` (tests/fhir/reference_search.py) builds every resource of the clinic and
filters them in Python: it is the reference semantics, the oracle. ``search_page`` runs each
type's own plan (filter and page in SQL, build only the page). Here both answer many seeded random
searches (date prefixes and precisions, codes, ids, urls, patients, pages, ``_sort``) over a
clinic with measurements, sessions, signed plans and screened intakes (Flags, ServiceRequests)
spread over three years, and must give the same total and the same page, resource for resource.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from acuknee import demo
from acuknee.api.fhir_api import query as fhir_query
from acuknee.api.fhir_api import search as fhir_search
from acuknee.api.fhir_api.resources import RESOURCE_TYPES
from acuknee.api.fhir_api.responses import FhirError
from acuknee.api.fhir_api.search import search_page
from acuknee.clinical import Intake, Plan
from acuknee.records.models import Patient, Role
from tests.api.conftest import another_patient
from tests.fhir.reference_search import search_resources
from tests.fhir.server_course import START, Course, build_course, fhir_for
from tests.module_records import from_records, module_records
from tests.pages import conftest as personas

FIRST_DAY = dt.date(2023, 11, 1)  # three years that end before today: no record in the future
DAYS = 3 * 365
INSTRUMENTS = ("koos", "pain_nrs", "patient_global", "pss4")
DATED_TYPES = (
    "Observation",
    "QuestionnaireResponse",
    "Condition",
    "Procedure",
    "AdverseEvent",
    "CarePlan",
    "Flag",
    "ServiceRequest",
)
SAFETY_VARIANTS: tuple[dict[str, Any], ...] = (
    {},  # no finding, no referral
    {"health": {"anticoagulant": "warfarin"}},
    {"health": {"anticoagulant": "warfarin", "implanted_electronic_device": True}},
    {"red_flags": {"hot_swollen_knee": True, "fever": True}},
    {"red_flags": {"true_locking": True}, "health": {"metal_allergy": True}},
)
"""Intakes whose screening gives none, one or several Flags and ServiceRequests."""


@dataclass
class World:
    course: Course
    patients: list[Patient]
    days: list[dt.date]
    alice: User
    """The Northside practitioner who sees ``patients``."""
    carol: User
    """The Southside practitioner: her clinic's records must never show in Northside's searches."""

    @property
    def ada(self) -> Patient:
        """The Northside patient whose course the world is built around."""
        return self.patients[0]


def _day(rng: random.Random) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))


def _measure(rng: random.Random, someone: Patient, user: User, days: list[dt.date]) -> None:
    answers = demo.visit_answers(rng, rng.random())
    for instrument in rng.sample(INSTRUMENTS, rng.randint(1, len(INSTRUMENTS))):
        given = dict(answers[instrument])
        if instrument == "koos" and rng.random() < 0.3:
            # Too few answers for some subscales: those give no Observation.
            for code in rng.sample(sorted(given), len(given) * 2 // 3):
                given[code] = None
        day = _day(rng) if rng.random() < 0.7 else rng.choice(days)
        days.append(day)
        demo.record_measurement(someone, instrument, given, day, user)


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """The clinic, built once for the module's tests (tests/module_records.py)."""
    with module_records(django_db_blocker):
        northside = personas.northside_clinic()
        southside = personas.southside_clinic()
        alice = personas.staff("alice", northside, Role.PRACTITIONER)
        carol = personas.staff("carol", southside, Role.PRACTITIONER)
        patient = personas.ada(northside, alice)
        yield _build_world(patient, alice, carol)


alice = from_records("world", "alice")
carol = from_records("world", "carol")
patient = from_records("world", "ada", name="patient")


def _build_world(patient: Patient, alice: User, carol: User) -> World:
    """Ada's course plus two more patients (and a Southside one, never seen) with measurements,
    extra sessions (some with a bruise) and a second intake on random days."""
    rng = random.Random(20261125)
    course = build_course(patient, alice)
    days = [course.intake.visit_date, course.reassessed_on]
    others = [another_patient(patient.clinic, alice, n) for n in ("S-1", "S-2")]
    stranger = another_patient(carol.staff.clinic, carol, "X-1")
    for someone in [patient, *others, stranger]:
        for _ in range(4):
            _measure(rng, someone, alice, days)
    content = Plan.model_validate(course.plan.content)
    for number in range(4, 9):
        # a session falls between its plan's start and the last day of the measurement range
        span = (FIRST_DAY + dt.timedelta(DAYS) - START).days
        day = START + dt.timedelta(days=rng.randrange(span))
        days.append(day)
        record = demo.session_from_plan(
            content,
            number,
            day,
            pain_before=5,
            pain_after=3,
            practitioner=alice.username,
            adverse_events=[demo.ADVERSE_BRUISE] * rng.choice((0, 0, 1, 2)),
        )
        demo.record_session(course.plan, record, alice)
    intake = Intake.model_validate(course.intake.data)
    for someone in [patient, *others]:
        days.append(demo.record_intake(someone, intake, _day(rng), alice).visit_date)
    for someone in [*others, stranger]:
        # Signed plans (CarePlans) over random periods, before any referral stands.
        for day in sorted(_day(rng) for _ in range(3)):
            planned = demo.record_intake(someone, intake, day, alice)
            start = day + dt.timedelta(days=rng.randrange(1, 30))
            days += [day, start]
            assert demo.record_plan(planned, start, alice if someone in others else carol)
    for someone in [patient, *others, stranger]:
        for variant in rng.sample(SAFETY_VARIANTS * 2, 6):
            # No baseline: these intakes add Flags and ServiceRequests, not measurements.
            screened = Intake.model_validate(course.intake.data | variant | {"baseline": {}})
            user = carol if someone is stranger else alice
            days.append(demo.record_intake(someone, screened, _day(rng), user).visit_date)
    return World(course, [patient, *others], days, alice, carol)


# --- random searches -----------------------------------------------------------------------------


def _date_text(rng: random.Random, day: dt.date) -> str:
    shape = rng.randrange(6)
    if shape == 0:
        return f"{day.year}"
    if shape == 1:
        return f"{day.year}-{day.month:02d}"
    if shape == 2:
        zone = rng.choice(("Z", "+05:30", "-08:00", "+00:00"))
        return f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00{zone}"
    return day.isoformat()


def _date_param(rng: random.Random, days: list[dt.date]) -> str:
    near = rng.choice(days) + dt.timedelta(days=rng.choice((-1, 0, 0, 0, 1, 30)))
    day = near if rng.random() < 0.8 else _day(rng)
    prefix = rng.choice((*fhir_query.PREFIXES, ""))
    return prefix + _date_text(rng, day)


def _codes(kind: str, request: Any) -> list[tuple[str, str]]:
    """(system, code) of every coding the type's resources carry."""
    found = search_resources(request, RESOURCE_TYPES[kind])
    return sorted({(c.get("system", ""), c["code"]) for r in found for c in r["code"]["coding"]})


def _token(rng: random.Random, codings: list[tuple[str, str]]) -> str:
    system, code = rng.choice(codings)
    shape = rng.randrange(5)
    if shape == 0:
        return code
    if shape == 1:
        return f"|{code}"  # no system: matches none of ours, all carry one
    if shape == 2:
        return f"{system}|"
    if shape == 3:
        return f"urn:other|{code}"
    return f"{system}|{code}"


def _searches(
    rng: random.Random,
    kind: str,
    world: World,
    codings: list[tuple[str, str]],
    every: list[str],
    urls: list[str],
) -> Iterator[dict[str, list[str]]]:
    spec = RESOURCE_TYPES[kind]
    for _ in range(60):
        params: dict[str, list[str]] = {}
        if urls and rng.random() < 0.5:
            url = rng.choice([*urls, "urn:no-such-questionnaire"])
            params["url"] = [rng.choice((url, f"{url}|1.0"))]
        if spec.date_param and rng.random() < 0.9:
            params[spec.date_param] = [
                _date_param(rng, world.days) for _ in range(rng.choice((1, 1, 2)))
            ]
        if spec.patient_params and rng.random() < 0.3:
            chosen = rng.choice(world.patients).pk
            name = rng.choice(spec.patient_params)
            params[name] = [rng.choice((f"Patient/{chosen}", str(chosen)))]
        if spec.code_param and codings and rng.random() < 0.5:
            params["code"] = [
                ",".join(_token(rng, codings) for _ in range(rng.randint(1, 3)))
                for _ in range(rng.choice((1, 1, 2)))
            ]
        if every and rng.random() < 0.2:
            picked = rng.sample(every, min(len(every), rng.randint(1, 4)))
            picked.append(rng.choice(every).replace("-", "-0", 1))  # names no resource
            params["_id"] = [",".join(picked)]
        if spec.date_param and rng.random() < 0.2:
            params["_sort"] = [rng.choice((spec.date_param, f"-{spec.date_param}"))]
        yield params


def _request(user: User, params: dict[str, list[str]]) -> Any:
    request = RequestFactory().get("/fhir/x", params)
    request.user = user
    return request


def _start(resource: Any) -> dt.date:
    span = fhir_query.span_of(resource)
    assert span is not None
    return span[0]


def _reference(
    request: Any, kind: str, params: dict[str, list[str]], mapped: dict[Any, list[Any]]
) -> list[Any]:
    """``search_resources``, then ``_sort`` as a stable sort on the resource's own date."""
    found = search_resources(request, RESOURCE_TYPES[kind], mapped=mapped)
    for key in params.get("_sort", []):
        found.sort(key=_start, reverse=key.startswith("-"))
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [*DATED_TYPES, "Patient", "Questionnaire"])
def test_sql_search_answers_what_the_python_filter_answers(
    kind: str, world: World, alice: User
) -> None:
    rng = random.Random(sum(map(ord, kind)))
    everything = _request(alice, {})
    spec = RESOURCE_TYPES[kind]
    codings = _codes(kind, everything) if spec.code_param else []
    found = search_resources(everything, spec)
    every = [r["id"] for r in found]
    urls = [r["url"] for r in found] if kind == "Questionnaire" else []
    assert len(every) >= 3
    matched = 0
    mapped: dict[Any, list[Any]] = {}  # the records do not change between the searches
    for params in _searches(rng, kind, world, codings, every, urls):
        request = _request(alice, params)
        expected = _reference(request, kind, params, mapped)
        offset = rng.choice((0, 0, 0, 1, 3, len(expected), len(expected) + 5))
        count = rng.choice((0, 1, 2, 5, 20, 500))
        found = search_page(request, spec, offset, count)
        assert found.total == len(expected), params
        assert found.page == expected[offset : offset + count], (params, offset, count)
        matched += bool(expected) and 0 < len(expected) < len(every)
    if kind in (*DATED_TYPES, "Questionnaire"):
        assert matched > 5, "the random searches must hit partial results"


def test_every_served_type_is_searched_by_its_own_plan() -> None:
    """No type falls back to mapping the whole clinic: the reference search is a test oracle."""
    assert set(fhir_search.SQL_PLANS) == set(RESOURCE_TYPES)


# --- equivalence of the date translation on its own ----------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_date_filter_in_sql_matches_date_matches_for_every_prefix(seed: int) -> None:
    """``_date_q`` is checked against ``_date_matches`` on one-day values without a database:
    each Q is evaluated by hand (a small interpreter of its lookups)."""
    rng = random.Random(seed)
    for _ in range(400):
        prefix, span = fhir_query.parse_date_param(_date_param(rng, [FIRST_DAY]))
        q = fhir_search._date_q("day", prefix, span)
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(-400, 400))
        expected = fhir_query.date_matches(prefix, span, (day, day + dt.timedelta(days=1)))
        assert _evaluate(q, day) == expected, (prefix, span, day)


def _evaluate(q: Any, day: dt.date) -> bool:
    results = []
    for child in q.children:
        if hasattr(child, "children"):
            results.append(_evaluate(child, day))
            continue
        lookup, value = child
        op = lookup.rsplit("__", 1)[1]
        results.append(day < value if op == "lt" else day >= value)
    out = all(results) if q.connector == "AND" else any(results)
    return not out if q.negated else out


# --- what the SQL path costs, and the HTTP surface ----------------------------------------------


@pytest.mark.django_db
def test_an_observation_page_builds_only_its_measurements(
    world: World, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of two Observations maps at most two Measurements, whatever the clinic holds, in
    a constant few queries (the rows' light columns, then the page's rows), not one per row."""
    request = _request(alice, {"date": ["ge2025-01-01"]})
    calls: list[int] = []
    original = fhir_search.bulk.observation_dicts

    def counted(row: dict[str, Any], templates: Any) -> Any:
        calls.append(row["id"])
        return original(row, templates)

    monkeypatch.setattr(fhir_search.bulk, "observation_dicts", counted)
    with CaptureQueriesContext(connection) as queries:
        found = search_page(request, RESOURCE_TYPES["Observation"], 5, 2)
    assert found.total > 20
    assert len(found.page) == 2
    assert len(set(calls)) <= 2
    assert len(queries) <= 6


@pytest.mark.django_db
def test_a_flag_service_request_or_care_plan_page_maps_only_its_rows(
    world: World, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their ids are listed from light columns (the screening, the plan's period): a page of two
    maps at most two intakes or plans, whatever the clinic holds."""
    mapped_pks: list[int] = []
    original = fhir_search.mapped

    def counted(scope: Any, resource_type: str, records: Any, build: Any, **kw: Any) -> Any:
        records = list(records)
        mapped_pks.extend(r.pk for r in records)
        return original(scope, resource_type, records, build, **kw)

    monkeypatch.setattr(fhir_search, "mapped", counted)
    searches = [
        ("Flag", {}),
        ("ServiceRequest", {"authored": ["ge2024"], "_sort": ["authored"]}),
        ("CarePlan", {}),
        ("CarePlan", {"date": ["ge2024"], "_sort": ["-date"]}),
    ]
    for kind, params in searches:
        mapped_pks.clear()
        found = search_page(_request(alice, params), RESOURCE_TYPES[kind], 1, 2)
        assert found.total > 3, kind
        assert len(found.page) == 2, kind
        assert len(set(mapped_pks)) <= 2, (kind, params)


@pytest.mark.django_db
def test_sort_by_date_descending_over_http(world: World, alice: User) -> None:
    fhir = fhir_for(alice)
    data = fhir.get("Observation", _sort="-date", _count="500").json()
    days = [e["resource"]["effectiveDateTime"] for e in data["entry"]]
    assert days == sorted(days, reverse=True)
    assert data["total"] == len(days)
    ascending = fhir.get("Procedure", _sort="date").json()
    performed = [e["resource"]["performedDateTime"] for e in ascending["entry"]]
    assert performed == sorted(performed)


@pytest.mark.django_db
def test_sort_by_an_unsupported_key_is_400(alice: User, patient: Patient) -> None:
    fhir = fhir_for(alice)
    response = fhir.get("Observation", _sort="value")
    assert response.status_code == 400
    assert "supported: date, -date" in response.json()["issue"][0]["diagnostics"]
    assert fhir.get("Patient", _sort="date").status_code == 400
    assert fhir.get("QuestionnaireResponse", _sort="date").status_code == 400
    assert fhir.get("QuestionnaireResponse", _sort="-authored").status_code == 200


@pytest.mark.django_db
def test_paging_links_follow_the_sql_total(world: World, alice: User) -> None:
    fhir = fhir_for(alice)
    first = fhir.get("Observation", date="ge2025", _count="7").json()
    seen = [e["resource"]["id"] for e in first["entry"]]
    following = first
    while any(link["relation"] == "next" for link in following["link"]):
        url = next(link["url"] for link in following["link"] if link["relation"] == "next")
        following = fhir.client.get(url.removeprefix("http://testserver"), headers=fhir.headers())
        following = following.json()
        seen += [e["resource"]["id"] for e in following.get("entry", [])]
    assert len(seen) == first["total"] == len(set(seen))


@pytest.mark.django_db
def test_a_bad_date_is_still_400_before_any_query(alice: User, patient: Patient) -> None:
    request = _request(alice, {"date": ["ge2025-13"]})
    with pytest.raises(FhirError):
        search_page(request, RESOURCE_TYPES["Observation"], 0, 10)


@pytest.mark.django_db
def test_another_clinics_records_are_not_found_in_sql(world: World, carol: User) -> None:
    request = _request(carol, {"date": ["ge2025"]})
    found = search_page(request, RESOURCE_TYPES["Observation"], 0, 500)
    patients = {r["subject"]["reference"] for r in found.page}
    assert patients
    assert not patients & {f"Patient/{x.pk}" for x in world.patients}
    assert found.total == len(found.page)


@pytest.mark.django_db
def test_metadata_documents_sort() -> None:
    rest = fhir_for(None).get("metadata").json()["rest"][0]
    assert "_sort by the type's date parameter" in rest["documentation"]
