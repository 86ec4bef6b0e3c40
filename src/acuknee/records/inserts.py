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
the row's ``_change_reason`` if it has one; its tracked columns take the values the row's
own insert prepared, where each history field prepares a value as the row's field does.

Like ``bulk_create``, neither sends the model's save signals (django-simple-history's own
receiver would write the history row a second time). ``tests/records/test_inserts.py`` holds
both to the ORM's own rows and history rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

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


def _prepared(
    rows: Sequence[Model], fields: Sequence[Field[Any, Any]], connection: BaseDatabaseWrapper
) -> list[list[Any]]:
    """Each new row's values as Django's insert prepares them (``pre_save`` as for an
    addition, which sets an automatic moment on the row, then ``get_db_prep_save``)."""
    model = type(rows[0])
    out = []
    for row in rows:
        if type(row) is not model or not row._state.adding:
            raise ValueError(f"insert takes new {model.__name__} rows only, not {row!r}")
        row._prepare_related_fields_for_save(operation_name="insert")
        out.append([f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields])
    return out


def _execute(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    values: Sequence[Sequence[Any]],
    *,
    with_ids: bool,
) -> list[Any] | None:
    """Insert rows of prepared ``values`` (one list per row, in ``_statement``'s field order);
    the ids the database gave them, in order, where ``with_ids`` asks (else None)."""
    first = _statement(connection, model, 1, with_ids=with_ids)
    width = len(first.fields)
    read_after = with_ids and model._meta.auto_field is not None and not first.returns_ids
    ids: list[Any] = []
    with connection.cursor() as cursor:
        for start, end in _batches(connection, len(values), width, one_each=read_after):
            statement = _statement(connection, model, end - start, with_ids=with_ids)
            cursor.execute(statement.sql, [v for row in values[start:end] for v in row])
            if statement.returns_ids:
                ids += [pk for (pk,) in cursor.fetchall()]
            elif read_after:
                meta = model._meta
                ids.append(connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column))
    if not with_ids or model._meta.auto_field is None:
        return None
    if len(ids) != len(values):
        raise RuntimeError(f"{model.__name__}: {len(values)} rows inserted, {len(ids)} ids read")
    return ids


def _stored(rows: Sequence[Model], using: str, ids: Sequence[Any] | None) -> None:
    for i, row in enumerate(rows):
        if ids is not None:
            row.pk = ids[i]
        row._state.adding = False
        row._state.db = using


def _insert(rows: Sequence[Model], using: str, *, with_ids: bool) -> list[list[Any]]:
    """``insert`` of rows (at least one); each row's values as prepared for it."""
    model = type(rows[0])
    connection = connections[using]
    fields = _statement(connection, model, 1, with_ids=with_ids).fields
    values = _prepared(rows, fields, connection)
    _stored(rows, using, _execute(connection, model, values, with_ids=with_ids))
    return values


def insert(rows: Sequence[Model], using: str = "default", *, with_ids: bool = True) -> None:
    """Insert ``rows`` (new rows of one model) in one statement (more past the database's
    limit on parameters), each given its id (unless ``with_ids`` is False), as
    ``bulk_create`` would; one statement a row, its id read after it, on a database that
    cannot return the ids of a many-row insert."""
    if rows:
        _insert(rows, using, with_ids=with_ids)


_ROW = "row"
_PK = "pk"
_DATE = "history_date"
_REASON = "history_change_reason"
_TYPE = "history_type"
_USER = "history_user"


def _alike(ours: Field[Any, Any], theirs: Field[Any, Any]) -> bool:
    """Does ``theirs`` (a history model's copy of ``ours``) prepare a value as ``ours`` does?"""
    return (
        type(ours) is type(theirs)
        and getattr(ours, "related_model", None) is getattr(theirs, "related_model", None)
        and getattr(ours, "encoder", None) is getattr(theirs, "encoder", None)
    )


_PLANS: dict[tuple[type[Model], str], list[tuple[str, int]] | None] = {}


def _history_plan(
    connection: BaseDatabaseWrapper, model: type[Model], history_model: type[Model]
) -> list[tuple[str, int]] | None:
    """Where each column of ``history_model``'s insert takes its value from: a tracked field's
    prepared value from the row's own insert (``(_ROW, its place there)``), the row's id, or
    one of django-simple-history's own fields; None if a column is none of these (the history
    rows are then made as models, as ``bulk_create_with_history`` makes them)."""
    key = (model, connection.alias)
    if key in _PLANS:
        return _PLANS[key]
    ours = _statement(connection, model, 1, with_ids=True).fields
    places = {f.attname: i for i, f in enumerate(ours)}
    pk = model._meta.pk
    plan: list[tuple[str, int]] | None
    sources: list[tuple[str, int]] = []
    for field in _statement(connection, history_model, 1, with_ids=False).fields:
        name = field.attname
        if pk is not None and name == pk.attname:
            source = (_PK, 0)
        elif name in places and _alike(ours[places[name]], field):
            source = (_ROW, places[name])
        elif field.name in (_DATE, _REASON, _TYPE, _USER):
            source = (field.name, 0)
        else:
            plan = None
            break
        sources.append(source)
    else:
        plan = sources
    _PLANS[key] = plan
    return plan


def insert_with_history(rows: Sequence[Model], using: str = "default") -> None:
    """``insert``, then each row's django-simple-history row (one statement for them all), in
    one transaction: ``simple_history.utils.bulk_create_with_history`` for new rows.

    A history row's tracked columns take the values its row's insert prepared (each history
    field prepares a value as its row's field does, checked per column by ``_alike``): made as
    models, the history rows cost as much again as the rows, half of it encoding the same JSON
    documents a second time (issue 15, goal 1's thirteenth round)."""
    if not rows:
        return
    model = type(rows[0])
    history_model: Any = model.history.model
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        ours = _insert(rows, using, with_ids=True)
        now = timezone.now()
        plan = _history_plan(connection, model, history_model)
        if plan is None:
            insert([_history_row(history_model, row, now) for row in rows], using, with_ids=False)
            return
        fields = _statement(connection, history_model, 1, with_ids=False).fields
        history = []
        for row, prepared in zip(rows, ours, strict=True):
            values = []
            for (source, place), field in zip(plan, fields, strict=True):
                if source == _ROW:
                    values.append(prepared[place])
                    continue
                if source == _PK:
                    value: Any = row.pk
                elif source == _DATE:
                    value = getattr(row, "_history_date", now)
                elif source == _REASON:
                    value = getattr(row, "_change_reason", None)
                elif source == _TYPE:
                    value = "+"
                else:
                    user = _history_user(history_model, row)
                    value = None if user is None else user.pk
                values.append(field.get_db_prep_save(value, connection))
            history.append(values)
        _execute(connection, history_model, history, with_ids=False)


def _history_user(history_model: Any, row: Model) -> Any:
    """The history row's user, as django-simple-history finds it: the row's own
    ``_history_user``, else the request's."""
    if hasattr(row, "_history_user"):
        return row._history_user
    return history_model.get_default_history_user(row)


def _history_row(history_model: Any, row: Model, now: Any) -> Model:
    """A creation's history row made as ``bulk_create_with_history`` makes it."""
    return cast(
        Model,
        history_model(
            history_date=getattr(row, "_history_date", now),
            history_change_reason=getattr(row, "_change_reason", None),
            history_type="+",
            history_user=_history_user(history_model, row),
            **{f.attname: getattr(row, f.attname) for f in history_model.tracked_fields},
        ),
    )
