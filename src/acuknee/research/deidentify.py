"""De-identified export of the research tables for pooling across a network.

What the export does to the rows it reads from ``research_course`` and ``research_adverse_event``
(the research tables hold no names, contact details, record numbers or birth dates to begin with;
``tests/research/test_deidentify.py`` scans the output for the demo patients' names and record
numbers to prove it):

1. ``course_id`` is replaced by a keyed pseudonym (the database key is sequential, so it would
   reveal the order in which courses were entered); rows are written in pseudonym order, so the
   row order says nothing either. The adverse events follow their course's pseudonym.
2. Every date of a course (``start_date``, ``follow_up_date``) moves by the same per-course
   offset of 1 to ``max_shift_days`` (default 180) days, earlier or later, so intervals are kept
   (the practice of REDCap's date shifting and Google Cloud DLP's context-keyed date shift; under
   HIPAA a shifted date is still a date, so this relies on expert determination, not Safe Harbor).
   Offset and pseudonym come from a keyed hash (BLAKE2b with a 32-byte secret) of the course id:
   the same secret gives the same offsets in every export, so comparing exports cannot average
   the offsets away; without a secret a random one is used and forgotten.
3. ``age`` is dropped and ``age_band`` is recomputed from it, with every age over 89 in "90+"
   (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C)).
4. k-anonymity on the quasi-identifiers flagged in ``schema.py`` (age band, sex, clinic region):
   every combination with fewer than k courses is REPORTED (values and size) and SUPPRESSED (its
   rows and their adverse events are left out). Suppression, not generalisation, so the bands the
   pooled analyses group by stay the same in every export.

Outputs, in ``out_dir``: each table as Parquet and/or CSV, ``data_dictionary.md`` and
``data_dictionary.json`` (generated from ``schema.py``, with each column's transformation), and
``export_report.json`` (counts, k, suppressed groups).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from acuknee.research.schema import AGE_BANDS, COURSE_COLUMNS, TABLES, Column, age_band_codes

Format = Literal["parquet", "csv", "both"]
QUASI_IDENTIFIERS = tuple(c.name for c in COURSE_COLUMNS if c.quasi_identifier)
DROPPED = {"age": "dropped: exact age in years; age_band carries it, with ages over 89 as 90+"}
DATE_COLUMNS = tuple(c.name for c in COURSE_COLUMNS if c.kind == "date")
DEFAULT_K = 5
DEFAULT_MAX_SHIFT_DAYS = 180
FETCH_ROWS = 50_000


class ExportError(ValueError):
    """Bad export arguments; the message names the argument."""


@dataclass(frozen=True)
class SmallGroup:
    """A quasi-identifier combination with fewer than k courses (suppressed)."""

    age_band: str | None
    sex: str | None
    clinic_region: str | None
    courses: int


@dataclass
class ExportReport:
    k: int
    max_shift_days: int
    secret_given: bool
    courses_read: int = 0
    courses_written: int = 0
    adverse_events_read: int = 0
    adverse_events_written: int = 0
    suppressed: list[SmallGroup] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def suppressed_courses(self) -> int:
        return sum(g.courses for g in self.suppressed)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["suppressed_courses"] = self.suppressed_courses
        found["quasi_identifiers"] = list(QUASI_IDENTIFIERS)
        return found


# --- transformations ---------------------------------------------------------------------------


def age_bands(age: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``schema.age_band`` for a column of ages."""
    result: np.ndarray[Any, Any] = np.asarray(AGE_BANDS, dtype=object)[age_band_codes(age)]
    return result


def keyed(course_ids: Sequence[int], secret: bytes, max_shift_days: int) -> tuple[Any, Any]:
    """(pseudonyms, day offsets) for course ids: BLAKE2b keyed with the secret, so the same secret
    gives the same pseudonym and offset to a course in every export. Offsets are never 0."""
    key = hashlib.blake2b(secret, digest_size=32).digest()
    pseudonyms = np.empty(len(course_ids), dtype=np.int64)
    offsets = np.empty(len(course_ids), dtype=np.int64)
    for i, course in enumerate(course_ids):
        digest = hashlib.blake2b(
            int(course).to_bytes(8, "big", signed=True), key=key, digest_size=16
        ).digest()
        pseudonyms[i] = (int.from_bytes(digest[:8], "big") >> 2) + 1
        draw = int.from_bytes(digest[8:], "big") % (2 * max_shift_days)
        offsets[i] = draw - max_shift_days if draw < max_shift_days else draw - max_shift_days + 1
    if len(np.unique(pseudonyms)) != len(pseudonyms):  # about 1 in 10^7 at a million courses
        raise ExportError("pseudonym collision: export again with another --secret-file")
    return pseudonyms, offsets


def small_groups(table: pa.Table, k: int) -> list[SmallGroup]:
    """Quasi-identifier combinations with fewer than ``k`` rows."""
    counts = table.group_by(list(QUASI_IDENTIFIERS), use_threads=False).aggregate(
        [([], "count_all")]
    )
    found = [
        SmallGroup(row["age_band"], row["sex"], row["clinic_region"], row["count_all"])
        for row in counts.to_pylist()
        if row["count_all"] < k
    ]
    return sorted(found, key=lambda g: (str(g.age_band), str(g.sex), str(g.clinic_region)))


