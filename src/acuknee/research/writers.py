"""Write a cohort, chunk by chunk, to Parquet (one file per table) or into the app's database.

Parquet: one ``pyarrow.parquet.ParquetWriter`` per table, one row group per chunk, zstd. The
database: the research tables through the Django connection, with COPY on PostgreSQL (psycopg 3
``cursor.copy``) and ``executemany`` on SQLite, all in one transaction so a failure leaves nothing
half-written; the synthetic clinics become Clinic rows whose name and slug say "synthetic".
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from acuknee.research.schema import TABLES, Column
from acuknee.research.synth import Array, Cohort, SynthClinic

_ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "date": pa.date32(),
}


@dataclass
class WriteSummary:
    courses: int = 0
    adverse_events: int = 0
    clinics: int = 0
    files: list[Path] = field(default_factory=list)


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a research table, from ``schema.py``."""
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.kind], nullable=c.nullable) for c in TABLES[table]]
    )


def arrow_column(column: Column, values: Array) -> pa.Array:
    """One numpy column (the Cohort's null conventions) as an Arrow array of the schema's type."""
    kind = _ARROW_TYPES[column.kind]
    if column.kind == "bool" and values.dtype == np.int8:
        return pa.array(values == 1, type=kind, mask=values < 0)
    if column.kind == "date":
        return pa.array(values.astype("datetime64[D]"), from_pandas=True).cast(kind)
    if column.kind == "text" and values.dtype == object:
        # A handful of distinct labels: dictionary-encode, then let Arrow expand it (ten times
        # faster than converting a million Python strings one by one).
        import pandas as pd

        codes, labels = pd.factorize(values)
        indices = pa.array(codes.astype(np.int32), mask=codes < 0)
        dictionary = pa.array([str(x) for x in labels], type=pa.string())
        return pa.DictionaryArray.from_arrays(indices, dictionary).cast(kind)
    return pa.array(values, type=kind, from_pandas=True)


def cohort_tables(cohort: Cohort) -> dict[str, pa.Table]:
    """Both research tables of a cohort (or chunk) as Arrow tables, e.g. to load into DuckDB."""
    sources = {"research_course": cohort.courses, "research_adverse_event": cohort.adverse_events}
    return {
        name: pa.Table.from_arrays(
            [arrow_column(c, sources[name][c.name]) for c in TABLES[name]],
            schema=arrow_schema(name),
        )
        for name in TABLES
    }


