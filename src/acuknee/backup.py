"""Back up and restore the clinic's database: one file out, the same database back.

- SQLite: the online backup API (``sqlite3.Connection.backup``) reads a consistent snapshot
  while the app keeps serving, WAL included; the file is itself a SQLite database (rollback
  journal mode, so it is one self-contained file).
- PostgreSQL: ``pg_dump -Fc`` (custom format), restored by ``pg_restore --clean --if-exists
  --single-transaction --exit-on-error``. The client's major version must be at least the
  server's (checked first).

A restore never leaves a half-restored database. SQLite: the backup is first copied to a
temporary file beside the database and checked there (``PRAGMA integrity_check``, and that it
is an acuknee database); only then is it copied into the live database by the backup API in a
single write transaction, which SQLite's journal makes all-or-nothing (a file rename under a
WAL database would let a stale ``-wal`` file be replayed onto the new one). PostgreSQL: one
transaction, rolled back on the first error. A restore over a database that holds data is
refused unless ``force`` is given, and the refusal says what would be replaced.

Every failure is a ``BackupError`` whose message names the file or database and the problem.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
COUNTED_TABLES = ("clinic_clinic", "clinic_patient", "auth_user", "audit_auditevent")
"""Tables whose row counts describe a database to a person deciding whether to replace it."""


class BackupError(Exception):
    """A backup or restore could not be done; the message says what and where."""


@dataclass(frozen=True)
class Summary:
    """What a database holds, in a person's terms (used to say what a restore replaces)."""

    where: str
    counts: dict[str, int]

    @property
    def empty(self) -> bool:
        return not any(self.counts.values())

    def describe(self) -> str:
        if not self.counts:
            return f"{self.where} (no acuknee tables)"
        held = ", ".join(f"{n} rows in {t}" for t, n in self.counts.items())
        return f"{self.where} ({held})"


def backup(target: Path, database: dict[str, Any], *, force: bool = False) -> int:
    """Write a backup of ``database`` (Django settings) to ``target``; returns its size."""
    target = Path(target)
    if target.exists() and not force:
        raise BackupError(f"{target}: file exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such directory")
    with _temporary_beside(target) as partial:
        if _vendor(database) == "sqlite":
            _sqlite_backup(_sqlite_path(database), partial)
        else:
            _pg_dump(database, partial)
        _fsync(partial)
        partial.replace(target)
    return target.stat().st_size


def restore(source: Path, database: dict[str, Any], *, force: bool = False) -> Summary:
    """Replace ``database`` with the backup in ``source``; returns what was replaced.

    Refused (``BackupError``) when the file is missing, is not a backup of this kind of
    database, is damaged, or when the database holds data and ``force`` is not given.
    """
    source = Path(source)
    kind = _file_kind(source)
    vendor = _vendor(database)
    if kind != vendor:
        raise BackupError(
            f"{source}: a {kind} backup cannot be restored into the configured {vendor} database"
        )
    if vendor == "sqlite":
        return _sqlite_restore(source, _sqlite_path(database), force)
    return _pg_restore(source, database, force)


def summary(database: dict[str, Any]) -> Summary:
    """Row counts of the person-facing tables of ``database`` (empty when it has none)."""
    if _vendor(database) == "sqlite":
        path = _sqlite_path(database)
        if not path.exists():
            return Summary(str(path), {})
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
            return Summary(str(path), _counts(conn.cursor(), tables))
    import psycopg

    tables = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    try:
        with contextlib.closing(psycopg.connect(**_pg_kwargs(database))) as conn:
            counts = _counts(conn.cursor(), tables)
    except psycopg.Error as exc:
        raise BackupError(f"PostgreSQL database {database.get('NAME')}: {exc}") from exc
    return Summary(f"PostgreSQL database {database['NAME']}", counts)


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_path(database: dict[str, Any]) -> Path:
    return Path(str(database["NAME"]))


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"{source}: no database here (run `acuknee serve` or migrate first)")
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: cannot back up ({exc})") from exc


