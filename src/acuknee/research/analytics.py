"""Pooled outcomes of the research network, computed by SQL in the database engine.

The SQL is in ``sql/outcomes.sql`` and ``sql/adverse_events.sql``: one portable text each, run
unchanged on DuckDB (over Parquet files) and on PostgreSQL (the app's database when
``ACUKNEE_DATABASE_URL`` points there; Citus too). Each runs in two stages, the first (a plain
``GROUP BY`` into cells, ``sql/*_cells.sql``) put in its ``{cells}`` slot. On the app's SQLite
database, which has no ``GROUPING SETS``, SQLite runs the first stage itself and DuckDB the rest
over the cells (``SQLiteEngine``): no course row is read through Python, and where ADBC's
SQLite driver can see the file, no cell either (DuckDB's sqlite extension is a download, so it
is not used). Every breakdown comes from one scan. Python only
fills the WHERE slot from a fixed list of columns, finishes the t interval of each mean from the
n and standard error SQL returns (exact t with df = n - 1, on the few hundred aggregate rows),
and suppresses small cells.

Small cells: a count below ``SMALL_CELL`` (and above zero) is shown as ``"<5"`` and every rate,
mean or interval computed from it is hidden (``None``); a row whose course count is small shows
only ``"<5"``. ``report`` always suppresses; the raw functions are for tests and the benchmark.
Differencing: a breakdown that hides one level hides its next smallest too (``_complement``),
and no count is published that a broader request (filters dropped) or a larger count of its own
row exceeds by less than ``SMALL_CELL`` (``acuknee.research.differencing``, with its limits).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal, Protocol

from acuknee.clinical.numbers import format_number
from acuknee.research import differencing
from acuknee.research.schema import DOMAIN_MEASURES

SMALL_CELL = differencing.SMALL_CELL
"""Counts below this (and above zero) are shown as "<5", with the rates built on them hidden."""

SUPPRESSED = f"<{SMALL_CELL}"
COMPLEMENTARY = "suppressed"
"""Shown instead of a count of 5 or more hidden so that a "<5" beside it cannot be recovered."""

DIMENSIONS: tuple[str, ...] = (
    "clinic",
    "region",
    "cause",
    "severity_band",
    "age_band",
    "sex",
    "diabetes",
    "anticoagulated",
    "cardiac_device",
    "knee_prosthesis",
    "protocol",
    "method",
    "sessions_band",
)
"""Breakdowns in ``outcomes.sql``'s GROUPING SETS (plus ``all``, the whole network)."""

DOMAINS: tuple[str, ...] = tuple(m.prefix for m in DOMAIN_MEASURES)
"""The pooled measures' column prefixes: a domain's, or a second measure's (skin temperature)."""
SESSIONS_BANDS = ("0", "1-4", "5-8", "9-12", "13+")
"""Sessions attended, banded in ``outcomes.sql`` (a reporting choice, not a clinical one)."""

Count = int | str
"""A count as published: the number, or ``"<5"``."""


class ReportError(ValueError):
    """A bad breakdown, filter or data source, named so the caller can say what to fix."""


# --- the SQL and where it runs -------------------------------------------------------------------


@cache
def sql_text(name: str) -> str:
    """The packaged SQL file ``sql/<name>.sql``, without its comment lines (they hold "%",
    which psycopg would read as a placeholder)."""
    text = (Path(__file__).with_name("sql") / f"{name}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


class Engine(Protocol):
    """Something that runs the portable SQL: DuckDB or a Django connection."""

    placeholder: str

    def rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]: ...


