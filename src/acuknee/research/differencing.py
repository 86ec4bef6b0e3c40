"""Suppression that holds across filters and within a row: no published count may differ from
another published count it could be subtracted from by 1 to ``SMALL_CELL - 1``.

A small cell hidden as "<5" can be recovered by subtraction:

- *across filters*: the whole network's count minus the count of the same report filtered to
  one clinic is the count of every other clinic; when that is 2, a suppressed cell of 2 courses
  (and, from the means, its patients' pain change) is out;
- *within a row*: ``n - completed`` is the number who dropped out, ``evaluable - responders``
  the non-responders, ``<domain>_n - <domain>_mic`` those who missed the minimal important
  change.

The rule (``guard``): a count published exactly (not "<5") is hidden as "suppressed", with
every rate, mean and interval built on it, when

1. the same column of any row of a *broader* report (the same request with any non-empty subset
   of its filters dropped, and with a clinic filter widened to the clinic's region) exceeds it
   by 1 to ``SMALL_CELL - 1``. Any row, not only the same breakdown level: a filtered row's
   population may sit inside a broader row of another breakdown (clinic 3 inside its region),
   and the rule does not try to tell which do. It over-suppresses a little, and never misses
   a pair it compares;
2. within its row, a larger count it is a part of (``WITHIN_ROW``) exceeds it by 1 to
   ``SMALL_CELL - 1``.

The same holds for adverse-event counts against the broader reports.

Second pass (requests neither of which is broader than the other):

3. dates filter only as calendar periods (``period``: a year or a quarter, categorical), so two
   date requests are nested or disjoint; a day window is rounded outward to one (``aligned``);
4. a filtered answer is a cell of the breakdown by its filter: report(d = v) is published only
   as cell v of the breakdown by d, and its row w only as cell (v, w) of the table d x e, with
   the tables' complementary suppression run to a fixed point (``filtered_cells``). The same
   table is built whichever of d and e is the filter, so the routes to a cell agree and the
   network minus each other clinic's filtered total stops where the breakdown stops.

Limits (docs/research.md): with two or more filters a row is checked against two-way tables
under the remaining filters, not a full multi-way fixed point; bounds (a "<5" is 1 to 4) and
intervals from linear programs are not checked. These aggregates are for researchers under a
data-use agreement, which forbids re-identification attempts, not for open publication.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

SMALL_CELL = 5

OUTCOME_COUNTS: tuple[str, ...] = (
    "n",
    "evaluable",
    "responders",
    "dropped_out",
    "completed",
    "sessions_planned",
    "sessions_attended",
    "adverse_events",
)
"""Counts of every outcome row (the domain counts ``<domain>_n``, ``_mic`` are added)."""

WITHIN_ROW: tuple[tuple[str, str], ...] = (
    ("n", "completed"),
    ("n", "dropped_out"),
    ("n", "evaluable"),
    ("evaluable", "responders"),
)
"""(whole, part): the part is hidden when the whole exceeds it by a small count."""

MAX_FILTERS = 4
"""Each request is compared with every subset of its filters dropped: 2^k - 1 broader reports."""

HIDDEN = "_hidden"
"""Key under which ``guard`` lists a row's counts to hide."""


class FilterError(ValueError):
    """A filter the report refuses; the message starts with the parameter's name."""


class TooManyFilters(FilterError):
    """More filters than the differencing check compares (``MAX_FILTERS``)."""


