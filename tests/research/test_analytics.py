"""The pooled analytics: numbers against a hand-computed dataset and an independent pandas
computation, the same on DuckDB/Parquet and on the app's database, small cells suppressed."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from acuknee.research import analytics
from acuknee.research.analytics import DuckDBEngine, Filters, ReportError
from acuknee.research.models import AdverseEventFact, CourseOutcome
from acuknee.research.schema import ADVERSE_EVENT_COLUMNS, COURSE_COLUMNS
from benchmarks.bench_research import pandas_adverse_events, pandas_report, synthetic_tables

_DEFAULTS: dict[str, Any] = {
    "bigint": 0,
    "int": 0,
    "float": None,
    "bool": False,
    "text": "x",
    "date": dt.date(2026, 1, 5),
}


def course(course_id: int, **values: Any) -> dict[str, Any]:
    """One research_course row built from the schema, with sensible defaults."""
    row = {c.name: _DEFAULTS[c.kind] for c in COURSE_COLUMNS}
    row |= {
        "course_id": course_id,
        "clinic_id": 1,
        "clinic_region": "North",
        "sex": "female",
        "age": 66,
        "age_band": "60-69",
        "cause": "knee_osteoarthritis",
        "severity_band": "moderate",
        "side": "left",
        "protocol_id": "knee-oa-manual-gerac",
        "method": "manual",
        "sessions_planned": 10,
        "sessions_attended": 10,
        "completed": True,
        "verdict": "non_responder",
        "responder": False,
    }
    return row | values


def frames(
    courses: list[dict[str, Any]], events: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    course_frame = pd.DataFrame(courses, columns=[c.name for c in COURSE_COLUMNS])
    for c in COURSE_COLUMNS:
        if c.kind == "float":
            course_frame[c.name] = course_frame[c.name].astype(float)
    event_frame = pd.DataFrame(events, columns=[c.name for c in ADVERSE_EVENT_COLUMNS])
    event_frame["course_id"] = event_frame["course_id"].astype("int64")
    event_frame["session_number"] = event_frame["session_number"].astype("int64")
    return course_frame, event_frame


def hand_dataset() -> tuple[pd.DataFrame, pd.DataFrame]:
    """12 courses at clinic 1: 10 evaluable (6 responders), 2 not evaluable; pain improvement
    10, 20, 30, 40 on four of them; 2 at clinic 2 make a small cell."""
    rows = []
    for i in range(1, 11):
        verdict = "responder" if i <= 6 else "non_responder"
        rows.append(course(i, verdict=verdict, responder=verdict == "responder"))
    for i, gain in zip(range(1, 5), (10.0, 20.0, 30.0, 40.0), strict=True):
        rows[i - 1]["pain_improvement"] = gain
        rows[i - 1]["pain_mic_reached"] = gain >= 20
    rows.append(course(11, verdict="not_evaluable", responder=None, clinic_id=2, method="electro"))
    rows.append(
        course(
            12,
            verdict="not_evaluable",
            responder=None,
            clinic_id=2,
            method="electro",
            sessions_attended=4,
            completed=False,
            dropped_out=True,
        )
    )
    events = [
        {"course_id": 1, "session_number": 1, "type": "bruising", "severity": "mild"},
        {"course_id": 1, "session_number": 2, "type": "bruising", "severity": "mild"},
        {"course_id": 2, "session_number": 1, "type": "pain", "severity": "moderate"},
    ]
    return frames(rows, events)


def row(rows: list[dict[str, Any]], dimension: str, level: str) -> dict[str, Any]:
    return next(r for r in rows if r["dimension"] == dimension and r["level"] == level)


# --- hand-computed -------------------------------------------------------------------------------


def test_responder_rate_and_wilson_interval_match_the_hand_computation() -> None:
    rows = analytics.outcomes(DuckDBEngine.from_tables(*hand_dataset()))
    clinic1 = row(rows, "clinic", "1")
    assert (clinic1["n"], clinic1["evaluable"], clinic1["responders"]) == (10, 10, 6)
    # Wilson, 6 of 10, z = 1.96: (0.6 + z²/20 ± z·sqrt(0.024 + z²/400)) / (1 + z²/10)
    assert clinic1["responder_rate"] == pytest.approx(0.6)
    assert clinic1["responder_low"] == pytest.approx(0.312670, abs=1e-6)
    assert clinic1["responder_high"] == pytest.approx(0.831822, abs=1e-6)
    whole = row(rows, "all", "all")
    assert (whole["n"], whole["evaluable"], whole["responders"]) == (12, 10, 6)


def test_mean_improvement_has_an_exact_t_interval() -> None:
    rows = analytics.outcomes(DuckDBEngine.from_tables(*hand_dataset()))
    whole = row(rows, "all", "all")
    # 10, 20, 30, 40: mean 25, sd 12.909944, se 6.454972, t(0.975, 3) = 3.182446
    assert whole["pain_n"] == 4
    assert whole["pain_mean"] == pytest.approx(25.0)
    assert whole["pain_sd"] == pytest.approx(12.909944, abs=1e-6)
    assert whole["pain_low"] == pytest.approx(25 - 20.542603, abs=1e-5)
    assert whole["pain_high"] == pytest.approx(25 + 20.542603, abs=1e-5)
    assert whole["pain_mic"] == 3
    assert whole["function_n"] == 0
    assert whole["function_mean"] is None


def test_adherence_dropout_and_adverse_event_rates_match_the_hand_computation() -> None:
    engine = DuckDBEngine.from_tables(*hand_dataset())
    whole = row(analytics.outcomes(engine), "all", "all")
    assert whole["sessions_planned"] == 120
    assert whole["sessions_attended"] == 114
    assert whole["adherence"] == pytest.approx(114 / 120)
    assert whole["dropped_out"] == 1
    assert whole["dropout_rate"] == pytest.approx(1 / 12)
    assert whole["adverse_events_per_1000"] == pytest.approx(3000 / 114)
    events = analytics.adverse_events(engine)
    bruising = next(e for e in events if e["type"] == "bruising" and e["severity"] == "all")
    assert bruising["events"] == 2
    assert bruising["per_1000_sessions"] == pytest.approx(2000 / 114)
    # Garwood exact interval for 2 events: 0.242209 to 7.224688
    assert bruising["per_1000_low"] == pytest.approx(1000 * 0.242209 / 114, rel=1e-5)
    assert bruising["per_1000_high"] == pytest.approx(1000 * 7.224688 / 114, rel=1e-5)


def test_sessions_band_and_comorbidity_levels_are_labelled() -> None:
    rows = analytics.outcomes(DuckDBEngine.from_tables(*hand_dataset()))
    assert row(rows, "sessions_band", "9-12")["n"] == 11
    assert row(rows, "sessions_band", "1-4")["n"] == 1
    assert row(rows, "diabetes", "no")["n"] == 12
    assert {r["dimension"] for r in rows} == {"all", *analytics.DIMENSIONS}


def test_filters_select_the_courses_pooled() -> None:
    engine = DuckDBEngine.from_tables(*hand_dataset())
    rows = analytics.outcomes(engine, Filters(method="electro"))
    assert row(rows, "all", "all")["n"] == 2
    assert analytics.adverse_events(engine, Filters(method="electro"))[0]["events"] == 0


# --- suppression ---------------------------------------------------------------------------------


def test_a_clinic_under_five_courses_shows_only_a_suppressed_count() -> None:
    rep = analytics.report(DuckDBEngine.from_tables(*hand_dataset()))
    small = row(rep.outcomes, "clinic", "2")
    assert small["n"] == "<5"
    numbers = [v for k, v in small.items() if k not in ("dimension", "level", "n")]
    assert all(v is None for v in numbers), small


def test_rates_built_on_a_small_count_are_hidden() -> None:
    rep = analytics.report(DuckDBEngine.from_tables(*hand_dataset()))
    whole = row(rep.outcomes, "all", "all")
    assert whole["n"] == 12
    assert whole["dropped_out"] == "<5"
    assert whole["dropout_rate"] is None
    assert whole["pain_n"] == "<5"
    assert whole["pain_mean"] is None
    assert whole["pain_low"] is None
    events = {(e["type"], e["severity"]): e for e in rep.adverse_events}
    assert events[("all", "all")]["events"] == "<5"
    assert events[("all", "all")]["per_1000_sessions"] is None


def test_a_single_hidden_level_hides_the_next_smallest_too() -> None:
    courses, events = hand_dataset()
    extra = [course(100 + i, clinic_id=3) for i in range(7)]
    more = pd.concat([courses, frames(extra, [])[0]], ignore_index=True)
    rep = analytics.report(DuckDBEngine.from_tables(more, events), by="clinic")
    shown = {r["level"]: r["n"] for r in rep.outcomes if r["dimension"] == "clinic"}
    assert shown == {"1": 10, "2": "<5", "3": "suppressed"}
    assert row(rep.outcomes, "clinic", "3")["responder_rate"] is None


def test_two_hidden_levels_need_no_further_hiding() -> None:
    courses, events = hand_dataset()
    extra = [course(100 + i, clinic_id=3) for i in range(3)]
    more = pd.concat([courses, frames(extra, [])[0]], ignore_index=True)
    rep = analytics.report(DuckDBEngine.from_tables(more, events), by="clinic")
    shown = {r["level"]: r["n"] for r in rep.outcomes if r["dimension"] == "clinic"}
    assert shown == {"1": 10, "2": "<5", "3": "<5"}


def test_unknown_breakdown_is_refused_by_name() -> None:
    with pytest.raises(ReportError, match="unknown breakdown colour"):
        analytics.parse_by("clinic,colour")


def test_report_keeps_only_the_breakdowns_asked_for() -> None:
    rep = analytics.report(DuckDBEngine.from_tables(*hand_dataset()), by="clinic,method")
    assert {r["dimension"] for r in rep.outcomes} == {"all", "clinic", "method"}


# --- against pandas, on every engine -------------------------------------------------------------


NUMERIC = [
    "n",
    "evaluable",
    "responders",
    "responder_rate",
    "responder_low",
    "responder_high",
    "dropped_out",
    "dropout_rate",
    "dropout_low",
    "dropout_high",
    "completed",
    "sessions_planned",
    "sessions_attended",
    "adherence",
    "adverse_events",
    "adverse_events_per_1000",
    *(f"{d}_{s}" for d in analytics.DOMAINS for s in ("n", "mean", "sd", "mic", "low", "high")),
]


def assert_same_as_pandas(rows: list[dict[str, Any]], courses: pd.DataFrame, events: Any) -> None:
    ours = pd.DataFrame(rows).set_index(["dimension", "level"]).sort_index()
    ref = pandas_report(courses, events).set_index(["dimension", "level"]).sort_index()
    assert set(ours.index) == set(ref.index)
    for name in NUMERIC:
        a = ours.loc[ref.index, name].astype(float).to_numpy()
        b = ref[name].astype(float).to_numpy()
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), name


def assert_same_events_as_pandas(rows: list[dict[str, Any]], courses: Any, events: Any) -> None:
    ref = pandas_adverse_events(courses, events).set_index(["type", "severity"])
    ours = pd.DataFrame(rows).set_index(["type", "severity"])
    assert set(ours.index) == set(ref.index)
    assert (ours.loc[ref.index, "events"].to_numpy() == ref["events"].to_numpy()).all()
    assert np.allclose(ours.loc[ref.index, "per_1000_sessions"], ref["per_1000_sessions"])


@pytest.fixture(scope="module")
def random_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_tables(3000, seed=11, clinics=30)


def test_duckdb_over_parquet_agrees_with_pandas(
    random_data: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    courses, events = random_data
    courses.to_parquet(tmp_path / "research_course.parquet", index=False)
    events.to_parquet(tmp_path / "research_adverse_event.parquet", index=False)
    engine = DuckDBEngine.from_parquet(tmp_path)
    assert_same_as_pandas(analytics.outcomes(engine), courses, events)
    assert_same_events_as_pandas(analytics.adverse_events(engine), courses, events)


def _store(courses: pd.DataFrame, events: pd.DataFrame) -> None:
    records = courses.astype(object).where(courses.notna(), None).to_dict("records")
    for r in records:
        r["start_date"] = pd.Timestamp(r["start_date"]).date()
    CourseOutcome.objects.bulk_create([CourseOutcome(**r) for r in records], batch_size=500)
    AdverseEventFact.objects.bulk_create(
        [AdverseEventFact(**r) for r in events.astype(object).to_dict("records")], batch_size=500
    )


@pytest.mark.django_db
def test_the_app_database_agrees_with_pandas(
    random_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """SQLite through DuckDB, or PostgreSQL running the same SQL itself (the PG pass)."""
    courses, events = random_data
    small = courses.iloc[:800]
    small_events = events[events["course_id"].isin(small["course_id"])]
    _store(small, small_events)
    engine = analytics.django_engine()
    assert_same_as_pandas(analytics.outcomes(engine), small, small_events)
    assert_same_events_as_pandas(analytics.adverse_events(engine), small, small_events)
    start = dt.date(2025, 6, 1)
    filtered = analytics.outcomes(engine, Filters(cause="knee_osteoarthritis", start_from=start))
    chosen = small[
        (small["cause"] == "knee_osteoarthritis")
        & (pd.to_datetime(small["start_date"]).dt.date >= start)
    ]
    assert row(filtered, "all", "all")["n"] == len(chosen)


# --- the CLI -------------------------------------------------------------------------------------


def _parquet(tmp_path: Path) -> Path:
    courses, events = hand_dataset()
    courses.to_parquet(tmp_path / "research_course.parquet", index=False)
    events.to_parquet(tmp_path / "research_adverse_event.parquet", index=False)
    return tmp_path


def test_cli_report_json_suppresses_small_cells(tmp_path: Path) -> None:
    from acuknee.research.cli import app

    result = CliRunner().invoke(
        app, ["report", "--parquet", str(_parquet(tmp_path)), "--format", "json", "--by", "clinic"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    clinic2 = row(data["outcomes"], "clinic", "2")
    assert clinic2["n"] == "<5"
    assert clinic2["responder_rate"] is None
    assert {r["dimension"] for r in data["outcomes"]} == {"all", "clinic"}


def test_cli_report_table_and_csv_show_suppressed_counts(tmp_path: Path) -> None:
    from acuknee.research.cli import app

    folder = str(_parquet(tmp_path))
    table = CliRunner().invoke(app, ["report", "--parquet", folder, "--by", "clinic"])
    assert table.exit_code == 0, table.output
    line = next(x for x in table.stdout.splitlines() if x.startswith("clinic") and " 2 " in x)
    assert "<5" in line
    assert "%" not in line
    csv = CliRunner().invoke(app, ["report", "--parquet", folder, "--format", "csv"])
    assert csv.exit_code == 0
    assert any(x.startswith("outcomes,clinic,2,<5,") for x in csv.stdout.splitlines())


def test_cli_report_names_a_missing_parquet_folder(tmp_path: Path) -> None:
    from acuknee.research.cli import app

    result = CliRunner().invoke(app, ["report", "--parquet", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such folder" in result.output


def test_wilson_bounds_stay_inside_zero_and_one(
    random_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    for r in analytics.outcomes(DuckDBEngine.from_tables(*random_data)):
        if r["responder_rate"] is not None:
            assert 0 <= r["responder_low"] <= r["responder_rate"] <= r["responder_high"] <= 1
            assert not math.isnan(r["responder_low"])


# --- the researcher's page -----------------------------------------------------------------------


def _store_hand_dataset(clinic_ids: tuple[int, int]) -> None:
    courses, events = hand_dataset()
    courses["clinic_id"] = courses["clinic_id"].map({1: clinic_ids[0], 2: clinic_ids[1]})
    _store(courses, events)


@pytest.mark.django_db
def test_researcher_page_shows_breakdowns_with_small_cells_suppressed(
    rex: Any, northside: Any, southside: Any, patient: Any
) -> None:
    from django.urls import reverse

    from tests.pages.conftest import login

    _store_hand_dataset((northside.pk, southside.pk))
    response = login(rex).get(reverse("research-outcomes"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Northside Clinic" in html
    southside_row = next(line for line in html.splitlines() if "Southside Clinic</th>" in line)
    assert "&lt;5" in southside_row
    assert "%" not in southside_row
    northside_row = next(line for line in html.splitlines() if "Northside Clinic</th>" in line)
    assert "suppressed" in northside_row  # else the network's 12 minus its 10 gives Southside's
    for identifier in (patient.record_number, patient.given_name, patient.family_name):
        assert identifier not in html


@pytest.mark.django_db
def test_researcher_page_names_each_cause_by_its_label(
    rex: Any, northside: Any, southside: Any
) -> None:
    """The cause breakdown and filter say "Knee osteoarthritis" and "Osgood-Schlatter
    disease", as the intake page and the reports do, never a code with spaces."""
    from django.urls import reverse

    from acuknee.clinical.vocabulary import Cause
    from tests.pages.conftest import login

    _store_hand_dataset((northside.pk, southside.pk))
    response = login(rex).get(reverse("research-outcomes"), {"by": "cause"})
    assert response.status_code == 200
    (section,) = [s for s in response.context["sections"] if s["dimension"] == "cause"]
    assert {row[0] for row in section["rows"]} <= {"all", *(c.label for c in Cause)}
    assert "Knee osteoarthritis" in {row[0] for row in section["rows"]}
    choices = dict(response.context["form"].fields["cause"].choices)
    assert choices == {"": "Any", **{c.value: c.label for c in Cause}}


