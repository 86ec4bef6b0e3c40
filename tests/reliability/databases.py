"""Fresh databases for the reliability tests, made from the test database pytest-django built.

Copying the migrated test database is much faster than migrating a new one in a subprocess:
SQLite through the backup API into a file, PostgreSQL as ``CREATE DATABASE ... TEMPLATE``.
Every PostgreSQL database made here is named ``acuknee_<purpose>_<pid>`` and dropped after.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection, connections


def pg_settings(name: str) -> dict[str, Any]:
    """The test connection's PostgreSQL settings, for another database on the same server."""
    return {**connection.settings_dict, "NAME": name}


def pg_url(name: str) -> str:
    s = connection.settings_dict
    user = quote(s.get("USER") or "")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgresql://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"


def _pg_admin() -> Any:
    import psycopg

    s = connection.settings_dict
    found = {
        "dbname": "postgres",
        "user": s.get("USER") or None,
        "password": s.get("PASSWORD") or None,
        "host": s.get("HOST") or None,
        "port": s.get("PORT") or None,
        "autocommit": True,
    }
    return psycopg.connect(**{k: v for k, v in found.items() if v is not None})


def pg_name(purpose: str) -> str:
    return f"acuknee_{purpose}_{os.getpid()}"


@contextlib.contextmanager
def pg_database(purpose: str, *, template: bool) -> Iterator[str]:
    """A new PostgreSQL database (a copy of the test database when ``template``), dropped after."""
    name = pg_name(purpose)
    source = connection.settings_dict["NAME"]
    connections.close_all()  # a template database must have no other session
    with contextlib.closing(_pg_admin()) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            # Another thread of this test process (a live server, a bulk-export job) may still
            # hold a session on the test database; a template must have none. The test
            # database is this process's own, so its other sessions are ended, not waited for.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [source],
            )
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        else:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with contextlib.closing(_pg_admin()) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_copy(path: Path) -> Path:
    """The test database (its committed state) copied to ``path`` through the backup API."""
    connection.ensure_connection()
    with contextlib.closing(sqlite3.connect(path)) as target:
        connection.connection.backup(target)
    return path


def rows(dbapi: Any, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    """Every row of ``table``, in a stable order (by every column)."""
    cursor = dbapi.cursor()
    cursor.execute(f"SELECT {columns} FROM {table} WHERE 1 = 0")
    count = len(cursor.description)
    order = ", ".join(str(n) for n in range(1, count + 1))
    cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")
    return [tuple(row) for row in cursor.fetchall()]


def open_database(vendor: str, where: str) -> Any:
    """A DB-API connection: a SQLite file path, or a PostgreSQL database name."""
    if vendor == "sqlite":
        return sqlite3.connect(where)
    import psycopg

    s = connection.settings_dict
    found = {
        "dbname": where,
        "user": s.get("USER") or None,
        "password": s.get("PASSWORD") or None,
        "host": s.get("HOST") or None,
        "port": s.get("PORT") or None,
    }
    return psycopg.connect(**{k: v for k, v in found.items() if v is not None})


def table_names(dbapi: Any, vendor: str) -> list[str]:
    cursor = dbapi.cursor()
    if vendor == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    else:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
    return [row[0] for row in cursor.fetchall()]
