"""New rows inserted by a statement written once per model and database connection.

Django compiles an INSERT on every ``save`` and ``bulk_create``, preparing its placeholders and
checking each value for expressions: storing an intake (the intake, about ten measurements and
a django-simple-history row for each) spent more time compiling than inserting (issue 15,
docs/performance.md). ``insert`` writes a model's rows with one statement, written the first
time a connection inserts that many rows of that model, with each value prepared by its own
field as Django's insert prepares it (``pre_save`` as for an addition, then
``get_db_prep_save``), and reads back the ids the database gave, in the rows' order, as
``bulk_create`` does. ``insert_with_history`` also writes each row's history row as
``simple_history.utils.bulk_create_with_history`` makes it: a creation (``+``), at one moment,
by the user django-simple-history finds for the request (or the row's ``_history_user``), with
the row's ``_change_reason`` if it has one.

Like ``bulk_create``, neither sends the model's save signals (django-simple-history's own
receiver would write the history row a second time). ``tests/records/test_inserts.py`` holds
both to the ORM's own rows and history rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.utils import timezone

_CACHE_ATTR = "acuknee_inserts"
"""Where a connection keeps its written statements (a connection belongs to one thread)."""


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple[Field[Any, Any], ...]
    returns_ids: bool


def _statement(
    connection: BaseDatabaseWrapper, model: type[Model], rows: int, *, with_ids: bool
) -> _Statement:
    """The model's INSERT of ``rows`` rows, of every concrete field but an auto-incremented id,
    returning the ids in the rows' order where ``with_ids`` asks and the database can (as
    ``bulk_create`` reads them: PostgreSQL, and SQLite from 3.35)."""
    cache: dict[tuple[type[Model], int, bool], _Statement] = connection.__dict__.setdefault(
        _CACHE_ATTR, {}
    )
    found = cache.get((model, rows, with_ids))
    if found is None:
        meta = model._meta
        fields = tuple(f for f in meta.concrete_fields if f is not meta.auto_field)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * rows)
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"
        returns_ids = (
            with_ids
            and meta.auto_field is not None
            and connection.features.can_return_rows_from_bulk_insert
        )
        if returns_ids:
            sql += f" RETURNING {quote(meta.pk.column)}"
        found = cache[(model, rows, with_ids)] = _Statement(sql, fields, returns_ids)
    return found


def _batches(
    connection: BaseDatabaseWrapper, rows: int, fields: int, *, one_each: bool
) -> list[tuple[int, int]]:
    """(start, end) of each statement's rows, within the database's limit on parameters; a row
    a statement where ``one_each`` (ids read after each insert)."""
    limit = connection.features.max_query_params
    size = rows if not limit else max(1, min(rows, limit // max(fields, 1)))
    size = 1 if one_each else size
    return [(start, min(start + size, rows)) for start in range(0, rows, size)]


def insert(rows: Sequence[Model], using: str = "default", *, with_ids: bool = True) -> None:
    """Insert ``rows`` (new rows of one model) in one statement (more past the database's
    limit on parameters), each given its id (unless ``with_ids`` is False), as
    ``bulk_create`` would; one statement a row, its id read after it, on a database that
    cannot return the ids of a many-row insert."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[using]
    first = _statement(connection, model, 1, with_ids=with_ids)
    fields = first.fields
    read_after = with_ids and model._meta.auto_field is not None and not first.returns_ids
    params: list[Any] = []
    for row in rows:
        if type(row) is not model or not row._state.adding:
            raise ValueError(f"insert takes new {model.__name__} rows only, not {row!r}")
        row._prepare_related_fields_for_save(operation_name="insert")
        params += [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    with connection.cursor() as cursor:
        for start, end in _batches(connection, len(rows), len(fields), one_each=read_after):
            statement = _statement(connection, model, end - start, with_ids=with_ids)
            cursor.execute(statement.sql, params[start * len(fields) : end * len(fields)])
            if statement.returns_ids:
                for row, (pk,) in zip(rows[start:end], cursor.fetchall(), strict=True):
                    row.pk = pk
            elif read_after:
                meta = model._meta
                rows[start].pk = connection.ops.last_insert_id(
                    cursor, meta.db_table, meta.pk.column
                )
    for row in rows:
        row._state.adding = False
        row._state.db = using


def insert_with_history(rows: Sequence[Model], using: str = "default") -> None:
    """``insert``, then each row's django-simple-history row (one statement for them all), in
    one transaction: ``simple_history.utils.bulk_create_with_history`` for new rows."""
    if not rows:
        return
    model = type(rows[0])
    history_model: Any = model.history.model
    with transaction.atomic(using=using, savepoint=False):
        insert(rows, using)
        now = timezone.now()
        history = []
        for row in rows:
            if hasattr(row, "_history_user"):
                user = row._history_user
            else:
                user = history_model.get_default_history_user(row)
            history.append(
                history_model(
                    history_date=getattr(row, "_history_date", now),
                    history_change_reason=getattr(row, "_change_reason", None),
                    history_type="+",
                    history_user=user,
                    **{f.attname: getattr(row, f.attname) for f in history_model.tracked_fields},
                )
            )
        insert(history, using, with_ids=False)