@pytest.mark.django_db
def test_researcher_page_filters_by_clinic(rex: Any, northside: Any, southside: Any) -> None:
    from django.urls import reverse

    from tests.pages.conftest import login

    _store_hand_dataset((northside.pk, southside.pk))
    response = login(rex).get(
        reverse("research-outcomes"), {"clinic": northside.pk, "by": "method"}
    )
    assert response.status_code == 200
    assert "Southside Clinic</th>" not in response.content.decode()
    # Northside's 10 of the network's 12 would give Southside's 2 away by subtraction
    assert response.context["report"].outcomes[0]["n"] == "suppressed"


@pytest.mark.django_db
def test_researcher_page_refuses_a_bad_filter_by_field(rex: Any) -> None:
    from django.urls import reverse

    from tests.pages.conftest import login

    response = login(rex).get(reverse("research-outcomes"), {"by": "colour"})
    assert response.status_code == 400
    assert "by" in response.context["form"].errors


@pytest.mark.django_db
def test_researcher_page_filters_by_calendar_period_only(rex: Any) -> None:
    from django.urls import reverse

    from tests.pages.conftest import login

    page = login(rex)
    response = page.get(reverse("research-outcomes"), {"period": "2026-03-01"})
    assert response.status_code == 400
    assert "period" in response.context["form"].errors
    assert page.get(reverse("research-outcomes"), {"period": "2026-Q1"}).status_code == 200


@pytest.mark.django_db
def test_cli_report_refresh_rebuilds_the_tables_first(patient: Any) -> None:
    """A stale row of a clinic with records is replaced by what the records hold (here: no
    signed plan, so no course), then reported."""
    from acuknee.research.cli import app

    CourseOutcome.objects.create(**course(77, clinic_id=patient.clinic_id))
    result = CliRunner().invoke(app, ["report", "--refresh", "--format", "json", "--by", "clinic"])
    assert result.exit_code == 0, result.output
    assert not CourseOutcome.objects.filter(course_id=77).exists()
    assert row(json.loads(result.stdout)["outcomes"], "all", "all")["n"] == 0
