"""Hot reads compiled to SQL once per database connection, then run with new values.

Django builds and compiles a queryset's SQL on every evaluation: for the pages' reads (the
session, the signed-in user, the patient list's status annotations, a patient's chart) that was
more time than running the SQL and building the rows together (issue 15, docs/performance.md).
A ``Prepared`` read keeps the queryset as the one definition of what is read; it is built and
compiled the first time a connection runs it, with a marker value in place of each argument, and
later runs execute that SQL with the arguments in the markers' places and build the rows the way
Django's own iterables do (converters, ``Model.from_db``, ``select_related`` populators,
annotations).

What may vary between runs is only the value of a scalar argument (an id, a text, a date, a
moment). What changes the SQL text (a page's offset, a filter left out) is the read's *shape*,
passed to the build before the arguments and compiled once per shape. Compiling checks that each
argument's marker reached the SQL parameters, so an argument that would change the SQL text (a
``None``, a list, a slice bound) is refused when the read is first run, not answered wrongly.
``tests/records/test_prepared.py`` holds every prepared read of the app to the ORM's own answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

Kind = type[int] | type[str] | type[dt.date] | type[dt.datetime]

_CACHE_ATTR = "acuknee_prepared"
"""Where a connection keeps its compiled reads (a connection belongs to one thread)."""

_serial = itertools.count(1)

MAX_COMPILED = 256
"""Compiled reads a connection keeps; past this it starts again (a few hundred bytes each)."""

REGISTRY: list[Prepared] = []
"""Every prepared read of the app, made at import (the tests compare each with the ORM)."""


class PreparationError(RuntimeError):
    """A build function whose SQL does not take its arguments as parameters."""


def _marker(kind: Kind, number: int) -> Any:
    """A value no real argument takes, distinct per argument and per read."""
    if kind is int:  # within every integer column's range: Django compiles an out-of-range
        return 2_100_000_000 + number  # value to an empty result, not to a parameter
    if kind is str:
        return f"acuknee-prepared-marker-{number}"
    if kind is dt.datetime:
        return dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=number)
    if kind is dt.date:
        return dt.date(1, 1, 1) + dt.timedelta(days=number)
    raise PreparationError(f"a prepared argument cannot be a {kind.__name__}")


def _checked(read: Prepared, name: str, value: Any) -> Any:
    """The argument, if it is of its declared kind (a None or a text for an id would compare
    otherwise than the ORM's own conversion makes it)."""
    kind = read.arguments[name]
    if type(value) is kind or (kind is dt.datetime and isinstance(value, dt.datetime)):
        return value
    raise TypeError(f"{read!r}: {name!r} must be a {kind.__name__}, not {value!r}")


def _adapt(kind: Kind, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """The value as Django passes it to this database for a field of its kind."""
    if kind is dt.datetime:
        return connection.ops.adapt_datetimefield_value(value)
    if kind is dt.date:
        return connection.ops.adapt_datefield_value(value)
    return value


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[str, tuple[int, ...]], ...]
    col_count: int
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    # Model rows only:
    model: type[Model] | None
    model_fields: slice
    init_list: tuple[str, ...]
    klass_info: Any
    select: Any
    annotations: tuple[tuple[str, int], ...]


class Prepared:
    """A read whose queryset ``build(**arguments)`` is compiled once per connection.

    ``arguments`` names each argument's kind (``int``, ``str``, ``dt.date``, ``dt.datetime``).
    ``rows(**values)`` gives model instances, or tuples for a ``values_list()`` build.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        *,
        register: bool = True,
        example_shape: tuple[Hashable, ...] = (),
        **arguments: Kind,
    ) -> None:
        self.build = build
        self.example_shape = example_shape  # the shape the tests compare with the ORM
        self.arguments = dict(arguments)
        self.key = next(_serial)
        if register:
            REGISTRY.append(self)

    def __repr__(self) -> str:
        name = getattr(self.build, "__qualname__", repr(self.build))
        return f"Prepared({getattr(self.build, '__module__', '')}.{name})"

    def orm(self, shape: tuple[Hashable, ...] = (), **values: Any) -> QuerySet[Any]:
        """The same read through the ORM (the reference the tests compare with)."""
        return self.build(*shape, **values)

    def rows(
        self,
        using: str = "default",
        known: Mapping[str, Model] | None = None,
        shape: tuple[Hashable, ...] = (),
        **values: Any,
    ) -> list[Any]:
        """The rows for ``values``. ``known`` gives related objects the caller already holds
        (``{"patient": patient}``), set on each row as a related manager's query sets them.
        ``shape`` is passed to the build before the arguments, for what changes the SQL text
        (a page's offset, a filter left out): each shape is compiled on its own."""
        if values.keys() != self.arguments.keys():
            raise TypeError(f"{self!r} takes {sorted(self.arguments)}, given {sorted(values)}")
        connection = connections[using]
        compiled = self._compiled(connection, shape)
        params = list(compiled.params)
        for name, positions in compiled.slots:
            value = _adapt(self.arguments[name], _checked(self, name, values[name]), connection)
            for position in positions:
                params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [_convert(row, compiled.converters, connection) for row in rows]
        if compiled.model is None:
            return [tuple(row[: compiled.col_count]) for row in rows]
        return _models(rows, compiled, using, known or {})

    def first(
        self, using: str = "default", known: Mapping[str, Model] | None = None, **values: Any
    ) -> Any | None:
        """The first row, or None (the build orders and slices as it needs)."""
        found = self.rows(using, known, **values)  # no shape: a read of one row has one
        return found[0] if found else None

    def _compiled(self, connection: BaseDatabaseWrapper, shape: tuple[Hashable, ...]) -> _Compiled:
        cache: dict[Any, _Compiled] = connection.__dict__.setdefault(_CACHE_ATTR, {})
        key = (self.key, shape)
        compiled = cache.get(key)
        if compiled is None:
            if len(cache) >= MAX_COMPILED:  # shapes come from requests (page numbers)
                cache.clear()
            compiled = cache[key] = self._compile(connection, shape)
        return compiled

    def _compile(self, connection: BaseDatabaseWrapper, shape: tuple[Hashable, ...]) -> _Compiled:
        markers = {
            name: _marker(kind, self.key * 64 + number)
            for number, (name, kind) in enumerate(self.arguments.items(), start=1)
        }
        queryset = self.build(*shape, **markers)
        iterable = queryset._iterable_class
        if iterable not in (ModelIterable, ValuesListIterable):
            raise PreparationError(f"{self!r}: only model rows and values_list() tuples")
        if queryset._known_related_objects or queryset._prefetch_related_lookups:
            raise PreparationError(f"{self!r}: related managers and prefetches are not kept")
        compiler = queryset.query.get_compiler(connection=connection)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # e.g. an id's marker beyond a small integer column's range
            raise PreparationError(f"{self!r}: its SQL compiles to no query at all") from None
        slots = _slots(self, markers, params, sql, connection)
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, tuple(convs), expression)
            for position, (convs, expression) in compiler.get_converters(fields).items()
        )
        model: type[Model] | None = None
        model_fields = slice(0, 0)
        init_list: tuple[str, ...] = ()
        annotations: tuple[tuple[str, int], ...] = ()
        if iterable is ModelIterable:
            info = compiler.klass_info
            model = info["model"]
            model_fields = slice(info["select_fields"][0], info["select_fields"][-1] + 1)
            init_list = tuple(f[0].target.attname for f in compiler.select[model_fields])
            annotations = tuple(compiler.annotation_col_map.items())
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=slots,
            col_count=compiler.col_count,
            converters=converters,
            model=model,
            model_fields=model_fields,
            init_list=init_list,
            klass_info=compiler.klass_info,
            select=compiler.select,
            annotations=annotations,
        )


