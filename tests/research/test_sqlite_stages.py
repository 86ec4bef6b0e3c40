"""The network report on the app's SQLite database: SQLite sums the courses into cells, DuckDB
runs the rest over the cells, and the numbers are those of DuckDB over every course row (the
way the report used to read SQLite: every row through Python into Arrow)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.db import connection

from acuknee.research import analytics, differencing
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
    every_row = _every_row(seed)
    _store(every_row.courses, every_row.events)
    staged = analytics.django_engine()
    assert isinstance(staged, SQLiteEngine) or connection.vendor != "sqlite"
    _same_reports(staged, every_row)


@dataclass(frozen=True)
class EveryRow:
    """A seed's synthetic tables and what DuckDB answers over every one of their rows, for each
    of ``FILTERS``: the numbers the staged engines must give."""

    courses: pd.DataFrame
    events: pd.DataFrame
    outcomes: list[list[dict[str, Any]]]
    adverse_events: list[list[dict[str, Any]]]
    reports: list[analytics.Report]
    tables: list[str]


@cache
def _every_row(seed: int) -> EveryRow:
    """Computed once per seed for the module's tests, which only read it: the SQLite stages
    through Django's cursor and through ADBC are checked against the same reference."""
    courses, events = synthetic_tables(600, seed=seed, clinics=6)
    engine = DuckDBEngine.from_tables(courses, events)
    reports = [analytics.report(engine, filters) for filters in FILTERS]
    return EveryRow(
        courses,
        events,
        [analytics.outcomes(engine, filters) for filters in FILTERS],
        [analytics.adverse_events(engine, filters) for filters in FILTERS],
        reports,
        [analytics.render(report, "table") for report in reports],
    )


def _same_reports(staged: Any, every_row: EveryRow) -> None:
    """For every filter: the same outcomes and adverse events, and what a reader sees (rounded)
    the very same text; the JSON and CSV carry full precision floats, the same to 1e-12."""
    for i, filters in enumerate(FILTERS):
        _same(analytics.outcomes(staged, filters), every_row.outcomes[i])
        _same(analytics.adverse_events(staged, filters), every_row.adverse_events[i])
        ours, reference = analytics.report(staged, filters), every_row.reports[i]
        assert analytics.render(ours, "table") == every_row.tables[i]
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


def _plan(sql: str, params: list[Any]) -> list[tuple[int, str]]:
    """SQLite's EXPLAIN QUERY PLAN as (parent, detail): parent 0 is the outer query."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [(int(r[1]), str(r[3])) for r in cursor.fetchall()]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters",
    [
        *FILTERS,
        Filters(region="Region 1", severity_band="mild"),
        Filters(age_band="60-69", protocol="protocol_3"),
        Filters(clinic=2, cause="knee_osteoarthritis", sex="male"),
        Filters(start_from=dt.date(2025, 4, 1), start_to=dt.date(2025, 6, 30)),
    ],
    ids=lambda f: ",".join(f.as_dict()) or "none",
)
def test_sqlite_sums_the_cells_in_index_order_without_sorting_the_courses(
    filters: Filters,
) -> None:
    """The report's first stage reads the covering index of migration 0002 in its order: no
    temporary b-tree for the courses' GROUP BY (the sort that cost most of the report), for
    every filter the report accepts. The events' own small GROUP BY (under the CTE) may sort."""
    if connection.vendor != "sqlite":
        pytest.skip("the index and the plan are SQLite's")
    where, params = filters.where("%s", sqlite=True)
    plan = _plan(analytics.sql_text("outcomes_cells").replace("{where}", where), params)
    assert any("COVERING INDEX research_course_cells" in detail for _, detail in plan), plan
    assert not [d for parent, d in plan if parent == 0 and "TEMP B-TREE" in d], plan
    if filters.clinic is not None:
        assert any("research_course_cells (clinic_id=?)" in detail for _, detail in plan), plan


@pytest.mark.django_db
def test_the_clinic_regions_are_read_in_index_order_too() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the index and the plan are SQLite's")
    seen: list[str] = []

    def rows(sql: str, params: Any) -> list[dict[str, Any]]:
        seen.append(sql)
        return []

    differencing.clinic_regions(rows)
    plan = _plan(seen[0], [])
    assert plan == [(0, "SCAN rc USING COVERING INDEX research_course_cells")]


@pytest.mark.django_db
def test_the_cells_index_is_on_sqlite_only() -> None:
    """PostgreSQL aggregates by hashing: there the index would only slow the refresh."""
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "research_course"))
    assert ("research_course_cells" in names) == (connection.vendor == "sqlite")


