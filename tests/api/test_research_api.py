"""``GET /api/v1/research/outcomes``: researcher only, aggregates only, small cells suppressed."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from acuknee.research.models import AdverseEventFact, CourseOutcome
from tests.api.conftest import api_for
from tests.research.test_analytics import course

pytestmark = pytest.mark.django_db
PATIENT_FIELDS = {"patient", "course_id", "record_number", "given_name", "family_name", "age"}


def _network() -> None:
    """Clinic 1: 8 courses (5 responders); clinic 2: 3 courses (a small cell)."""
    rows = [
        course(i, verdict="responder" if i <= 5 else "non_responder", responder=i <= 5)
        for i in range(1, 9)
    ]
    rows += [course(i, clinic_id=2, method="electro") for i in range(9, 12)]
    for i, r in enumerate(rows):
        r["pain_improvement"] = 5.0 * i
    CourseOutcome.objects.bulk_create([CourseOutcome(**r) for r in rows])
    AdverseEventFact.objects.create(course_id=1, session_number=2, type="bruising", severity="mild")


def _row(rows: list[dict[str, Any]], dimension: str, level: str) -> dict[str, Any]:
    return next(r for r in rows if r["dimension"] == dimension and r["level"] == level)


def test_researcher_gets_pooled_outcomes(rex: User) -> None:
    _network()
    response = api_for(rex).get("/research/outcomes")
    assert response.status_code == 200
    data = response.json()
    whole = _row(data["outcomes"], "all", "all")
    assert whole["n"] == 11
    assert whole["responders"] == 5
    assert whole["responder_rate"] == pytest.approx(5 / 11)
    assert data["small_cell"] == 5


def test_small_cells_are_suppressed_in_the_api(rex: User) -> None:
    _network()
    data = api_for(rex).get("/research/outcomes", by="clinic").json()
    clinic2 = _row(data["outcomes"], "clinic", "2")
    assert clinic2["n"] == "<5"
    assert clinic2["responder_rate"] is None
    assert clinic2["pain_mean"] is None
    # the only other clinic is hidden too: the whole network minus it would give clinic 2 back
    assert _row(data["outcomes"], "clinic", "1")["n"] == "suppressed"
    events = _row(
        [{"dimension": e["type"], "level": e["severity"], **e} for e in data["adverse_events"]],
        "all",
        "all",
    )
    assert events["events"] == "<5"
    assert events["per_1000_sessions"] is None


def test_answer_holds_no_patient_level_field(rex: User) -> None:
    _network()
    data = api_for(rex).get("/research/outcomes").json()
    for r in data["outcomes"] + data["adverse_events"]:
        assert not set(r) & PATIENT_FIELDS
    assert {r["dimension"] for r in data["outcomes"]} >= {"all", "clinic", "cause"}


def test_unknown_breakdown_is_a_422_naming_the_field(rex: User) -> None:
    response = api_for(rex).get("/research/outcomes", by="clinic,colour")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "by"
    assert "colour" in response.json()["errors"][0]["message"]


def test_filters_narrow_the_courses(rex: User) -> None:
    _network()
    data = api_for(rex).get("/research/outcomes", method="electro", by="method").json()
    assert _row(data["outcomes"], "all", "all")["n"] == "<5"
    assert data["filters"] == {"method": "electro"}


def test_reversed_date_range_is_refused(rex: User) -> None:
    response = api_for(rex).get(
        "/research/outcomes", start_from="2026-02-01", start_to="2026-01-01"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "start_to"


def test_a_day_window_is_rounded_out_to_its_quarter_and_the_answer_says_so(rex: User) -> None:
    _network()
    data = (
        api_for(rex)
        .get("/research/outcomes", start_from="2026-01-02", start_to="2026-03-01")
        .json()
    )
    assert data["filters"] == {"period": "2026-Q1"}
    assert any("rounded outward to period 2026-Q1" in note for note in data["notes"])
    assert _row(data["outcomes"], "all", "all")["n"] == 11  # every course starts 2026-01-05


def test_a_window_over_two_years_is_refused_naming_start_to(rex: User) -> None:
    response = api_for(rex).get(
        "/research/outcomes", start_from="2025-12-01", start_to="2026-01-31"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "start_to"


def test_a_malformed_period_is_refused_by_name_in_the_api(rex: User) -> None:
    response = api_for(rex).get("/research/outcomes", period="2026-Q7")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "period"


def test_a_period_filter_picks_a_calendar_quarter(rex: User) -> None:
    _network()
    data = api_for(rex).get("/research/outcomes", period="2026-Q2").json()
    assert _row(data["outcomes"], "all", "all")["n"] == 0
    assert data["filters"] == {"period": "2026-Q2"}
