"""The network report on the app's SQLite database: SQLite sums the courses into cells, DuckDB
runs the rest over the cells, and the numbers are those of DuckDB over every course row (the
way the report used to read SQLite: every row through Python into Arrow)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.db import connection

from acuknee.research import analytics
from acuknee.research.analytics import DuckDBEngine, Filters, SQLiteEngine
from benchmarks.bench_research import synthetic_tables
from tests.research.test_analytics import _store, course, frames, row

FILTERS = (
    Filters(),
    Filters(cause="knee_osteoarthritis"),
    Filters(clinic=3, period="2025"),
    Filters(method="electro", sex="female", period="2026-Q1"),
)


def _same(ours: list[dict[str, Any]], reference: list[dict[str, Any]]) -> None:
    """Row for row and key for key: counts exactly, floats to 1e-12 (sums of the same values
    in another order differ in the last bits, far below any figure the report prints)."""
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference, strict=True):
        assert mine.keys() == theirs.keys()
        for key, value in mine.items():
            if isinstance(value, float) and isinstance(theirs[key], float):
                assert math.isclose(value, theirs[key], rel_tol=1e-12, abs_tol=1e-12), key
            else:
                assert value == theirs[key], key


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [3, 17, 29])
def test_sqlite_stages_give_the_numbers_of_duckdb_over_every_row(seed: int) -> None:
    courses, events = synthetic_tables(600, seed=seed, clinics=6)
    _store(courses, events)
    every_row = DuckDBEngine.from_tables(courses, events)
    staged = analytics.django_engine()
    assert isinstance(staged, SQLiteEngine) or connection.vendor != "sqlite"
    for filters in FILTERS:
        _same(analytics.outcomes(staged, filters), analytics.outcomes(every_row, filters))
        _same(
            analytics.adverse_events(staged, filters),
            analytics.adverse_events(every_row, filters),
        )
        ours, reference = analytics.report(staged, filters), analytics.report(every_row, filters)
        # What a reader sees (rounded) is the very same text; the JSON and CSV carry full
        # precision floats, the same to 1e-12.
        assert analytics.render(ours, "table") == analytics.render(reference, "table")
        _same(ours.outcomes, reference.outcomes)
        _same(ours.adverse_events, reference.adverse_events)


class _Counting:
    """A cursor that counts the rows SQLite hands to Python (the seam ``SQLiteEngine`` takes)."""

    fetched = 0

    def __init__(self) -> None:
        self.inner = connection.cursor()
        self.execute = self.inner.execute

    @property
    def description(self) -> Any:
        return self.inner.description

    def fetchall(self) -> list[Any]:
        rows = list(self.inner.fetchall())
        _Counting.fetched += len(rows)
        return rows

    def close(self) -> None:
        self.inner.close()


@pytest.mark.django_db
def test_no_course_row_is_read_through_python() -> None:
    """300 courses in two cells: SQLite hands over the cells and the event counts, not 300 rows."""
    if connection.vendor != "sqlite":
        pytest.skip("the staged engine is the SQLite one")
    rows = [
        course(i, sessions_attended=4 + (i % 2) * 6, function_improvement=float(i))
        for i in range(1, 301)
    ]
    events = [{"course_id": 1, "session_number": 2, "type": "bruise", "severity": "mild"}]
    _store(*frames(rows, events))
    _Counting.fetched = 0
    engine = SQLiteEngine(_Counting, placeholder="%s")
    report = analytics.report(engine)
    assert row(report.outcomes, "all", "all")["n"] == 300
    # outcomes: 2 cells; adverse events: 1 row; the suppression's cross counts: a few cells.
    assert _Counting.fetched <= 10


@pytest.mark.django_db
def test_an_empty_sqlite_database_gives_an_empty_report_as_duckdb_does() -> None:
    empty = DuckDBEngine.from_tables(*frames([], []))
    staged = analytics.django_engine()
    _same(analytics.outcomes(staged), analytics.outcomes(empty))
    _same(analytics.adverse_events(staged), analytics.adverse_events(empty))
