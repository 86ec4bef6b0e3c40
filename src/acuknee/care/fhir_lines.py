"""Store a record's FHIR Bulk Data lines after the care layer wrote it (not inside
``Model.save``): the export then copies them instead of building resources.

A record the mapping cannot take keeps no lines (the export builds, and reports, it the slow
way); the failure is logged with the record, never swallowed silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import connections

from acuknee.records.models import RenderedFhir

log = logging.getLogger(__name__)


def render(record: RenderedFhir) -> bool:
    """Fill ``record``'s rendered fields in memory; False (and a log line) when it cannot."""
    try:
        record.render_fhir()
    except (ValueError, TypeError, KeyError, AttributeError):
        log.exception(
            "FHIR lines of %s %s could not be rendered; the export will build them",
            type(record).__name__,
            record.pk,
        )
        record.fhir_version = ""
        return False
    return True


def store(record: RenderedFhir) -> bool:
    """Render and store ``record``'s lines with one UPDATE (no ``save``, so no history row and
    no version bump: the lines are a cache of the record, not part of it)."""
    if record.pk is None or not render(record):
        return False
    stored = {name: getattr(record, name) for name in record.RENDERED}
    type(record)._base_manager.using(record._state.db).filter(pk=record.pk).update(**stored)
    return True


def store_all(records: Sequence[RenderedFhir]) -> int:
    """``store`` for records of one model, as one statement run once per record (``executemany``:
    a ``bulk_update`` would compile a CASE per column and row, which cost more than the rows'
    own inserts); how many were stored (a record the mapping cannot take keeps no lines)."""
    rendered = [r for r in records if r.pk is not None and render(r)]
    if not rendered:
        return 0
    meta = type(rendered[0])._meta
    connection = connections[rendered[0]._state.db or "default"]
    fields = [meta.get_field(name) for name in type(rendered[0]).RENDERED]
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s"
    rows = [
        [f.get_db_prep_save(getattr(r, f.attname), connection) for f in fields] + [r.pk]
        for r in rendered
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rendered)
