"""The clinic database: migrations match the models, SQLite runs in WAL mode by default."""

from __future__ import annotations

import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from acuknee.config import ConfigError, database_settings


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_default_database_is_a_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    db = database_settings(None, tmp_path)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    conn = sqlite3.connect(db["NAME"])
    conn.executescript(db["OPTIONS"]["init_command"])
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_worker_keeps_its_database_connection_between_requests(tmp_path: Path) -> None:
    """A new SQLite connection reads the whole schema on its first statement (milliseconds per
    request, issue 15): both engines keep connections open, checked before reuse."""
    for url in (None, "postgresql://acu@db.example:5433/clinics"):
        db = database_settings(url, tmp_path)
        assert db["CONN_MAX_AGE"] > 0, url
        assert db["CONN_HEALTH_CHECKS"] is True, url


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    db = database_settings("postgresql://acu@db.example:5433/clinics", tmp_path)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.example", 5433, "clinics")


def test_a_database_url_of_unknown_scheme_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ACUKNEE_DATABASE_URL"):
        database_settings("nosuchdb://x", tmp_path)
