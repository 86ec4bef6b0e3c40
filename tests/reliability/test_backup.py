"""Backup and restore: every row of every table comes back; nothing is overwritten by surprise;
a damaged file is refused and leaves the database as it was.

The SQLite tests run in the SQLite pass, the PostgreSQL ones in the PostgreSQL pass (each skips
in the other, saying so). The data is made through the app (pages, the API, sign-ins), so the
tables compared hold clinical records, their history, API tokens, sessions, second-factor
devices, audit events, and Django's own auth and content-type rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from acuknee.backup import BackupError, backup, restore
from acuknee.records.models import ApiToken, Patient
from tests.pages.conftest import login
from tests.reliability import databases

pytestmark = pytest.mark.django_db(transaction=True)

MUST_HOLD_ROWS = (
    "auth_user",
    "auth_permission",
    "django_content_type",
    "django_session",
    "clinic_patient",
    "clinic_historicalpatient",
    "clinic_measurement",
    "clinic_historicalmeasurement",
    "clinic_apitoken",
    "audit_auditevent",
    "otp_totp_totpdevice",
)
"""Tables the comparison must find rows in, so an empty table cannot pass for a copied one."""

SQLITE_ONLY = pytest.mark.skipif(
    bool(os.environ.get("ACUKNEE_DATABASE_URL")),
    reason="SQLite backup is tested in the SQLite pass; this is the PostgreSQL pass",
)
POSTGRES_ONLY = [
    pytest.mark.skipif(
        not os.environ.get("ACUKNEE_DATABASE_URL"),
        reason="pg_dump/pg_restore are tested in the PostgreSQL pass (make pytest-postgres)",
    ),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore"))
        and os.environ.get("ACUKNEE_REQUIRE_POSTGRES") != "1",
        reason="pg_dump/pg_restore not on PATH (install postgresql-client; "
        "ACUKNEE_REQUIRE_POSTGRES=1 fails instead)",
    ),
]


def postgres_only(test: Any) -> Any:
    for mark in POSTGRES_ONLY:
        test = mark(test)
    return test


@pytest.fixture
def populated(patient: Patient, alice: User, erin: User) -> None:
    """A clinic's worth of records, made through the app."""
    client = login(alice)
    client.get(f"/patients/{patient.pk}/", HTTP_USER_AGENT="backup test")
    _, secret = ApiToken.issue(alice, "backup test")
    for day in (1, 15):
        response = Client().post(
            f"/api/v1/patients/{patient.pk}/measurements",
            {"measured_on": f"2025-03-{day:02d}", "answers": {"pain_nrs": {"current": day % 11}}},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 201, response.content
    login(erin).get("/audit/")


def _snapshot(vendor: str, where: str) -> dict[str, list[tuple[Any, ...]]]:
    with contextlib.closing(databases.open_database(vendor, where)) as db:
        return {t: databases.rows(db, t) for t in databases.table_names(db, vendor)}


def _assert_same(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> None:
    assert sorted(after) == sorted(before)
    for table in MUST_HOLD_ROWS:
        assert before[table], f"{table} is empty: the comparison would prove nothing"
    for table, rows in before.items():
        assert after[table] == rows, f"{table} differs after the round trip"


def _update_is_refused(vendor: str, where: str) -> None:
    with contextlib.closing(databases.open_database(vendor, where)) as db:
        cursor = db.cursor()
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("UPDATE audit_auditevent SET status = 999")


def _sqlite(path: Path) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}


# --- SQLite ------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_sqlite_round_trip_keeps_every_row_of_every_table(populated: None, tmp_path: Path) -> None:
    live = databases.sqlite_copy(tmp_path / "live.sqlite3")
    size = backup(tmp_path / "backup.sqlite3", _sqlite(live))
    assert size > 0
    restored = tmp_path / "restored.sqlite3"
    replaced = restore(tmp_path / "backup.sqlite3", _sqlite(restored))
    assert replaced.empty
    _assert_same(_snapshot("sqlite", str(live)), _snapshot("sqlite", str(restored)))
    _update_is_refused("sqlite", str(restored))


@SQLITE_ONLY
def test_sqlite_backup_is_consistent_while_a_write_is_open(populated: None, tmp_path: Path) -> None:
    live = databases.sqlite_copy(tmp_path / "live.sqlite3")
    with contextlib.closing(sqlite3.connect(live)) as writer:
        writer.execute("PRAGMA journal_mode=WAL")
        before = _snapshot("sqlite", str(live))
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE clinic_patient SET given_name = 'Uncommitted'")
        backup(tmp_path / "backup.sqlite3", _sqlite(live))
        writer.rollback()
    assert _snapshot("sqlite", str(tmp_path / "backup.sqlite3")) == before


@SQLITE_ONLY
def test_restore_over_data_is_refused_without_force_and_says_what_it_replaces(
    populated: None, tmp_path: Path
) -> None:
    live = databases.sqlite_copy(tmp_path / "live.sqlite3")
    backup(tmp_path / "backup.sqlite3", _sqlite(live))
    with pytest.raises(BackupError) as refused:
        restore(tmp_path / "backup.sqlite3", _sqlite(live))
    message = str(refused.value)
    assert str(live) in message
    assert "1 rows in clinic_patient" in message
    assert "--force" in message
    replaced = restore(tmp_path / "backup.sqlite3", _sqlite(live), force=True)
    assert replaced.counts["clinic_patient"] == 1


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("truncate", "damaged backup"),
        ("garbage", "not an acuknee backup"),
        ("foreign", "not an acuknee backup"),
        ("missing", "no such file"),
    ],
)
def test_a_bad_backup_file_is_refused_and_the_database_is_unchanged(
    populated: None, tmp_path: Path, damage: str, expected: str
) -> None:
    live = databases.sqlite_copy(tmp_path / "live.sqlite3")
    good = tmp_path / "backup.sqlite3"
    backup(good, _sqlite(live))
    bad = tmp_path / "bad.sqlite3"
    if damage == "truncate":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    elif damage == "garbage":
        bad.write_bytes(b"not a database at all\n" * 100)
    elif damage == "foreign":
        with contextlib.closing(sqlite3.connect(bad)) as other:
            other.execute("CREATE TABLE notes (text TEXT)")
    before = _snapshot("sqlite", str(live))
    with pytest.raises(BackupError, match=expected) as refused:
        restore(bad, _sqlite(live), force=True)
    assert str(bad) in str(refused.value)
    assert _snapshot("sqlite", str(live)) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")) == []