def domain_counts(domains: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{d}_{kind}" for d in domains for kind in ("n", "mic"))


def within_row_pairs(domains: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = list(WITHIN_ROW)
    for d in domains:
        pairs += [("n", f"{d}_n"), (f"{d}_n", f"{d}_mic")]
    return tuple(pairs)


def exact(value: Any) -> bool:
    """A count published as its number (0, or SMALL_CELL and over)."""
    return isinstance(value, int) and not 0 < value < SMALL_CELL


def close_below(value: int, others: list[int]) -> bool:
    """Some ``other`` exceeds ``value`` by 1 to SMALL_CELL - 1 (``others`` sorted)."""
    start = bisect.bisect_right(others, value)
    return start < len(others) and others[start] - value < SMALL_CELL


def broader_filters(filters: Any, region_of: Callable[[int], str | None]) -> list[Any]:
    """Every broader request: each non-empty subset of the active filters dropped, and a clinic
    filter replaced by its clinic's region."""
    active = [
        f.name for f in dataclasses.fields(filters) if getattr(filters, f.name) not in (None, "")
    ]
    if len(active) > MAX_FILTERS:
        raise TooManyFilters(
            f"filters: at most {MAX_FILTERS} at a time (asked for {len(active)}: "
            f"{', '.join(active)})"
        )
    found = []
    for size in range(1, len(active) + 1):
        for dropped in itertools.combinations(active, size):
            found.append(dataclasses.replace(filters, **dict.fromkeys(dropped)))
    if filters.clinic is not None:
        region = region_of(int(filters.clinic))
        if region and filters.region in (None, "", region):
            found.append(dataclasses.replace(filters, clinic=None, region=region))
    if filters.period and (year := parent_period(filters.period)):
        found.append(dataclasses.replace(filters, period=year))
    return found


def published_values(
    rows: Iterable[dict[str, Any]], columns: Iterable[str]
) -> dict[str, list[int]]:
    """Per column, the sorted counts the broader reports would publish exactly."""
    values: dict[str, set[int]] = {c: set() for c in columns}
    for row in rows:
        for column in values:
            value = row.get(column)
            if value is not None and exact(int(value)):
                values[column].add(int(value))
    return {c: sorted(v) for c, v in values.items()}


def guard(
    rows: list[dict[str, Any]],
    broader: dict[str, list[int]],
    pairs: Iterable[tuple[str, str]],
) -> list[dict[str, Any]]:
    """``rows`` with ``HIDDEN`` set to the counts rules 1 and 2 hide."""
    pairs = tuple(pairs)
    guarded = []
    for row in rows:
        hidden: set[str] = set()
        for column, others in broader.items():
            value = row.get(column)
            if value is not None and exact(int(value)) and close_below(int(value), others):
                hidden.add(column)
        for whole, part in pairs:
            big, small = row.get(whole), row.get(part)
            if big is None or small is None or not (exact(int(big)) and exact(int(small))):
                continue
            if 0 < int(big) - int(small) < SMALL_CELL:
                hidden.add(part)
        guarded.append({**row, HIDDEN: frozenset(hidden)})
    return guarded


# --- dates as calendar periods -------------------------------------------------------------------

PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-Q(?P<quarter>[1-4]))?")
"""A period filter: a calendar year (``2026``) or quarter (``2026-Q1``) of the course's start."""


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a period; a malformed one is refused by name."""
    match = PERIOD.fullmatch(period)
    if not match or int(match["year"]) < 1:
        raise FilterError(
            f"period: {period[:20]!r} is not a calendar year (2026) or quarter (2026-Q1)"
        )
    year = int(match["year"])
    if not match["quarter"]:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    last_month = 3 * int(match["quarter"])
    end = (
        dt.date(year, 12, 31)
        if last_month == 12
        else dt.date(year, last_month + 1, 1) - dt.timedelta(days=1)
    )
    return dt.date(year, last_month - 2, 1), end


def quarter_of(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def parent_period(period: str) -> str | None:
    """A quarter's year (its broader request); a year has none."""
    return period[:4] if "-Q" in period else None


def window_as_period(start: dt.date | None, end: dt.date | None) -> str:
    """A day-precision window (``start_from``, ``start_to``) rounded outward to the smallest
    calendar quarter or year holding it. Two windows a day apart then give the same answer, and
    any two date requests are nested (a quarter in its year) or disjoint. A window that no single
    quarter or year holds is refused, naming the parameter to change."""
    if start is None or end is None:
        missing = "start_from" if start is None else "start_to"
        raise FilterError(
            f"{missing}: give both start_from and start_to (they are rounded out to one calendar "
            f"quarter or year), or ask for period=YYYY or period=YYYY-Qn"
        )
    if quarter_of(start) == quarter_of(end):
        return quarter_of(start)
    if start.year == end.year:
        return f"{start.year:04d}"
    raise FilterError(
        f"start_to: {start.isoformat()} to {end.isoformat()} spans more than one calendar year; "
        f"ask for one year or quarter at a time (period=YYYY or period=YYYY-Qn)"
    )


def aligned(filters: Any) -> tuple[Any, list[str]]:
    """``filters`` with any day-precision window replaced by its period, and the note saying
    so; a malformed period is refused."""
    notes = []
    if filters.start_from is not None or filters.start_to is not None:
        if filters.period:
            raise FilterError("start_from: give period or a date window, not both")
        period = window_as_period(filters.start_from, filters.start_to)
        notes.append(
            f"start_from={filters.start_from}, start_to={filters.start_to} rounded outward to "
            f"period {period}: dates filter by whole calendar quarters or years only."
        )
        filters = dataclasses.replace(filters, period=period, start_from=None, start_to=None)
    if filters.period:
        period_bounds(filters.period)
    return filters, notes


# --- a filtered answer is a cell of the breakdown by its filter ----------------------------------
#
# Filtering to one value of a dimension d (clinic 3, cause x, 2026-Q1) answers with cells that the
# breakdown by d also publishes: report(d = v) by e, row w, is the cell (d = v, e = w) of the
# table d x e; report(d = v)'s total is the cell v of the breakdown by d. Such a cell is published
# only if the table hides it nowhere, with the table's complementary suppression: in every line
# of the table (a row, a column, the clinics of one region, the quarters of one year, with its
# total) one hidden cell alone is never left, the next smallest is hidden too, until no line
# changes. The same table is built whichever of d and e is the filter, so the two routes to a cell
# agree, and sums of filtered answers (the network minus each other clinic) cannot undo a
# suppression the breakdown keeps.

TOTAL = "\u2211"
"""The margin's label in a table's key (a level no dimension has)."""

LEVEL_SQL: dict[str, str] = {
    "clinic": "CAST(rc.clinic_id AS TEXT)",
    "region": "COALESCE(NULLIF(rc.clinic_region, ''), 'unknown')",
    "cause": "rc.cause",
    "severity_band": "COALESCE(rc.severity_band, 'unknown')",
    "age_band": "rc.age_band",
    "sex": "rc.sex",
    "diabetes": "CASE WHEN rc.diabetes THEN 'yes' ELSE 'no' END",
    "anticoagulated": "CASE WHEN rc.anticoagulated THEN 'yes' ELSE 'no' END",
    "cardiac_device": "CASE WHEN rc.cardiac_device THEN 'yes' ELSE 'no' END",
    "knee_prosthesis": "CASE WHEN rc.knee_prosthesis THEN 'yes' ELSE 'no' END",
    "protocol": "rc.protocol_id",
    "method": "rc.method",
    "sessions_band": (
        "CASE WHEN rc.sessions_attended <= 0 THEN '0' WHEN rc.sessions_attended <= 4 THEN '1-4' "
        "WHEN rc.sessions_attended <= 8 THEN '5-8' WHEN rc.sessions_attended <= 12 THEN '9-12' "
        "ELSE '13+' END"
    ),
}
"""Each dimension's level as ``outcomes.sql`` labels it (so a cell here is a row there)."""

# From the ISO text of the date, which SQLite, PostgreSQL and DuckDB all give for CAST(... AS
# TEXT) (SQLite has no EXTRACT; DuckDB's integer "/" is not integer division).
_DAY_TEXT = "CAST(rc.start_date AS TEXT)"
_YEAR_SQL = f"SUBSTR({_DAY_TEXT}, 1, 4)"
_MONTH_SQL = f"CAST(SUBSTR({_DAY_TEXT}, 6, 2) AS INTEGER)"
_QUARTER_SQL = (
    f"{_YEAR_SQL} || '-Q' || CASE WHEN {_MONTH_SQL} <= 3 THEN '1' WHEN {_MONTH_SQL} <= 6 "
    f"THEN '2' WHEN {_MONTH_SQL} <= 9 THEN '3' ELSE '4' END"
)


def level_sql(dimension: str, value: Any = None) -> str:
    """A dimension's level expression; ``period`` by year or by quarter as ``value`` is."""
    if dimension == "period":
        return _QUARTER_SQL if value and "-Q" in str(value) else _YEAR_SQL
    return LEVEL_SQL[dimension]


Key = tuple[str, ...]
Rows = Callable[[str, Sequence[Any]], list[dict[str, Any]]]


@dataclasses.dataclass
class Crossed:
    """Course counts under some filters: one dimension ``first`` alone and crossed with each
    of ``others``, and each of those alone."""

    first: str
    alone: dict[str, dict[str, int]]
    """dimension -> level -> courses."""
    crossed: dict[str, dict[tuple[str, str], int]]
    """other dimension -> (first's level, other's level) -> courses."""
    total: int


def crossed_counts(
    rows: Rows,
    where: tuple[str, list[Any]],
    first: tuple[str, str],
    others: dict[str, str],
) -> Crossed:
    """One statement: ``first`` alone, each other alone and each pair, as a UNION ALL of plain
    GROUP BYs (the sets of a ``GROUPING SETS``, written out: SQLite, which runs the app's own
    research database, has no ``GROUPING SETS``). The courses are first counted into cells of
    every label at once (one sort on SQLite), and each GROUP BY sums those cells: SQLite sorts
    every branch, and sorting 26 times the cells rather than the courses took the statement
    from 1.35-1.53 s to 0.65-0.72 s at 100,000 courses."""
    names = [first[0], *others]
    exprs = [first[1], *others.values()]
    columns = [f"d{i}" for i in range(len(names))]
    sets: list[tuple[int, ...]] = [(), (0,)]
    sets += [(i,) for i in range(1, len(names))]
    sets += [(0, i) for i in range(1, len(names))]
    select = ", ".join(f"{e} AS {c}" for e, c in zip(exprs, columns, strict=True))

    def branch(grouped: tuple[int, ...]) -> str:
        shown = ", ".join(c if i in grouped else f"NULL AS {c}" for i, c in enumerate(columns))
        flags = ", ".join(f"{0 if i in grouped else 1} AS g{c}" for i, c in enumerate(columns))
        by = f" GROUP BY {', '.join(columns[i] for i in grouped)}" if grouped else ""
        return f"SELECT {shown}, {flags}, COALESCE(SUM(k), 0) AS n FROM c{by}"

    sql = (
        f"WITH c AS (SELECT {select}, COUNT(*) AS k FROM research_course rc {where[0]}"
        f" GROUP BY {', '.join(columns)}) "
        + " UNION ALL ".join(branch(grouped) for grouped in sets)
    )
    alone: dict[str, dict[str, int]] = {name: {} for name in names}
    crossed: dict[str, dict[tuple[str, str], int]] = {name: {} for name in names[1:]}
    total = 0
    for row in rows(sql, where[1]):
        grouped = [i for i, c in enumerate(columns) if not row[f"g{c}"]]
        n = int(row["n"])
        if not grouped:
            total = n
        elif len(grouped) == 1:
            i = grouped[0]
            alone[names[i]][str(row[columns[i]])] = n
        else:
            i = grouped[1]
            crossed[names[i]][(str(row["d0"]), str(row[columns[i]]))] = n
    return Crossed(first[0], alone, crossed, total)


def secondary(
    counts: dict[Key, int],
    lines: Iterable[Sequence[Key]],
    hidden: set[Key],
    may_hide: Callable[[Key], bool] = lambda key: True,
) -> set[Key]:
    """Complementary suppression to a fixed point: while some line (cells whose sum is, or may
    be, published) holds exactly one hidden non-empty cell, hide its smallest shown non-empty
    cell that ``may_hide`` allows (ties by label, so the result depends on the table only)."""
    lines = [tuple(line) for line in lines]
    hidden = set(hidden) | {k for k, n in counts.items() if 0 < n < SMALL_CELL}
    changed = True
    while changed:
        changed = False
        for line in lines:
            live = [k for k in line if counts.get(k, 0) > 0]
            dark = [k for k in live if k in hidden]
            lit = [k for k in live if k not in hidden and may_hide(k)]
            if len(dark) == 1 and lit:
                hidden.add(min(lit, key=lambda k: (counts[k], k)))
                changed = True
    return hidden


Parents = dict[str, Callable[[str], Hashable]]
"""Dimension -> a level's parent (a clinic's region, a quarter's year): the levels of one parent
sum to the parent's count, published too, so they form a line of their own."""


def _groups(levels: Iterable[str], parent: Callable[[str], Hashable] | None) -> list[list[str]]:
    ordered = sorted(levels)
    if parent is None:
        return [ordered]
    by_parent: dict[Hashable, list[str]] = {}
    for level in ordered:
        by_parent.setdefault(parent(level), []).append(level)
    return [ordered, *(by_parent[p] for p in sorted(by_parent, key=str))]


def hidden_levels(
    counts: dict[str, int], parent: Callable[[str], Hashable] | None = None
) -> set[str]:
    """The levels a one-dimension breakdown hides: small ones, then the "one hidden level"
    rule over the whole breakdown and over the levels of each parent."""
    keyed: dict[Key, int] = {(level,): n for level, n in counts.items()}
    lines: list[list[Key]] = [[(level,) for level in group] for group in _groups(counts, parent)]
    return {k[0] for k in secondary(keyed, lines, set())}


def hidden_cells(
    table: dict[tuple[str, str], int],
    rows: dict[str, int],
    columns: dict[str, int],
    row_parent: Callable[[str], Hashable] | None = None,
    column_parent: Callable[[str], Hashable] | None = None,
) -> set[tuple[str, str]]:
    """The cells a two-dimension table hides. Its margins (``rows``, ``columns``: the two
    one-dimension breakdowns) keep their own suppression and count as cells of their lines, so
    a hidden margin forces a hidden cell in its row; then ``secondary`` to a fixed point over
    every row, column and parent group."""
    hidden_rows = hidden_levels(rows, row_parent)
    hidden_columns = hidden_levels(columns, column_parent)
    counts: dict[Key, int] = dict(table.items())
    counts |= {(r, TOTAL): n for r, n in rows.items()}
    counts |= {(TOTAL, c): n for c, n in columns.items()}
    hidden: set[Key] = {(r, TOTAL) for r in hidden_rows} | {(TOTAL, c) for c in hidden_columns}
    row_levels, column_levels = sorted(rows), sorted(columns)
    lines: list[Sequence[Key]] = []
    for r in row_levels:
        lines.append([(r, c) for c in column_levels] + [(r, TOTAL)])
    for c in column_levels:
        lines.append([(r, c) for r in row_levels] + [(TOTAL, c)])
    for group in _groups(row_levels, row_parent)[1:] if row_parent else []:
        lines += [[(r, c) for r in group] for c in column_levels]
    for group in _groups(column_levels, column_parent)[1:] if column_parent else []:
        lines += [[(r, c) for c in group] for r in row_levels]
    found = secondary(counts, lines, hidden, may_hide=lambda k: TOTAL not in k)
    return {(k[0], k[1]) for k in found if TOTAL not in k}


FILTER_DIMENSIONS: tuple[str, ...] = (
    "clinic",
    "region",
    "cause",
    "method",
    "protocol",
    "sex",
    "age_band",
    "severity_band",
    "period",
)
"""The filters that pick one level of a dimension (every filter, once dates are periods)."""


def clinic_regions(rows: Rows) -> dict[str, str]:
    """Each clinic's region label, for the "clinics of one region" lines. Grouped by the
    stored columns, not DISTINCT over the labels: SQLite then reads the two leading columns of
    the ``research_course_cells`` index in order instead of sorting every course."""
    sql = (
        f"SELECT {LEVEL_SQL['clinic']} AS clinic, {LEVEL_SQL['region']} AS region "
        "FROM research_course rc GROUP BY rc.clinic_id, rc.clinic_region"
    )
    return {str(r["clinic"]): str(r["region"]) for r in rows(sql, [])}


def parents(regions: dict[str, str], period: str | None = None) -> Parents:
    found: Parents = {"clinic": lambda level: regions.get(level, "")}
    if period and parent_period(period):
        found["period"] = lambda level: level[:4]
    return found


@dataclasses.dataclass
class CellVerdict:
    """What a filtered request may publish."""

    whole_hidden: bool = False
    """Its filter value is hidden in the breakdown by that filter: nothing is published."""
    rows: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    """(dimension, level) of its breakdown rows hidden in the table filter x breakdown."""
    events: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    """(type, severity) of its adverse-event rows hidden in the breakdown by the filter."""


def filtered_cells(
    rows: Rows,
    where_of: Callable[[Any], tuple[str, list[Any]]],
    filters: Any,
    breakdowns: Sequence[str],
    regions: dict[str, str],
) -> CellVerdict:
    """The cell rule for a filtered request: for each active filter d = v, read under the other
    filters the breakdown by d (the request's total is its cell v), the table d x e for each
    breakdown e (the request's row w is its cell (v, w)) and the adverse events by d."""
    verdict = CellVerdict()
    family = parents(regions, getattr(filters, "period", None))
    for d in FILTER_DIMENSIONS:
        value = getattr(filters, d)
        if value in (None, ""):
            continue
        rest = dataclasses.replace(filters, **{d: None})
        where = where_of(rest)
        others = {e: level_sql(e) for e in breakdowns if e != d}
        crossed = crossed_counts(rows, where, (d, level_sql(d, value)), others)
        level = str(value)
        if level in hidden_levels(crossed.alone[d], family.get(d)):
            verdict.whole_hidden = True
            return verdict
        for e in others:
            if d < e:
                cells = hidden_cells(
                    crossed.crossed[e],
                    crossed.alone[d],
                    crossed.alone[e],
                    family.get(d),
                    family.get(e),
                )
                verdict.rows |= {(e, w) for a, w in cells if a == level}
            else:
                flipped = {(b, a): n for (a, b), n in crossed.crossed[e].items()}
                cells = hidden_cells(
                    flipped, crossed.alone[e], crossed.alone[d], family.get(e), family.get(d)
                )
                verdict.rows |= {(e, w) for w, a in cells if a == level}
        verdict.events |= _hidden_events(rows, where, d, value, family.get(d))
    return verdict


def _hidden_events(
    rows: Rows,
    where: tuple[str, list[Any]],
    dimension: str,
    value: Any,
    parent: Callable[[str], Hashable] | None,
) -> set[tuple[str, str]]:
    """Adverse-event rows (type, severity) whose count for ``value`` is hidden in the breakdown
    of that row's events by ``dimension``: else the network's events minus each other clinic's
    give a suppressed clinic's back."""
    sql = (
        f"WITH c AS (SELECT {level_sql(dimension, value)} AS lvl, "
        "COALESCE(a.type, 'unknown') AS type, COALESCE(a.severity, 'unknown') AS severity "
        f"FROM research_adverse_event a JOIN research_course rc ON rc.course_id = a.course_id "
        f"{where[0]}) "
        # The four sets of a GROUPING SETS written out (SQLite has none).
        "SELECT lvl, 'all' AS type, 'all' AS severity, COUNT(*) AS n FROM c GROUP BY lvl "
        "UNION ALL SELECT lvl, type, 'all', COUNT(*) FROM c GROUP BY lvl, type "
        "UNION ALL SELECT lvl, 'all', severity, COUNT(*) FROM c GROUP BY lvl, severity "
        "UNION ALL SELECT lvl, type, severity, COUNT(*) FROM c GROUP BY lvl, type, severity"
    )
    by_row: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows(sql, where[1]):
        by_row.setdefault((str(r["type"]), str(r["severity"])), {})[str(r["lvl"])] = int(r["n"])
    return {key for key, counts in by_row.items() if str(value) in hidden_levels(counts, parent)}