def _in_groups(table: pa.Table, groups: list[SmallGroup]) -> pa.ChunkedArray | pa.Array:
    hit = pa.array(np.zeros(table.num_rows, dtype=bool))
    for g in groups:
        match = None
        for name in QUASI_IDENTIFIERS:
            value = getattr(g, name)
            col = table[name]
            this = pc.is_null(col) if value is None else pc.fill_null(pc.equal(col, value), False)
            match = this if match is None else pc.and_(match, this)
        hit = pc.or_(hit, match)
    return hit


def deidentify_courses(
    courses: pa.Table, k: int, secret: bytes, max_shift_days: int
) -> tuple[pa.Table, list[SmallGroup], dict[int, int]]:
    """The de-identified course table, the suppressed groups, and old id -> pseudonym for the
    courses kept (to carry the adverse events along)."""
    age = courses["age"].to_numpy()
    banded = pa.array(age_bands(age), type=pa.string())
    courses = courses.set_column(courses.schema.get_field_index("age_band"), "age_band", banded)
    groups = small_groups(courses, k)
    if groups:
        courses = courses.filter(pc.invert(_in_groups(courses, groups)))
    old_ids = courses["course_id"].to_numpy()
    pseudonyms, offsets = keyed(old_ids.tolist(), secret, max_shift_days)
    courses = courses.set_column(0, "course_id", pa.array(pseudonyms, type=pa.int64()))
    for name in DATE_COLUMNS:
        index = courses.schema.get_field_index(name)
        dates = courses[name].to_numpy(zero_copy_only=False).astype("datetime64[D]")
        moved = dates + offsets.astype("timedelta64[D]")
        courses = courses.set_column(
            index, name, pa.array(moved, type=pa.date32(), from_pandas=True)
        )
    courses = courses.drop_columns(list(DROPPED))
    courses = courses.take(pa.array(np.argsort(pseudonyms, kind="stable")))
    mapping = dict(zip(old_ids.tolist(), pseudonyms.tolist(), strict=True))
    return courses, groups, mapping


def deidentify_adverse_events(events: pa.Table, mapping: dict[int, int]) -> pa.Table:
    """Adverse events of the kept courses, under their course's pseudonym, in pseudonym order."""
    old = events["course_id"].to_numpy()
    new = np.array([mapping.get(int(c), 0) for c in old], dtype=np.int64)
    keep = new > 0
    events = events.filter(pa.array(keep)).set_column(
        0, "course_id", pa.array(new[keep], type=pa.int64())
    )
    order = pc.sort_indices(events, [("course_id", "ascending"), ("session_number", "ascending")])
    return events.take(order)


# --- reading the app's database ----------------------------------------------------------------


_ARROW: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "date": pa.date32(),
}


def _arrow_rows(rows: list[tuple[Any, ...]], columns: Sequence[Column]) -> pa.Table:
    arrays = []
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        if column.kind == "bool":
            values = [None if v is None else bool(v) for v in values]
        elif column.kind == "date":
            values = [np.datetime64(v, "D") if isinstance(v, str) else v for v in values]
        arrays.append(pa.array(values, type=_ARROW[column.kind]))
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])


def read_table(table: str, using: str = "default") -> pa.Table:
    """A research table from the app's database as Arrow, fetched in chunks (a server-side
    cursor on PostgreSQL)."""
    from django.db import connections, transaction

    columns = TABLES[table]
    names = ", ".join(c.name for c in columns)
    order = "course_id" if table == "research_course" else "course_id, session_number"
    parts: list[pa.Table] = []
    connection = connections[using]
    with transaction.atomic(using=using), connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {table} ORDER BY {order}")
        while rows := cursor.fetchmany(FETCH_ROWS):
            parts.append(_arrow_rows(rows, columns))
    if not parts:
        return _arrow_rows([], columns)
    return pa.concat_tables(parts)


# --- the data dictionary -----------------------------------------------------------------------


def _transformation(table: str, column: Column, max_shift_days: int) -> str:
    if column.name == "course_id":
        return (
            "replaced by a keyed pseudonym (BLAKE2b with the export secret); not the database key"
        )
    if column.kind == "date":
        return (
            f"shifted by the course's offset of 1 to {max_shift_days} days, earlier or later; "
            "every date of a course moves together, so intervals are kept"
        )
    if column.name == "age_band":
        return "recomputed from age at export; ages over 89 grouped as 90+"
    if column.quasi_identifier:
        return "quasi-identifier: courses in combinations with fewer than k courses suppressed"
    return "unchanged"