def write_parquet(chunks: Iterable[Cohort], out_dir: Path) -> WriteSummary:
    """``<out_dir>/research_course.parquet`` and ``research_adverse_event.parquet``, one row group
    per chunk, so a million courses never sit in memory at once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = WriteSummary()
    paths = {name: out_dir / f"{name}.parquet" for name in TABLES}
    partial = {name: path.with_suffix(".parquet.partial") for name, path in paths.items()}
    writers = {
        name: pq.ParquetWriter(partial[name], arrow_schema(name), compression="zstd")
        for name in TABLES
    }
    try:
        for chunk in chunks:
            tables = cohort_tables(chunk)
            for name, table in tables.items():
                writers[name].write_table(table, row_group_size=max(len(table), 1))
            summary.courses += tables["research_course"].num_rows
            summary.adverse_events += tables["research_adverse_event"].num_rows
            summary.clinics = len(chunk.clinics)
    except BaseException:
        for name, writer in writers.items():
            writer.close()
            partial[name].unlink(missing_ok=True)
        raise
    for name, writer in writers.items():
        writer.close()
        partial[name].replace(paths[name])  # whole files only: no half-written table is left
    summary.files = list(paths.values())
    return summary


# --- the app's database ------------------------------------------------------------------------


def _python_values(column: Column, values: Array) -> list[Any]:
    """A column as Python values for ``executemany`` (None for nulls, ISO text for dates)."""
    if column.kind == "float":
        out = values.astype(object)
        out[np.isnan(values.astype(np.float64))] = None
        return out.tolist()
    if column.kind == "date":
        text = np.datetime_as_string(values.astype("datetime64[D]")).astype(object)
        text[np.isnat(values)] = None
        return text.tolist()
    if column.kind == "bool" and values.dtype == np.int8:
        out = (values == 1).astype(object)
        out[values < 0] = None
        return out.tolist()
    return values.tolist()


def _insert_sqlite(cursor: Any, table: str, columns: dict[str, Array]) -> None:
    spec = TABLES[table]
    names = ", ".join(c.name for c in spec)
    marks = ", ".join(["%s"] * len(spec))
    rows = list(zip(*[_python_values(c, columns[c.name]) for c in spec], strict=True))
    if rows:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _copy_postgresql(cursor: Any, table: str, arrow: pa.Table) -> None:
    if arrow.num_rows == 0:
        return
    buffer = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    pacsv.write_csv(arrow, buffer, options)
    names = ", ".join(arrow.column_names)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def _synthetic_clinics(clinics: tuple[SynthClinic, ...]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Create or update the Clinic rows; returns Clinic ids indexed by cohort clinic number."""
    from acuknee.records.models import Clinic

    ids = np.zeros(len(clinics) + 1, dtype=np.int64)
    existing = {c.slug: c for c in Clinic.objects.filter(slug__in=[c.slug for c in clinics])}
    new = [
        Clinic(name=c.name, slug=c.slug, region=c.region) for c in clinics if c.slug not in existing
    ]
    Clinic.objects.bulk_create(new, batch_size=500)
    for row in Clinic.objects.filter(slug__in=[c.slug for c in clinics]):
        existing[row.slug] = row
    for c in clinics:
        row = existing[c.slug]
        if (row.name, row.region) != (c.name, c.region):
            row.name, row.region = c.name, c.region
            row.save(update_fields=["name", "region"])
        ids[c.number] = row.pk
    return ids


def write_database(chunks: Iterable[Cohort], using: str = "default") -> WriteSummary:
    """Insert the cohort into ``research_course`` and ``research_adverse_event``.

    Rerunning with the same seed replaces that cohort (its clinics' research rows are deleted
    first); course ids continue after the largest id already there. One transaction: on any
    error nothing is kept."""
    from django.db import connections, transaction

    connection = connections[using]
    iterator: Iterator[Cohort] = iter(chunks)
    first = next(iterator, None)
    summary = WriteSummary()
    if first is None:
        return summary
    with transaction.atomic(using=using), connection.cursor() as cursor:
        clinic_ids = _synthetic_clinics(first.clinics)
        summary.clinics = len(first.clinics)
        ours = ", ".join(str(int(i)) for i in clinic_ids[1:])
        cursor.execute(
            "DELETE FROM research_adverse_event WHERE course_id IN "
            f"(SELECT course_id FROM research_course WHERE clinic_id IN ({ours}))"
        )
        cursor.execute(f"DELETE FROM research_course WHERE clinic_id IN ({ours})")
        cursor.execute("SELECT COALESCE(MAX(course_id), 0) FROM research_course")
        offset = int(cursor.fetchone()[0])
        for chunk in chain([first], iterator):
            courses = dict(chunk.courses)
            courses["course_id"] = courses["course_id"] + offset
            courses["clinic_id"] = clinic_ids[courses["clinic_id"]]
            events = dict(chunk.adverse_events)
            events["course_id"] = events["course_id"] + offset
            shifted = Cohort(courses, events, chunk.clinics)
            if connection.vendor == "postgresql":
                for name, table in cohort_tables(shifted).items():
                    _copy_postgresql(cursor, name, table)
            else:
                _insert_sqlite(cursor, "research_course", courses)
                _insert_sqlite(cursor, "research_adverse_event", events)
            summary.courses += len(chunk)
            summary.adverse_events += len(events["course_id"])
    return summary