def _plain(value: Any) -> Any:
    """PostgreSQL answers sums as ``Decimal``: the report speaks int and float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class DuckDBEngine:
    """DuckDB holding (views of) ``research_course`` and ``research_adverse_event``."""

    placeholder = "?"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.connection.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @classmethod
    def from_parquet(cls, directory: Path, *, threads: int | None = None) -> DuckDBEngine:
        """Views over ``research_course*.parquet`` and ``research_adverse_event*.parquet`` (a
        file each, or a folder of parts of that name) in ``directory``."""

        connection = _connect()
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        for table in ("research_course", "research_adverse_event"):
            source = _parquet_source(Path(directory), table)
            # A view cannot take a parameter: the path is quoted as a SQL string literal.
            connection.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{_quote(source)}')"
            )
        return cls(connection)

    @classmethod
    def from_tables(cls, course: Any, adverse_events: Any) -> DuckDBEngine:
        """Register in-memory tables (Arrow tables or pandas frames) under the research names."""

        connection = _connect()
        connection.register("research_course", course)
        connection.register("research_adverse_event", adverse_events)
        return cls(connection)


def _connect() -> Any:
    """An in-memory DuckDB connection without its terminal progress bar. Turning the bar off
    was once refused ("could not set option as a global option") under a threaded server; the
    bar is cosmetic, so a refusal is ignored rather than failing the report."""
    import duckdb

    connection = duckdb.connect()
    with contextlib.suppress(duckdb.Error):
        connection.execute("SET enable_progress_bar = false")
    return connection


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _parquet_source(directory: Path, table: str) -> str:
    if not directory.is_dir():
        raise ReportError(f"--parquet {directory}: no such folder")
    single = directory / f"{table}.parquet"
    if single.is_file():
        return str(single)
    folder = directory / table
    if folder.is_dir() and any(folder.glob("*.parquet")):
        return str(folder / "*.parquet")
    if any(directory.glob(f"{table}*.parquet")):
        return str(directory / f"{table}*.parquet")
    raise ReportError(
        f"--parquet {directory}: no {table}.parquet (nor a {table}/ folder of parts) there"
    )


class DjangoEngine:
    """The app's database through Django's connection: PostgreSQL runs the SQL itself."""

    placeholder = "%s"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [
                {k: _plain(v) for k, v in zip(names, row, strict=True)} for row in cursor.fetchall()
            ]


_CELL_TEXT = frozenset(
    {
        "region",
        "cause",
        "severity_band",
        "age_band",
        "sex",
        "protocol",
        "method",
        "type",
        "severity",
    }
)
_CELL_BOOL = frozenset({"diabetes", "anticoagulated", "cardiac_device", "knee_prosthesis"})
"""The boolean breakdowns: the cells' other 0/1 columns are sums."""


def _cell_type(name: str) -> Any:
    """The Arrow type of a first-stage column, by name: SQLite answers booleans as 0/1 and a
    column that is NULL in every cell has no type of its own."""
    import pyarrow as pa

    if name in _CELL_TEXT:
        return pa.string()
    if name in _CELL_BOOL:
        return pa.bool_()
    if name.endswith(("_sum", "_sumsq")):
        return pa.float64()
    return pa.int64()