def data_dictionary(k: int, max_shift_days: int) -> dict[str, Any]:
    """The exported columns from ``schema.py``, each with its transformation."""
    tables: dict[str, Any] = {}
    for name, columns in TABLES.items():
        tables[name] = {
            "columns": [
                {
                    "name": c.name,
                    "type": c.kind,
                    "nullable": c.nullable,
                    "quasi_identifier": c.quasi_identifier,
                    "description": c.description,
                    "transformation": _transformation(name, c, max_shift_days),
                }
                for c in columns
                if c.name not in DROPPED or name != "research_course"
            ],
            "dropped": (
                [{"name": n, "reason": why} for n, why in DROPPED.items()]
                if name == "research_course"
                else []
            ),
        }
    return {
        "title": "acuknee research network: de-identified export",
        "k": k,
        "quasi_identifiers": list(QUASI_IDENTIFIERS),
        "max_shift_days": max_shift_days,
        "transformations": [
            "No names, contact details, record numbers or birth dates: the research tables hold "
            "none.",
            "course_id replaced by a keyed pseudonym; rows written in pseudonym order.",
            f"Dates shifted per course by 1 to {max_shift_days} days, intervals kept.",
            "age dropped; age_band recomputed, ages over 89 grouped as 90+.",
            f"k-anonymity (k = {k}) on {', '.join(QUASI_IDENTIFIERS)}: smaller groups reported "
            "in export_report.json and suppressed (their courses and adverse events left out).",
        ],
        "tables": tables,
    }


def dictionary_markdown(dictionary: dict[str, Any]) -> str:
    lines = [f"# {dictionary['title']}", "", "## Transformations", ""]
    lines += [f"- {t}" for t in dictionary["transformations"]]
    for name, spec in dictionary["tables"].items():
        lines += ["", f"## {name}", "", "| Column | Type | Null | Description | Transformation |"]
        lines += ["|---|---|---|---|---|"]
        for c in spec["columns"]:
            qi = " (quasi-identifier)" if c["quasi_identifier"] else ""
            lines.append(
                f"| {c['name']} | {c['type']} | {'yes' if c['nullable'] else 'no'} | "
                f"{c['description']}{qi} | {c['transformation']} |"
            )
        for d in spec["dropped"]:
            lines.append(f"| ~~{d['name']}~~ | | | | {d['reason']} |")
    return "\n".join(lines) + "\n"


# --- the export --------------------------------------------------------------------------------


def _write(table: pa.Table, stem: Path, fmt: Format) -> list[str]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    written = []
    if fmt in ("parquet", "both"):
        path = stem.with_suffix(".parquet")
        pq.write_table(table, path, compression="zstd", row_group_size=100_000)
        written.append(str(path))
    if fmt in ("csv", "both"):
        path = stem.with_suffix(".csv")
        pacsv.write_csv(table, path)
        written.append(str(path))
    return written


def export(
    out_dir: Path,
    *,
    k: int = DEFAULT_K,
    fmt: Format = "parquet",
    secret: bytes | None = None,
    max_shift_days: int = DEFAULT_MAX_SHIFT_DAYS,
    using: str = "default",
) -> ExportReport:
    """De-identify the research tables of the app's database into ``out_dir`` (see the module
    docstring for every transformation). Holds the course table in memory as Arrow (about
    1.5 GB peak at a million courses) so the rows can be written in pseudonym order."""
    if k < 2:
        raise ExportError(f"--k must be at least 2 (got {k}): k = 1 suppresses nothing")
    if not 1 <= max_shift_days <= 3650:
        raise ExportError(f"max_shift_days must be 1 to 3650 (got {max_shift_days})")
    if fmt not in ("parquet", "csv", "both"):
        raise ExportError(f"--format must be parquet, csv or both (got {fmt!r})")
    report = ExportReport(k=k, max_shift_days=max_shift_days, secret_given=secret is not None)
    key = secret if secret is not None else os.urandom(32)
    courses = read_table("research_course", using)
    events = read_table("research_adverse_event", using)
    report.courses_read, report.adverse_events_read = courses.num_rows, events.num_rows
    courses, report.suppressed, mapping = deidentify_courses(courses, k, key, max_shift_days)
    events = deidentify_adverse_events(events, mapping)
    report.courses_written, report.adverse_events_written = courses.num_rows, events.num_rows
    out_dir.mkdir(parents=True, exist_ok=True)
    report.files += _write(courses, out_dir / "research_course", fmt)
    report.files += _write(events, out_dir / "research_adverse_event", fmt)
    dictionary = data_dictionary(k, max_shift_days)
    (out_dir / "data_dictionary.json").write_text(json.dumps(dictionary, indent=2) + "\n")
    (out_dir / "data_dictionary.md").write_text(dictionary_markdown(dictionary))
    report.files += [str(out_dir / "data_dictionary.json"), str(out_dir / "data_dictionary.md")]
    (out_dir / "export_report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    report.files.append(str(out_dir / "export_report.json"))
    return report


__all__ = [
    "ExportError",
    "ExportReport",
    "SmallGroup",
    "data_dictionary",
    "deidentify_adverse_events",
    "deidentify_courses",
    "export",
    "keyed",
    "read_table",
    "small_groups",
]