@pytest.mark.django_db
def test_courses_written_after_a_report_are_in_the_next_one() -> None:
    """Nothing is kept between reports: the index is SQLite's, updated with every insert."""
    first, first_events = synthetic_tables(300, seed=5, clinics=4)
    _store(first, first_events)
    staged = analytics.django_engine()
    assert row(analytics.outcomes(staged), "all", "all")["n"] == 300
    more, more_events = synthetic_tables(200, seed=6, clinics=4)
    more["course_id"] += 1000
    more_events["course_id"] += 1000
    _store(more, more_events)
    every_row = DuckDBEngine.from_tables(
        pd.concat([first, more], ignore_index=True),
        pd.concat([first_events, more_events], ignore_index=True),
    )
    for filters in FILTERS:
        _same(
            analytics.outcomes(analytics.django_engine(), filters),
            analytics.outcomes(every_row, filters),
        )


def _copy_of_the_test_database(folder: Path) -> Path:
    """The test database (in memory, inside the test's transaction) copied to a file, as the
    app keeps it: ADBC's own connection cannot see the in-memory one."""
    connection.ensure_connection()
    path = folder / "acuknee.sqlite3"
    target = sqlite3.connect(path)
    try:
        # Not the backup API: it waits for the test's own open transaction to end.
        target.executescript("\n".join(connection.connection.iterdump()))
    finally:
        target.close()
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [3, 29])
def test_cells_read_by_adbc_give_the_numbers_of_duckdb_over_every_row(
    seed: int, tmp_path: Path
) -> None:
    """The app's SQLite file read by ADBC's driver straight into Arrow (no cell through Python):
    the same numbers and the very same printed report as DuckDB over every course row."""
    if connection.vendor != "sqlite":
        pytest.skip("the staged engine is the SQLite one")
    every_row = _every_row(seed)
    _store(every_row.courses, every_row.events)
    staged = analytics.sqlite_file_engine(_copy_of_the_test_database(tmp_path))
    assert staged.arrow is not None
    _same_reports(staged, every_row)


@pytest.mark.django_db
def test_with_adbc_no_cell_is_read_through_python(tmp_path: Path) -> None:
    """The DB-API cursor answers only the small queries (a clinic's region, the cross counts);
    the outcomes' and the adverse events' cells go from SQLite to Arrow in ADBC's C code."""
    if connection.vendor != "sqlite":
        pytest.skip("the staged engine is the SQLite one")
    courses, events = synthetic_tables(400, seed=11, clinics=5)
    _store(courses, events)
    path = _copy_of_the_test_database(tmp_path)
    through_python: list[str] = []

    class Watched:
        def __init__(self) -> None:
            self.inner = sqlite3.connect(path)
            self.cursor = self.inner.cursor()

        def execute(self, sql: str, params: Any) -> None:
            through_python.append(sql)
            self.cursor.execute(sql, params)

        @property
        def description(self) -> Any:
            return self.cursor.description

        def fetchall(self) -> list[Any]:
            return self.cursor.fetchall()

        def close(self) -> None:
            self.inner.close()

    engine = SQLiteEngine(Watched, arrow=analytics.adbc_reader(path))
    report = analytics.report(engine)
    assert row(report.outcomes, "all", "all")["n"] == 400
    cells = [
        analytics.sql_text(f"{name}_cells").split("{where}")[0]
        for name in ("outcomes", "adverse_events")
    ]
    assert through_python  # the clinics' regions still come this way
    assert not [sql for sql in through_python if any(sql.startswith(c) for c in cells)]


def test_cells_read_by_adbc_keep_the_types_of_the_python_path() -> None:
    """ADBC answers booleans as 0/1 and a column NULL in every cell as int64: cast to what the
    cursor path gives, so DuckDB's GROUPING SETS and CASE see the same columns."""
    import pyarrow as pa

    read = pa.table(
        {
            "diabetes": pa.array([0, 1], pa.int64()),
            "cause": pa.array(["a", None]),
            "pain_sum": pa.array([None, None], pa.int64()),
            "n": pa.array([3, 4], pa.int64()),
        }
    )
    typed = analytics._typed_cells(read)
    assert typed.schema.types == [pa.bool_(), pa.string(), pa.float64(), pa.int64()]
    assert typed.column("diabetes").to_pylist() == [False, True]


@pytest.mark.django_db
def test_the_app_engine_leaves_adbc_aside_where_it_cannot_see_the_data() -> None:
    """The tests' in-memory database (and any transaction's own writes) are invisible to a
    second connection: there the cells come through Django's cursor."""
    if connection.vendor != "sqlite":
        pytest.skip("the staged engine is the SQLite one")
    engine = analytics.django_engine()
    assert isinstance(engine, SQLiteEngine)
    assert connection.is_in_memory_db()
    assert engine.arrow is None