class SQLiteEngine:
    """The app's SQLite database: SQLite runs each query's first stage (``sql/*_cells.sql``, a
    plain GROUP BY, which SQLite has), and DuckDB the GROUPING SETS and square roots (which it
    has not) over the cells it returns: tens of thousands of rows at 100,000 courses, not
    every course through Python. Other queries (a clinic's region) run in SQLite as they are.

    ``cursor`` opens a DB-API cursor (``sqlite3``'s, or Django's, which takes ``?`` too);
    each query opens and closes its own. ``arrow`` (``adbc_reader``), where given, runs a first
    stage straight into an Arrow table, or answers None when it cannot see the data (an
    in-memory database, an open transaction): then the cells come through ``cursor``."""

    def __init__(
        self,
        cursor: Callable[[], Any],
        placeholder: str = "?",
        arrow: Callable[[str, Sequence[Any]], Any | None] | None = None,
    ) -> None:
        self.cursor = cursor
        self.placeholder = placeholder
        self.arrow = arrow
        self._duckdb: DuckDBEngine | None = None
        """One DuckDB connection for every second stage of a report (each costs ~20 ms)."""

    def _fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.cursor()
        try:
            cursor.execute(sql, list(params))
            return [d[0] for d in cursor.description], cursor.fetchall()
        finally:
            cursor.close()

    def rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        names, found = self._fetch(sql, params)
        return [dict(zip(names, row, strict=True)) for row in found]

    def staged(self, cells: str, params: Sequence[Any], rest: str) -> list[dict[str, Any]]:
        """``cells`` run in SQLite, then ``rest`` (its ``{cells}`` slot naming them) on DuckDB.
        The cells reach DuckDB as Arrow: read by ADBC where it can (handing them through Python
        cost more than DuckDB's whole second stage), else through the cursor."""
        read = self.arrow(cells, params) if self.arrow is not None else None
        table = self._cells_through_python(cells, params) if read is None else _typed_cells(read)
        return self._second_stage(table, rest)

    def _second_stage(self, table: Any, rest: str) -> list[dict[str, Any]]:
        if self._duckdb is None:
            self._duckdb = DuckDBEngine(_connect())
        self._duckdb.connection.register("sqlite_cells", table)
        try:
            return self._duckdb.rows(rest.replace("{cells}", "SELECT * FROM sqlite_cells"), [])
        finally:
            self._duckdb.connection.unregister("sqlite_cells")

    def staged_in_parts(
        self,
        whole: tuple[str, Sequence[Any]],
        parts: Sequence[tuple[str, Sequence[Any]]],
        rest: str,
    ) -> list[dict[str, Any]]:
        """``staged`` with the first stage read as ``parts`` (disjoint ranges of clinics, whose
        cells together are the ``whole``'s), each by ADBC on its own connection and thread: the
        driver runs SQLite without holding Python's lock, so the parts' single-threaded GROUP BYs
        run on separate cores (140 ms to 85 ms for 100,000 courses on two). Where ADBC cannot
        read (an open transaction, an in-memory database) the ``whole`` goes through the
        cursor as ``staged`` does."""
        if self.arrow is None or len(parts) < 2:
            return self.staged(*whole, rest)
        arrow = self.arrow
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            read = list(pool.map(lambda part: arrow(*part), parts))
        if any(table is None for table in read):
            return self.staged(*whole, rest)
        import pyarrow as pa

        table = pa.concat_tables([_typed_cells(t) for t in read])
        return self._second_stage(table, rest)

    def clinic_ranges(self, parts: int) -> list[tuple[int, int]]:
        """``parts`` ranges of clinic ids covering every course (``clinic_id`` leads the cells'
        index, so each range is a range of the index): [] for one clinic or none."""
        _, found = self._fetch("SELECT MIN(clinic_id), MAX(clinic_id) FROM research_course", [])
        low, high = found[0] if found else (None, None)
        if low is None or high is None or high <= low or parts < 2:
            return []
        step = (high - low + 1) / parts
        bounds = [low + round(step * i) for i in range(parts)] + [high + 1]
        return [(a, b - 1) for a, b in itertools.pairwise(bounds) if b > a]

    def _cells_through_python(self, cells: str, params: Sequence[Any]) -> Any:
        """The cells through the DB-API cursor: every value a Python object first (0.16 s for
        28,898 cells of 41 values), then Arrow columns in one pass (a struct array). A boolean
        comes as 0/1 from ``sqlite3`` and as ``bool`` through Django (its converter for the
        declared type): 0/1 is read as an integer, then cast."""
        import pyarrow as pa

        names, found = self._fetch(cells, params)
        first = found[0] if found else (True,) * len(names)
        as_int = {
            n for n, v in zip(names, first, strict=True) if n in _CELL_BOOL and type(v) is not bool
        }
        struct = pa.struct(
            [pa.field(n, pa.int64() if n in as_int else _cell_type(n)) for n in names]
        )
        table = pa.Table.from_batches(
            [pa.RecordBatch.from_struct_array(pa.array(found, type=struct))]
        )
        for name in as_int:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, table.column(i).cast(pa.bool_()))
        return table


def _typed_cells(table: Any) -> Any:
    """The cells as ADBC reads them (booleans as 0/1, a column NULL throughout as int64) cast
    to the types the Python path gives, so DuckDB's second stage sees the same columns."""
    import pyarrow as pa

    schema = pa.schema([pa.field(n, _cell_type(n)) for n in table.column_names])
    return table.cast(schema)


ADBC_BATCH_ROWS = 1 << 20
"""Rows per Arrow batch from ADBC's SQLite driver, which infers a column's type from its
first batch (a column NULL throughout a batch becomes int64, and a later batch with floats
fails): one batch holds every cell of a report (28,898 at 100,000 courses)."""


ADBC_BUSY_TIMEOUT_MS = 5_000
"""How long an ADBC read waits on a locked database: 5 s, as Python's ``sqlite3`` (and so
Django's SQLite connections) wait by default."""


