"""A covering index on ``research_course`` in the order of ``sql/outcomes_cells.sql``'s GROUP BY,
on SQLite only.

SQLite has no hash aggregation: without it, the report's first stage sorts every course on
thirteen keys (most of the report's time on SQLite). Scanning this index, which holds every column
the cells and the report's filters read, SQLite streams the GROUP BY in index order, without a
sort and without reading the table. The sessions band is an indexed expression: it must stay the
same text as in ``outcomes_cells.sql`` (``tests/research/test_sqlite_stages.py`` checks the plan).
PostgreSQL aggregates by hashing, in parallel: there the index would only cost writes.
"""

from typing import Any

from django.db import migrations

NAME = "research_course_cells"

COLUMNS = (
    "clinic_id",
    "clinic_region",
    "cause",
    "severity_band",
    "age_band",
    "sex",
    "diabetes",
    "anticoagulated",
    "cardiac_device",
    "knee_prosthesis",
    "protocol_id",
    "method",
    "(CASE"
    " WHEN sessions_attended <= 0 THEN 0"
    " WHEN sessions_attended <= 4 THEN 1"
    " WHEN sessions_attended <= 8 THEN 2"
    " WHEN sessions_attended <= 12 THEN 3"
    " ELSE 4 END)",
    "start_date",
    "course_id",
    "verdict",
    "dropped_out",
    "completed",
    "sessions_planned",
    "sessions_attended",
    "pain_improvement",
    "function_improvement",
    "inflammation_improvement",
    "relaxation_improvement",
    "circulation_improvement",
    "pain_mic_reached",
    "function_mic_reached",
    "inflammation_mic_reached",
    "relaxation_mic_reached",
    "circulation_mic_reached",
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON research_course ({', '.join(COLUMNS)})"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("research", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
