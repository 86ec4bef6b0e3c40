"""The clinic database: migrations match the models, SQLite runs in WAL mode by default."""

from __future__ import annotations

import os
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


def _open_temporary_files() -> list[str]:
    """SQLite's temporary files this process holds open (made and unlinked at once, so only
    its open descriptors show them)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed since the listing
            continue
        if "etilqs" in target:  # SQLite's name for its temporary files
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc/self/fd")
def test_a_save_s_later_statements_journal_in_memory_not_in_a_temporary_file(
    tmp_path: Path,
) -> None:
    """A statement after the first of a transaction keeps the pages it changes in a statement
    journal; past 64 KiB (four 16 KiB pages) SQLite spilled it to a file in /var/tmp, made,
    written and unlinked on every save and most audited reads (issue 15). The settings keep
    temporary storage in memory: this transaction's second statement changes about 20 pages
    and opens no file."""
    db = database_settings(None, tmp_path)
    conn = sqlite3.connect(db["NAME"], isolation_level=None)
    conn.executescript(db["OPTIONS"]["init_command"])
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT UNIQUE, other TEXT)")
    conn.execute("CREATE INDEX t_other ON t (other)")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t (body, other) VALUES ('first', 'x')")
    conn.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 200) "
        "INSERT INTO t (body, other) "
        "SELECT printf('%d-%s', x, hex(randomblob(400))), hex(randomblob(200)) FROM n"
    )
    assert conn.execute("PRAGMA page_count").fetchone()[0] > 8  # well past the 64 KiB
    assert _open_temporary_files() == []
    conn.execute("COMMIT")
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