def adbc_reader(path: Path) -> Callable[[str, Sequence[Any]], Any]:
    """A first stage run by ADBC's SQLite driver over the file at ``path`` (a connection of its
    own, read-only), answered as an Arrow table in C: no cell becomes a Python object. The
    driver is a pinned dependency: a broken install fails here, it is never quietly skipped."""
    import adbc_driver_sqlite.dbapi as adbc

    uri = Path(path).resolve().as_uri() + "?mode=ro"

    def read(sql: str, params: Sequence[Any]) -> Any:
        with adbc.connect(uri) as connection, connection.cursor() as cursor:
            cursor.adbc_statement.set_options(
                **{"adbc.sqlite.query.batch_rows": str(ADBC_BATCH_ROWS)}
            )
            # Wait for a writer or another reader opening the file, as Django's connections do,
            # rather than failing at once: the first stage's parts open side by side.
            cursor.execute(f"PRAGMA busy_timeout = {ADBC_BUSY_TIMEOUT_MS}")
            cursor.fetchall()
            # A date as SQLite stores it (Django and ``sqlite3`` write ISO text).
            bound = [v.isoformat() if isinstance(v, dt.date) else v for v in params]
            cursor.execute(sql, bound or None)
            return cursor.fetch_arrow_table()

    return read


def sqlite_file_engine(path: Path) -> SQLiteEngine:
    """The research tables of a SQLite file, opened read-only for each query."""

    def cursor() -> Any:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return _ClosingCursor(connection)

    return SQLiteEngine(cursor, arrow=adbc_reader(path))


class _ClosingCursor:
    """A ``sqlite3`` cursor that closes its own connection with it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.inner = connection.cursor()
        self.execute = self.inner.execute
        self.fetchall = self.inner.fetchall

    @property
    def description(self) -> Any:
        return self.inner.description

    def close(self) -> None:
        self.inner.close()
        self.connection.close()


def django_engine() -> Engine:
    """The engine for the app's configured database: PostgreSQL runs the SQL itself; SQLite
    runs the first stage and DuckDB the rest (``SQLiteEngine``)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return DjangoEngine(connection)
    if connection.vendor == "sqlite":
        return SQLiteEngine(connection.cursor, arrow=_django_adbc(connection))
    raise ReportError(
        f"database {connection.vendor!r}: the research report needs SQLite or PostgreSQL"
    )


def _django_adbc(connection: Any) -> Callable[[str, Sequence[Any]], Any | None] | None:
    """ADBC over the app's SQLite file, when the database is a file. Its own connection sees
    what is committed only: inside a transaction (which may hold this connection's own writes)
    the cells come through Django's cursor instead."""
    if connection.is_in_memory_db():
        return None
    read = adbc_reader(Path(connection.settings_dict["NAME"]))

    def cells(sql: str, params: Sequence[Any]) -> Any | None:
        return None if connection.in_atomic_block else read(sql, params)

    return cells


# --- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which courses to pool; every field is optional. Column names are fixed here, values go
    to the database as parameters."""

    clinic: int | None = None
    region: str | None = None
    cause: str | None = None
    method: str | None = None
    protocol: str | None = None
    sex: str | None = None
    age_band: str | None = None
    severity_band: str | None = None
    period: str | None = None
    """A calendar year (``2026``) or quarter (``2026-Q1``) of the course's start: the report's
    only date filter (``differencing.aligned`` rounds a day window out to one)."""
    start_from: dt.date | None = None
    start_to: dt.date | None = None

    def where(self, placeholder: str, *, sqlite: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause and its parameters. ``sqlite``: an equality on a column other than
        ``clinic_id`` is written ``+rc.column = value``. SQLite reads the first stage in the order
        of the ``research_course_cells`` index (migration 0002); given ``rc.cause = value`` it
        drops ``cause`` from the GROUP BY as a constant, no longer sees the index's order as the
        GROUP BY's, and sorts again. The unary plus (a no-op on SQLite, unknown to PostgreSQL
        for text) hides the equality from that rewrite; ``clinic_id`` leads the index, so there
        the equality is a range of the index and keeps its order."""
        columns = {
            "clinic": "rc.clinic_id = {}",
            "region": "rc.clinic_region = {}",
            "cause": "rc.cause = {}",
            "method": "rc.method = {}",
            "protocol": "rc.protocol_id = {}",
            "sex": "rc.sex = {}",
            "age_band": "rc.age_band = {}",
            "severity_band": "rc.severity_band = {}",
            "period": "rc.start_date >= {} AND rc.start_date <= {}",
            "start_from": "rc.start_date >= {}",
            "start_to": "rc.start_date <= {}",
        }
        clauses, params = [], []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != "":
                if f.name == "period":
                    clauses.append(columns[f.name].format(placeholder, placeholder))
                    params += list(differencing.period_bounds(value))
                    continue
                clause = columns[f.name].format(placeholder)
                if sqlite and f.name != "clinic" and not f.name.startswith("start_"):
                    clause = "+" + clause
                clauses.append(clause)
                params.append(value)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: (v.isoformat() if isinstance(v, dt.date) else v)
            for f in fields(self)
            if (v := getattr(self, f.name)) not in (None, "")
        }