def test_inside_a_transaction_the_cells_come_through_the_apps_own_connection(
    tmp_path: Path,
) -> None:
    """A transaction's own writes are invisible to ADBC's second connection, so within one the
    report reads its cells through Django's cursor (``None`` from the ADBC reader); outside,
    ADBC reads the committed rows of the database file."""
    path = tmp_path / "app.sqlite3"
    with sqlite3.connect(path) as made:
        made.execute("CREATE TABLE t (n INTEGER)")
        made.execute("INSERT INTO t VALUES (7)")
    made.close()

    class App:
        settings_dict = {"NAME": str(path)}
        in_atomic_block = False

        def is_in_memory_db(self) -> bool:
            return False

    app = App()
    cells = analytics._django_adbc(app)
    assert cells is not None
    assert cells("SELECT n FROM t", []).column("n").to_pylist() == [7]
    app.in_atomic_block = True
    assert cells("SELECT n FROM t", []) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters", [Filters(), Filters(cause="knee_osteoarthritis"), Filters(clinic=999)]
)
def test_crossed_counts_from_cells_are_the_counts_of_the_courses(filters: Filters) -> None:
    """The differencing guard's cross counts, summed from cells of every label, equal the
    courses counted straight by pairs, on the app's database (SQLite or PostgreSQL); a
    selection with no course gives a total of 0, not NULL."""
    courses, events = synthetic_tables(500, seed=7, clinics=5)
    _store(courses, events)
    engine = analytics.django_engine()
    where = analytics._where(engine, filters)
    first = "cause"
    others = [d for d in analytics.DIMENSIONS if d != first]
    table = differencing.crossed_counts(
        engine.rows,
        where,
        (first, differencing.level_sql(first)),
        {d: differencing.level_sql(d) for d in others},
    )
    total = engine.rows(f"SELECT COUNT(*) AS n FROM research_course rc {where[0]}", where[1])
    assert table.total == int(total[0]["n"])
    for other in others:
        pairs = engine.rows(
            f"SELECT {differencing.level_sql(first)} AS a, {differencing.level_sql(other)} AS b,"
            f" COUNT(*) AS n FROM research_course rc {where[0]}"
            f" GROUP BY {differencing.level_sql(first)}, {differencing.level_sql(other)}",
            where[1],
        )
        assert table.crossed[other] == {(str(r["a"]), str(r["b"])): int(r["n"]) for r in pairs}
        alone: dict[str, int] = {}
        for (_, b), n in table.crossed[other].items():
            alone[b] = alone.get(b, 0) + n
        assert table.alone[other] == alone
    if filters.clinic == 999:
        assert table.total == 0
        assert table.alone[first] == {}


@pytest.mark.django_db
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_the_first_stage_read_in_ranges_of_clinics_gives_the_whole_reports_numbers(
    parts: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read side by side in disjoint ranges of clinic ids (one per core), the cells add up to
    the same reports, for every filter, as DuckDB over every course row."""
    if connection.vendor != "sqlite":
        pytest.skip("the staged engine is the SQLite one")
    every_row = _every_row(3)
    _store(every_row.courses, every_row.events)
    staged = analytics.sqlite_file_engine(_copy_of_the_test_database(tmp_path))
    assert staged.arrow is not None
    reads: list[str] = []
    read = staged.arrow

    def counted(sql: str, params: Any) -> Any:
        reads.append(sql)
        return read(sql, params)

    staged.arrow = counted
    monkeypatch.setattr(analytics, "FIRST_STAGE_PARTS", parts)
    _same_reports(staged, every_row)
    in_ranges = [sql for sql in reads if "rc.clinic_id >= ? AND rc.clinic_id <= ?" in sql]
    assert len(in_ranges) >= min(parts, 6)


@pytest.mark.django_db
@pytest.mark.parametrize("parts", [2, 3, 4, 7])
def test_the_ranges_of_clinics_cover_every_clinic_once(parts: int) -> None:
    courses, events = synthetic_tables(200, seed=5, clinics=6)
    _store(courses, events)
    engine = analytics.django_engine()
    if not isinstance(engine, SQLiteEngine):
        pytest.skip("the staged engine is the SQLite one")
    ranges = engine.clinic_ranges(parts)
    clinics = sorted(set(courses["clinic_id"]))
    covered = [c for c in clinics for low, high in ranges if low <= c <= high]
    assert covered == clinics
    assert ranges[0][0] == clinics[0]
    assert ranges[-1][1] == clinics[-1]
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
    assert engine.clinic_ranges(1) == []


def test_adbc_reads_opened_side_by_side_wait_for_each_other_rather_than_fail(
    tmp_path: Path,
) -> None:
    """Reads opening the same WAL file at once (the first stage's parts, two researchers'
    reports): without a busy timeout SQLite answered "database is locked" to some of them."""
    path = tmp_path / "wal.sqlite3"
    writer = sqlite3.connect(path)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE t (a INTEGER, b INTEGER)")
        writer.executemany("INSERT INTO t VALUES (?, ?)", [(i % 50, i) for i in range(1_000)])
        writer.commit()
        read = analytics.adbc_reader(path)
        sql = "SELECT a, COUNT(*) AS n, SUM(b) AS s FROM t GROUP BY a"
        for _ in range(30):  # without the timeout, about two rounds in three failed
            with ThreadPoolExecutor(max_workers=8) as pool:
                tables = list(pool.map(lambda _: read(sql, []), range(8)))
            assert [t.num_rows for t in tables] == [50] * 8
    finally:
        writer.close()