def _slots(
    read: Prepared,
    markers: Mapping[str, Any],
    params: Sequence[Any],
    sql: str,
    connection: BaseDatabaseWrapper,
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Where each argument's marker stands among the parameters (it must stand somewhere, and
    never in the SQL text)."""
    out = []
    for name, marker in markers.items():
        adapted = _adapt(read.arguments[name], marker, connection)
        positions = tuple(
            i for i, p in enumerate(params) if type(p) is type(adapted) and p == adapted
        )
        if not positions:
            raise PreparationError(f"{read!r}: argument {name!r} is not a parameter of its SQL")
        if str(adapted) in sql:
            raise PreparationError(f"{read!r}: argument {name!r} was written into the SQL text")
        out.append((name, positions))
    return tuple(out)


def _convert(
    row: Sequence[Any], converters: Sequence[tuple[int, Sequence[Any], Any]], connection: Any
) -> list[Any]:
    """Django's ``SQLCompiler.apply_converters`` for one row."""
    values = list(row)
    for position, convs, expression in converters:
        value = values[position]
        for converter in convs:
            value = converter(value, expression, connection)
        values[position] = value
    return values


def _models(
    rows: list[Any], compiled: _Compiled, using: str, known: Mapping[str, Model]
) -> list[Any]:
    """Django's ``ModelIterable`` over rows already converted."""
    model = compiled.model
    assert model is not None
    populators = get_related_populators(compiled.klass_info, compiled.select, using)
    relations = [(model._meta.get_field(name), value) for name, value in known.items()]
    out = []
    for row in rows:
        obj = model.from_db(using, compiled.init_list, row[compiled.model_fields])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in compiled.annotations:
            setattr(obj, name, row[position])
        for field, value in relations:
            if getattr(obj, field.attname) != value.pk:
                raise PreparationError(f"{obj!r} is not related to {value!r} by {field.name}")
            field.set_cached_value(obj, value)
        out.append(obj)
    return out