def _where(engine: Engine, filters: Filters) -> tuple[str, list[Any]]:
    return filters.where(engine.placeholder, sqlite=isinstance(engine, SQLiteEngine))


def _run(engine: Engine, name: str, filters: Filters) -> list[dict[str, Any]]:
    where, params = _where(engine, filters)
    template = sql_text(f"{name}_cells")

    def cells(clause: str, values: list[Any]) -> tuple[str, list[Any]]:
        """The first stage with its WHERE clause, the values once per place it is written."""
        return template.replace("{where}", clause), values * template.count("{where}")

    whole = cells(where, params)
    if not isinstance(engine, SQLiteEngine):
        return engine.rows(sql_text(name).replace("{cells}", whole[0]), whole[1])
    if name not in BY_CLINIC or filters.clinic is not None:
        return engine.staged(*whole, sql_text(name))
    span = f"rc.clinic_id >= {engine.placeholder} AND rc.clinic_id <= {engine.placeholder}"
    parts = [
        cells(f"{where} AND {span}" if where else f"WHERE {span}", [*params, low, high])
        for low, high in engine.clinic_ranges(FIRST_STAGE_PARTS)
    ]
    return engine.staged_in_parts(whole, parts, sql_text(name))


BY_CLINIC = frozenset({"outcomes"})
"""First stages whose cells are grouped by ``clinic_id``, so ranges of clinics give disjoint
cells that add up to the whole. The adverse events' cells are not (one row per type and
severity, with the selection's total sessions): they are read whole."""

FIRST_STAGE_PARTS = max(1, min(4, os.cpu_count() or 1))
"""How many ranges of clinics such a first stage is read in on SQLite, side by side
(``SQLiteEngine.staged_in_parts``): one per core, at most four."""


# --- raw results (unsuppressed) ------------------------------------------------------------------


def _t_quantiles(sizes: set[int]) -> dict[int, float]:
    """The 97.5% t quantile for each sample size (df = n - 1), in one vectorised call: a
    scipy call per size cost more than the whole Python side of the report."""
    from scipy.stats import t

    ordered = sorted(n for n in sizes if n >= 2)
    if not ordered:
        return {}
    return dict(
        zip(ordered, (float(q) for q in t.ppf(0.975, [n - 1 for n in ordered])), strict=True)
    )


def outcomes(engine: Engine, filters: Filters | None = None) -> list[dict[str, Any]]:
    """Every breakdown's row, unsuppressed, each domain with its t-based 95% interval
    (``<domain>_low``/``_high``). For tests and the benchmark: publish ``report`` instead."""
    rows = _run(engine, "outcomes", filters or Filters())
    quantiles = _t_quantiles({int(n) for row in rows for d in DOMAINS if (n := row[f"{d}_n"])})
    for row in rows:
        for domain in DOMAINS:
            n, mean, se = row[f"{domain}_n"], row[f"{domain}_mean"], row[f"{domain}_se"]
            if n is None or n < 2 or mean is None or se is None:
                row[f"{domain}_low"] = row[f"{domain}_high"] = None
                continue
            q = quantiles[int(n)]
            row[f"{domain}_low"], row[f"{domain}_high"] = mean - q * se, mean + q * se
    order = {d: i for i, d in enumerate(("all", *DIMENSIONS))}
    rows.sort(key=lambda r: (order[r["dimension"]], _level_key(r["dimension"], r["level"])))
    return rows


def _level_key(dimension: str, level: str) -> tuple[int, str]:
    if dimension == "clinic" and level.isdigit():
        return (int(level), "")
    if dimension == "sessions_band" and level in SESSIONS_BANDS:
        return (SESSIONS_BANDS.index(level), "")
    return (0, level)


def _exact_poisson(events: int) -> tuple[float, float]:
    """Garwood's exact 95% interval for a Poisson count."""
    from scipy.stats import chi2

    low = 0.0 if events == 0 else float(chi2.ppf(0.025, 2 * events)) / 2
    return low, float(chi2.ppf(0.975, 2 * events + 2)) / 2