@SQLITE_ONLY
def test_backup_does_not_overwrite_a_file_without_force(populated: None, tmp_path: Path) -> None:
    live = databases.sqlite_copy(tmp_path / "live.sqlite3")
    target = tmp_path / "backup.sqlite3"
    target.write_text("an older backup")
    with pytest.raises(BackupError, match="file exists"):
        backup(target, _sqlite(live))
    assert target.read_text() == "an older backup"
    backup(target, _sqlite(live), force=True)
    assert target.read_bytes().startswith(b"SQLite format 3")


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACUKNEE_")}
    env["ACUKNEE_DATA_DIR"] = str(data_dir)
    command = [sys.executable, "-c", "from acuknee.cli import main; main()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@SQLITE_ONLY
def test_the_cli_backs_up_and_restores_with_force(populated: None, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    live = databases.sqlite_copy(data / "acuknee.sqlite3")
    before = _snapshot("sqlite", str(live))
    made = _cli(data, "backup", str(tmp_path / "clinic.backup"))
    assert made.returncode == 0, made.stderr
    assert "backed up to" in made.stdout

    refused = _cli(data, "restore", str(tmp_path / "clinic.backup"))
    assert refused.returncode == 2
    assert "would replace" in refused.stderr
    assert "--force" in refused.stderr

    done = _cli(data, "restore", "--force", str(tmp_path / "clinic.backup"))
    assert done.returncode == 0, done.stderr
    assert _snapshot("sqlite", str(live)) == before

    missing = _cli(data, "restore", str(tmp_path / "nope.backup"))
    assert missing.returncode == 2
    assert "nope.backup: no such file" in missing.stderr


# --- PostgreSQL ----------------------------------------------------------------------------------


@postgres_only
def test_postgres_round_trip_keeps_every_row_of_every_table(
    populated: None, tmp_path: Path
) -> None:
    source = connection.settings_dict["NAME"]
    before = _snapshot("postgresql", source)
    file = tmp_path / "clinic.backup"
    backup(file, databases.pg_settings(source))
    assert file.read_bytes().startswith(b"PGDMP")
    with databases.pg_database("restore", template=False) as fresh:
        replaced = restore(file, databases.pg_settings(fresh))
        assert replaced.empty
        _assert_same(before, _snapshot("postgresql", fresh))
        _update_is_refused("postgresql", fresh)


@postgres_only
def test_postgres_restore_refuses_without_force_then_a_damaged_file_changes_nothing(
    populated: None, tmp_path: Path
) -> None:
    source = connection.settings_dict["NAME"]
    file = tmp_path / "clinic.backup"
    backup(file, databases.pg_settings(source))
    with databases.pg_database("refuse", template=True) as copy:
        settings = databases.pg_settings(copy)
        before = _snapshot("postgresql", copy)
        with pytest.raises(BackupError, match=r"would replace .*clinic_patient.*--force"):
            restore(file, settings)

        damaged = tmp_path / "damaged.backup"
        damaged.write_bytes(file.read_bytes()[: int(file.stat().st_size * 0.6)])
        with pytest.raises(BackupError, match=r"damaged\.backup"):
            restore(damaged, settings, force=True)
        assert _snapshot("postgresql", copy) == before

        restore(file, settings, force=True)
        _assert_same(before, _snapshot("postgresql", copy))


@postgres_only
def test_a_sqlite_backup_is_refused_by_a_postgres_database(tmp_path: Path) -> None:
    file = tmp_path / "clinic.sqlite3"
    with contextlib.closing(sqlite3.connect(file)) as db:
        db.execute("CREATE TABLE django_migrations (id INTEGER)")
    with pytest.raises(BackupError, match="sqlite backup cannot be restored"):
        restore(file, databases.pg_settings(connection.settings_dict["NAME"]), force=True)
