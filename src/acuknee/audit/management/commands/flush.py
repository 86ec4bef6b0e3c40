"""Django's ``flush`` (wipe every table), let past the audit log's SQLite DELETE trigger.

``flush`` is how tests that commit (``transaction=True``, ``live_server``) reset the database,
and an operator's way to empty a whole database: every table goes, not a chosen row. SQLite has
no ``TRUNCATE`` (its ``DELETE FROM`` fires row triggers), so the DELETE trigger is dropped and
recreated around the wipe, in one transaction: if anything fails it is still there. On
PostgreSQL ``flush`` is a ``TRUNCATE``, which row triggers do not see.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

from acuknee.audit import guard


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                    [guard.SQLITE_DELETE_TRIGGER],
                )
                guarded = cursor.fetchone() is not None
                cursor.execute(f"DROP TRIGGER IF EXISTS {guard.SQLITE_DELETE_TRIGGER}")
            super().handle(**options)
            if guarded:
                with connection.cursor() as cursor:
                    cursor.execute(guard.SQLITE_TRIGGERS[guard.SQLITE_DELETE_TRIGGER])