def adverse_events(engine: Engine, filters: Filters | None = None) -> list[dict[str, Any]]:
    """Adverse events per 1,000 sessions by type, severity and both, unsuppressed, each with
    Garwood's exact Poisson 95% interval."""
    rows = _run(engine, "adverse_events", filters or Filters())
    for row in rows:
        sessions = row["sessions"] or 0
        if sessions:
            low, high = _exact_poisson(int(row["events"]))
            row["per_1000_low"] = 1000 * low / sessions
            row["per_1000_high"] = 1000 * high / sessions
        else:
            row["per_1000_low"] = row["per_1000_high"] = None
    rows.sort(key=lambda r: (r["type"] != "all", r["type"], r["severity"] != "all", r["severity"]))
    return rows


# --- suppression ---------------------------------------------------------------------------------


def small(count: Any) -> bool:
    return isinstance(count, int) and 0 < count < SMALL_CELL


def shown(count: Any) -> Count:
    """A count as published."""
    return SUPPRESSED if small(count) else int(count or 0)


_RATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # published value: (the counts it is built on, the values hidden with it)
    "responder_rate": (("responders", "evaluable"), ("responder_low", "responder_high")),
    "dropout_rate": (("dropped_out", "n"), ("dropout_low", "dropout_high")),
    "adherence": (("n",), ()),
    "adverse_events_per_1000": (("adverse_events", "n"), ()),
}


def suppress_outcome(row: dict[str, Any]) -> dict[str, Any]:
    """One breakdown row as it may be published: small counts "<5", rates on them hidden."""
    out: dict[str, Any] = {"dimension": row["dimension"], "level": row["level"]}
    differenced: frozenset[str] = row.get(differencing.HIDDEN, frozenset())
    hidden_row = small(row["n"]) or bool(row.get("complementary")) or "n" in differenced
    counts = (
        "n",
        "evaluable",
        "responders",
        "dropped_out",
        "completed",
        "sessions_planned",
        "sessions_attended",
        "adverse_events",
    )
    for name in counts:
        out[name] = None if hidden_row else shown(row[name])
        if not hidden_row and name in differenced:
            out[name] = COMPLEMENTARY
    if hidden_row:
        out["n"] = SUPPRESSED if small(row["n"]) else COMPLEMENTARY
    for rate, (bases, companions) in _RATES.items():
        hide = hidden_row or any(small(row[b]) or b in differenced for b in bases)
        for name in (rate, *companions):
            out[name] = None if hide else row[name]
    for domain in DOMAINS:
        n = row[f"{domain}_n"]
        hide = hidden_row or small(n) or f"{domain}_n" in differenced
        mic = row[f"{domain}_mic"]
        if hidden_row:
            out[f"{domain}_n"] = out[f"{domain}_mic"] = None
        else:
            out[f"{domain}_n"] = COMPLEMENTARY if f"{domain}_n" in differenced else shown(n)
            out[f"{domain}_mic"] = SUPPRESSED if small(n) and mic else shown(mic)
            if f"{domain}_mic" in differenced or (f"{domain}_n" in differenced and mic):
                out[f"{domain}_mic"] = COMPLEMENTARY
        for stat in ("mean", "sd", "low", "high"):
            out[f"{domain}_{stat}"] = None if hide else row[f"{domain}_{stat}"]
    return out


def suppress_adverse_event(row: dict[str, Any]) -> dict[str, Any]:
    differenced = "events" in row.get(differencing.HIDDEN, frozenset())
    hide = small(row["events"]) or differenced
    return {
        "type": row["type"],
        "severity": row["severity"],
        "events": COMPLEMENTARY if differenced else shown(row["events"]),
        "sessions": shown(row["sessions"]),
        "per_1000_sessions": None if hide else row["per_1000_sessions"],
        "per_1000_low": None if hide else row["per_1000_low"],
        "per_1000_high": None if hide else row["per_1000_high"],
    }