def _check_sqlite_copy(path: Path, source: Path) -> None:
    """The copy is a whole SQLite database holding acuknee's tables, else ``BackupError``."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: damaged backup ({exc})") from exc
    if result != [("ok",)]:
        problems = "; ".join(str(row[0]) for row in result[:3])
        raise BackupError(f"{source}: damaged backup (integrity check: {problems})")
    if "django_migrations" not in tables:
        raise BackupError(f"{source}: not an acuknee backup (no django_migrations table)")


def _sqlite_restore(source: Path, live: Path, force: bool) -> Summary:
    before = summary({"ENGINE": "django.db.backends.sqlite3", "NAME": str(live)})
    if not before.empty and not force:
        raise BackupError(
            f"restoring {source} would replace {before.describe()}; pass --force to replace it"
        )
    live.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_beside(live) as staged:
        try:
            with (
                contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
                contextlib.closing(sqlite3.connect(staged)) as copy,
            ):
                src.backup(copy)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source}: damaged backup ({exc})") from exc
        _check_sqlite_copy(staged, source)
        try:
            with (
                contextlib.closing(sqlite3.connect(staged)) as checked,
                contextlib.closing(sqlite3.connect(live, timeout=30)) as target,
            ):
                checked.backup(target)  # one write transaction: all pages or none
        except sqlite3.Error as exc:
            raise BackupError(f"{live}: restore failed, database unchanged ({exc})") from exc
    return before


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_kwargs(database: dict[str, Any]) -> dict[str, Any]:
    found = {
        "dbname": database.get("NAME"),
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "connect_timeout": 5,
    }
    return {k: v for k, v in found.items() if v is not None}


def _pg_env(database: dict[str, Any]) -> dict[str, str]:
    """libpq's variables for the client tools, so no password is on a command line."""
    env = dict(os.environ)
    names = {
        "HOST": "PGHOST",
        "PORT": "PGPORT",
        "USER": "PGUSER",
        "PASSWORD": "PGPASSWORD",
        "NAME": "PGDATABASE",
    }
    for key, variable in names.items():
        if database.get(key):
            env[variable] = str(database[key])
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name}: not found on PATH (install the PostgreSQL client tools)")
    return found


def _major(text: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", text)
    if found is None:
        raise BackupError(f"cannot read a PostgreSQL version from {text!r}")
    return int(found.group(1))


def _check_versions(tool: str, database: dict[str, Any]) -> None:
    import psycopg

    client = _major(_run([tool, "--version"], database, what=tool).stdout)
    try:
        with contextlib.closing(psycopg.connect(**_pg_kwargs(database))) as conn:
            server = int(conn.info.server_version) // 10000
    except psycopg.Error as exc:
        raise BackupError(f"PostgreSQL database {database.get('NAME')}: {exc}") from exc
    if client < server:
        raise BackupError(
            f"{tool} is version {client} but the server is {server}: "
            f"install the PostgreSQL {server} client tools"
        )


def _run(
    args: list[str], database: dict[str, Any], *, what: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, env=_pg_env(database), capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' / '.join(detail[-3:]) or done.returncode}")
    return done


def _pg_dump(database: dict[str, Any], target: Path) -> None:
    tool = _tool("pg_dump")
    _check_versions(tool, database)
    _run([tool, "--format=custom", "--file", str(target)], database, what="pg_dump")


def _pg_restore(source: Path, database: dict[str, Any], force: bool) -> Summary:
    tool = _tool("pg_restore")
    _check_versions(tool, database)
    try:
        _run([tool, "--list", str(source)], database, what=f"{source}: reading the backup")
    except BackupError as exc:
        raise BackupError(f"{source}: damaged backup ({exc})") from exc
    before = summary(database)
    if not before.empty and not force:
        raise BackupError(
            f"restoring {source} would replace {before.describe()}; pass --force to replace it"
        )
    args = [tool, "--clean", "--if-exists", "--single-transaction", "--exit-on-error"]
    args += ["--no-owner", "--dbname", str(database["NAME"]), str(source)]
    try:
        _run(args, database, what="pg_restore")
    except BackupError as exc:
        raise BackupError(f"{source}: restore failed, database unchanged ({exc})") from exc
    return before


# --- shared --------------------------------------------------------------------------------------


def _vendor(database: dict[str, Any]) -> str:
    engine = str(database.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise BackupError(f"database engine {engine!r}: only SQLite and PostgreSQL are supported")


def _file_kind(source: Path) -> str:
    try:
        with source.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise BackupError(f"{source}: no such file") from None
    except OSError as exc:
        raise BackupError(f"{source}: cannot read ({exc.strerror})") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{source}: not an acuknee backup (neither SQLite nor pg_dump custom format)")


def _counts(cursor: Any, tables_sql: str) -> dict[str, int]:
    cursor.execute(tables_sql)
    present = {row[0] for row in cursor.fetchall()}
    counts: dict[str, int] = {}
    for table in COUNTED_TABLES:
        if table in present:
            cursor.execute(f"SELECT count(*) FROM {table}")  # names from the constant above
            counts[table] = int(cursor.fetchone()[0])
    return counts


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """A temporary file name in ``path``'s directory (same file system: renames are atomic),
    removed afterwards unless it was renamed."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    temporary.unlink()  # the tools create it themselves
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)
