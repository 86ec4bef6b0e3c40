"""The demo clinic built once per test run and copied into each test database.

``load_demo`` builds every record through the clinical core (screening, planning, session checks,
FHIR lines, history rows): a few CPU seconds, which the report, research, security and browser
tests paid once per module and xdist worker. Here one worker of the run builds it (under the
file lock of ``tests/shared_run.py``) inside a transaction it rolls back, keeping every row the
load added as Django's JSON serialization; each user of the demo inserts those rows as they
are (``bulk_create``: no ``save()``, no signals, so the rows are exactly the ones ``load_demo``
wrote, primary keys and FHIR lines included) and moves the primary-key sequences past them
(PostgreSQL). ``tests/pages/test_demo.py`` still checks ``load_demo`` itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from django.core.management.color import no_style
from django.db import connection, models, transaction

from acuknee.demo import DemoResult, demo_exists, demo_logins, load_demo
from tests.shared_run import once_per_run

_BUILT: dict[str, dict[str, Any]] = {}
"""This process's snapshots by day (without xdist ``once_per_run`` computes on every call)."""


def _tables() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


def _snapshot(today: dt.date) -> dict[str, Any]:
    """The rows ``load_demo(today)`` adds, one JSON serialization per model (then rolled back),
    and what the load answered (so a test of ``load_demo`` from an empty database reads it)."""
    tables = _tables()
    with transaction.atomic():
        before = {m: set(m._base_manager.values_list("pk", flat=True)) for m in tables}
        result = load_demo(today)
        dumps = []
        for model in tables:
            added = [o for o in model._base_manager.order_by("pk") if o.pk not in before[model]]
            if added:
                dumps.append(serializers.serialize("json", added))
        transaction.set_rollback(True)
    return {
        "dumps": dumps,
        "created": result.created,
        "patients": result.patients,
        "stages": result.stages,
    }


def restore_demo(tmp_path_factory: pytest.TempPathFactory, today: dt.date) -> DemoResult:
    """The demo clinic as ``load_demo(today)`` leaves it, in the current database."""
    if demo_exists():
        return DemoResult(created=False, logins=demo_logins())
    key = today.isoformat()
    if key not in _BUILT:
        _BUILT[key] = once_per_run(tmp_path_factory, f"demo-{key}", lambda: _snapshot(today))
    snapshot = _BUILT[key]
    touched: list[type[models.Model]] = []
    for dump in snapshot["dumps"]:
        rows = list(serializers.deserialize("json", dump))
        model = type(rows[0].object)
        model._base_manager.bulk_create([row.object for row in rows])
        for row in rows:
            for name, values in (row.m2m_data or {}).items():
                getattr(row.object, name).set(values)
        touched.append(model)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), touched):
            cursor.execute(sql)
    return DemoResult(
        created=snapshot["created"],
        logins=demo_logins(),
        patients=snapshot["patients"],
        stages=snapshot["stages"],
    )