def _complement(
    rows: list[dict[str, Any]],
    hidden: set[tuple[str, str]] | None,
    regions: dict[str, str],
) -> list[dict[str, Any]]:
    """Mark the rows hidden so that a "<5" beside them cannot be recovered by subtraction.
    Unfiltered (``hidden`` None): in each breakdown, while one level alone is hidden (in the
    whole breakdown, or among the clinics of one region) its next smallest is hidden too, else
    the network's total minus the other levels gives it back. Filtered: the rows the cell rule
    hides (``differencing.filtered_cells``), which includes this rule on the request's own
    breakdowns. (Counts inside a shown row, such as a small number of responders, are guarded
    by ``differencing.guard``'s within-row rule instead.)"""
    if hidden is None:
        family = differencing.parents(regions)
        by_dimension: dict[str, dict[str, int]] = {}
        for row in rows:
            if row["dimension"] != "all":
                by_dimension.setdefault(row["dimension"], {})[row["level"]] = int(row["n"] or 0)
        hidden = {
            (dimension, level)
            for dimension, counts in by_dimension.items()
            for level in differencing.hidden_levels(counts, family.get(dimension))
        }
    return [
        {**r, "complementary": True}
        if (r["dimension"], r["level"]) in hidden and not small(r["n"])
        else r
        for r in rows
    ]


# --- the published report ------------------------------------------------------------------------


@dataclass
class Report:
    """What a researcher may see: aggregates only, small cells suppressed."""

    filters: dict[str, Any]
    outcomes: list[dict[str, Any]]
    adverse_events: list[dict[str, Any]]
    small_cell: int = SMALL_CELL
    domains: tuple[str, ...] = DOMAINS
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "small_cell": self.small_cell,
            "filters": self.filters,
            "domains": list(self.domains),
            "outcomes": self.outcomes,
            "adverse_events": self.adverse_events,
            "notes": self.notes,
        }


NOTES = [
    "Responder: OMERACT-OARSI at the last follow-up, as decided by acuknee.clinical.evaluate; "
    "rate = responders / evaluable courses, Wilson 95% score interval.",
    "Mean improvement per domain (positive is better) with a t 95% interval (df = n - 1).",
    "Adherence = sessions attended / sessions planned; adverse events per 1,000 sessions "
    "attended with Garwood's exact Poisson interval.",
    f"Counts from 1 to {SMALL_CELL - 1} are shown as '{SUPPRESSED}' and rates built on them are "
    f"hidden; where a breakdown hides one level, its next smallest is hidden too "
    f"('{COMPLEMENTARY}').",
    f"A count is also shown as '{COMPLEMENTARY}' where subtracting it from the same count of a "
    f"broader request (a filter dropped) or from a larger count of its row would leave 1 to "
    f"{SMALL_CELL - 1}.",
    "A report filtered to one value (a clinic, a cause, a period...) shows only what the "
    "breakdown by that filter shows for that value, with the same complementary suppression; "
    "dates filter by whole calendar quarters or years.",
]


def parse_by(by: Sequence[str] | str | None) -> tuple[str, ...]:
    """The breakdowns asked for (comma-separated or a list), checked against ``DIMENSIONS``."""
    if by is None or by == "" or by == []:
        return DIMENSIONS
    names = [b.strip() for part in ([by] if isinstance(by, str) else by) for b in part.split(",")]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in DIMENSIONS and n != "all"]
    if unknown:
        raise ReportError(
            f"--by: unknown breakdown {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}"
        )
    return tuple(n for n in names if n != "all")


def report(
    engine: Engine,
    filters: Filters | None = None,
    by: Sequence[str] | str | None = None,
) -> Report:
    """The network report: the whole network plus the breakdowns in ``by`` (all by default)."""
    wanted = {"all", *parse_by(by)}
    try:
        filters, rounded = differencing.aligned(filters or Filters())
        broader = differencing.broader_filters(filters, partial(_region_of, engine))
    except differencing.FilterError as exc:
        raise ReportError(str(exc)) from None
    counts = (*differencing.OUTCOME_COUNTS, *differencing.domain_counts(DOMAINS))
    wider = [r for f in broader for r in outcomes(engine, f)]
    raw = differencing.guard(
        [r for r in outcomes(engine, filters) if r["dimension"] in wanted],
        differencing.published_values(wider, counts),
        differencing.within_row_pairs(DOMAINS),
    )
    regions = differencing.clinic_regions(engine.rows)
    verdict = None
    if filters.as_dict():
        verdict = differencing.filtered_cells(
            engine.rows,
            partial(_where, engine),
            filters,
            [d for d in DIMENSIONS if d in wanted],
            regions,
        )
    if verdict and verdict.whole_hidden:
        raw = [{**r, "complementary": True} for r in raw]
    marked = _complement(raw, verdict.rows if verdict else None, regions)
    rows = [suppress_outcome(r) for r in marked]
    wider_events = [r for f in broader for r in adverse_events(engine, f)]
    events = differencing.guard(
        adverse_events(engine, filters),
        differencing.published_values(wider_events, ("events",)),
        (),
    )
    if verdict:
        for r in events:
            if verdict.whole_hidden or (r["type"], r["severity"]) in verdict.events:
                r[differencing.HIDDEN] = r[differencing.HIDDEN] | {"events"}
    published = [suppress_adverse_event(r) for r in events]
    return Report(
        filters=filters.as_dict(),
        outcomes=rows,
        adverse_events=published,
        notes=[*NOTES, *rounded],
    )


