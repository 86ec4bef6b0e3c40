"""The research tables in the app's database, built from ``schema.py`` so the two cannot drift."""

from __future__ import annotations

from typing import Any

from django.db import models

from acuknee.research.schema import ADVERSE_EVENT_COLUMNS, COURSE_COLUMNS, Column

_FIELDS: dict[str, type[models.Field[Any, Any]]] = {
    "bigint": models.BigIntegerField,
    "int": models.IntegerField,
    "float": models.FloatField,
    "bool": models.BooleanField,
    "text": models.TextField,
    "date": models.DateField,
}


def _field(column: Column, primary_key: bool = False) -> models.Field[Any, Any]:
    options: dict[str, Any] = {"help_text": column.description}
    if primary_key:
        options["primary_key"] = True
    elif column.nullable:
        options["null"] = True
    return _FIELDS[column.kind](**options)


def _model(name: str, table: str, columns: tuple[Column, ...], key: str | None) -> Any:
    meta = type("Meta", (), {"db_table": table, "app_label": "research"})
    attrs: dict[str, Any] = {"__module__": __name__, "Meta": meta}
    attrs |= {c.name: _field(c, primary_key=c.name == key) for c in columns}
    return type(name, (models.Model,), attrs)


CourseOutcome = _model("CourseOutcome", "research_course", COURSE_COLUMNS, key="course_id")
AdverseEventFact = _model("AdverseEventFact", "research_adverse_event", ADVERSE_EVENT_COLUMNS, None)
