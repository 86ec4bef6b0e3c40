"""The database's own refusal to change audit rows: triggers, per vendor.

The ORM guards (``AuditEvent.save``/``delete``, the append-only queryset) stop application
code; these triggers stop everything else that speaks SQL to the database, raw SQL included.
``TRUNCATE`` on PostgreSQL and Django's ``flush`` (which wipes every table: tests, or
``manage.py flush``) are whole-database wipes, not edits of the log, and are let through (see
``management/commands/flush.py``).
"""

from __future__ import annotations

from typing import Any

TABLE = "audit_auditevent"
MESSAGE = "audit events are append-only"

SQLITE_TRIGGERS = {
    "audit_auditevent_no_update": (
        f"CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END"
    ),
    "audit_auditevent_no_delete": (
        f"CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END"
    ),
    # INSERT OR REPLACE deletes the clashing row without firing DELETE triggers (unless
    # recursive_triggers is on): an insert that would clash with a stored row is refused first.
    "audit_auditevent_no_replace": (
        f"CREATE TRIGGER audit_auditevent_no_replace BEFORE INSERT ON {TABLE} "
        f"WHEN EXISTS (SELECT 1 FROM {TABLE} WHERE id = NEW.id OR seq = NEW.seq) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: REPLACE refused'); END"
    ),
}
SQLITE_DELETE_TRIGGER = "audit_auditevent_no_delete"
SQLITE_REPLACE_TRIGGER = "audit_auditevent_no_replace"

POSTGRES_CREATE = [
    "CREATE OR REPLACE FUNCTION audit_auditevent_refuse() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    f"CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_auditevent_refuse()",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS audit_auditevent_append_only ON {TABLE}",
    "DROP FUNCTION IF EXISTS audit_auditevent_refuse()",
]


def install(connection: Any) -> None:
    """Create the triggers on ``connection``'s database (SQLite or PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for sql in SQLITE_TRIGGERS.values():
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            for sql in POSTGRES_CREATE:
                cursor.execute(sql)


def uninstall(connection: Any) -> None:
    """Drop the triggers (the migration's reverse)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        elif connection.vendor == "postgresql":
            for sql in POSTGRES_DROP:
                cursor.execute(sql)