def _region_of(engine: Engine, clinic: int) -> str | None:
    """The clinic's region in the research tables (a clinic filter's broader request)."""
    sql = f"SELECT clinic_region FROM research_course WHERE clinic_id = {engine.placeholder}"
    found = engine.rows(sql + " LIMIT 1", [clinic])
    return str(found[0]["clinic_region"]) if found and found[0]["clinic_region"] else None


Format = Literal["table", "json", "csv"]
FORMATS: tuple[str, ...] = ("table", "json", "csv")


def _pct(value: Any) -> str:
    return format_number(None if value is None else 100 * value, missing="-")


def _interval(value: Any, low: Any, high: Any, scale: float = 1.0, digits: int = 1) -> str:
    if value is None:
        return "-"
    text = format_number(scale * value, digits)
    if low is not None and high is not None:
        text += f" ({format_number(scale * low, digits)} to {format_number(scale * high, digits)})"
    return text


OUTCOME_HEADERS = (
    "breakdown",
    "level",
    "courses",
    "evaluable",
    "responders",
    "responder % (95% CI)",
    "dropout % (95% CI)",
    "adherence %",
    "AEs/1000 sessions",
    "pain mean (95% CI)",
    "function mean (95% CI)",
)


def outcome_cells(row: dict[str, Any]) -> list[str]:
    """One published outcomes row as the table cells the page and the CLI show."""
    return [
        row["dimension"],
        row["level"],
        str(row["n"]),
        str(row["evaluable"]),
        str(row["responders"]),
        _interval(row["responder_rate"], row["responder_low"], row["responder_high"], 100),
        _interval(row["dropout_rate"], row["dropout_low"], row["dropout_high"], 100),
        _pct(row["adherence"]),
        _interval(row["adverse_events_per_1000"], None, None),
        _interval(row["pain_mean"], row["pain_low"], row["pain_high"]),
        _interval(row["function_mean"], row["function_low"], row["function_high"]),
    ]


AE_HEADERS = ("type", "severity", "events", "sessions", "per 1000 sessions (95% CI)")


def adverse_event_cells(row: dict[str, Any]) -> list[str]:
    return [
        row["type"],
        row["severity"],
        str(row["events"]),
        str(row["sessions"]),
        _interval(row["per_1000_sessions"], row["per_1000_low"], row["per_1000_high"], digits=2),
    ]


def _text_table(headers: Sequence[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [list(headers), *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def render(rep: Report, fmt: str) -> str:
    """The report as text: ``table`` (for people), ``json`` or ``csv`` (for tools)."""
    import json

    if fmt == "json":
        return json.dumps(rep.as_dict(), indent=2, default=str)
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        outcome_keys = list(rep.outcomes[0]) if rep.outcomes else ["dimension", "level"]
        ae_keys = list(rep.adverse_events[0]) if rep.adverse_events else []
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["table", *outcome_keys, *ae_keys])
        for row in rep.outcomes:
            writer.writerow(["outcomes", *(row[k] for k in outcome_keys), *([""] * len(ae_keys))])
        for row in rep.adverse_events:
            writer.writerow(
                ["adverse_events", *([""] * len(outcome_keys)), *(row[k] for k in ae_keys)]
            )
        return buffer.getvalue()
    if fmt != "table":
        raise ReportError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    parts = [
        "Pooled outcomes (research network)",
        _text_table(OUTCOME_HEADERS, [outcome_cells(r) for r in rep.outcomes]),
        "",
        "Adverse events per 1,000 sessions attended",
        _text_table(AE_HEADERS, [adverse_event_cells(r) for r in rep.adverse_events]),
        "",
        *rep.notes,
    ]
    if rep.filters:
        parts.insert(1, "Filters: " + ", ".join(f"{k}={v}" for k, v in rep.filters.items()))
    return "\n".join(parts)
