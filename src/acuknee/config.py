"""All configuration is read here, from the environment, once; a bad value fails loudly.

Zero configuration gives the embedded default: SQLite (WAL) in ``./var/acuknee.sqlite3``, debug
on, a development secret key. ``ACUKNEE_PRODUCTION=1`` (set by ``acuknee serve``) turns debug
off and then requires ``ACUKNEE_SECRET_KEY`` and ``ACUKNEE_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """A configuration value is missing or invalid; the message names the variable."""


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


@dataclass(frozen=True)
class Config:
    production: bool
    secret_key: str
    allowed_hosts: list[str]
    database: dict[str, Any]
    data_dir: Path
    session_idle_minutes: int
    lockout_failures: int
    """Failed sign-ins (same username from the same address) before the lockout."""
    lockout_minutes: int
    """How long a lockout lasts; ``axes_reset`` lifts it sooner."""
    export_retention_hours: int = 24
    """How long a finished FHIR Bulk Data export's files are kept (``expire_exports``)."""
    session_max_hours: int = 12
    """A session ends this long after sign-in, however active (ASVS 3.3.2's absolute limit)."""
    intake_draft_days: int = 7
    """How long an unfinished intake's answers are kept for their practitioner to resume
    (``care.queries.intake_draft``; ``expire_drafts`` deletes older ones)."""


def load() -> Config:
    production = _flag("ACUKNEE_PRODUCTION")
    data_dir = Path(os.environ.get("ACUKNEE_DATA_DIR") or Path.cwd() / "var")
    secret = os.environ.get("ACUKNEE_SECRET_KEY", "")
    hosts = [h.strip() for h in os.environ.get("ACUKNEE_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if production:
        if len(secret) < 50:
            raise ConfigError("ACUKNEE_SECRET_KEY must be set to at least 50 random characters")
        if not hosts:
            raise ConfigError("ACUKNEE_ALLOWED_HOSTS must list the host names to serve")
    else:
        secret = secret or "acuknee-development-only-secret-key-never-use-in-production-0000"
        hosts = hosts or ["127.0.0.1", "localhost", "testserver"]
    idle = _whole("ACUKNEE_SESSION_IDLE_MINUTES", 30)
    return Config(
        production=production,
        secret_key=secret,
        allowed_hosts=hosts,
        database=database_settings(os.environ.get("ACUKNEE_DATABASE_URL"), data_dir),
        data_dir=data_dir,
        session_idle_minutes=idle,
        lockout_failures=_whole("ACUKNEE_LOCKOUT_FAILURES", 5),
        lockout_minutes=_whole("ACUKNEE_LOCKOUT_MINUTES", 15),
        export_retention_hours=_whole("ACUKNEE_EXPORT_RETENTION_HOURS", 24),
        session_max_hours=_whole("ACUKNEE_SESSION_MAX_HOURS", 12),
        intake_draft_days=_whole("ACUKNEE_INTAKE_DRAFT_DAYS", 7),
    )


def _whole(name: str, default: int) -> int:
    """A positive whole number from the environment (a zero idle time or lockout is a typo)."""
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{name}={raw!r} must be at least 1")
    return value


CONN_MAX_AGE_S = 60
"""How long a worker keeps its database connection open between requests (Django's
``CONN_MAX_AGE``); checked before reuse (``CONN_HEALTH_CHECKS``)."""


def database_settings(url: str | None, data_dir: Path) -> dict[str, Any]:
    """PostgreSQL (or any dj-database-url URL) when given, else SQLite in WAL mode."""
    if url:
        import dj_database_url

        try:
            settings: dict[str, Any] = dict(
                dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE_S, conn_health_checks=True)
            )
        except ValueError as exc:
            raise ConfigError(f"ACUKNEE_DATABASE_URL is not a database URL: {exc}") from None
        return settings
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(data_dir / "acuknee.sqlite3"),
        # Kept open between requests, as for PostgreSQL: a new SQLite connection pays for
        # reading the schema (about a hundred tables and indexes) on its first statement, a few
        # milliseconds, more than most pages' own queries (docs/performance.md, issue 15).
        "CONN_MAX_AGE": CONN_MAX_AGE_S,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # WAL lets readers and one writer work at once; IMMEDIATE avoids upgrade deadlocks.
            # 16 KiB pages (set before WAL, so they take effect when the file is created; an
            # existing database keeps its own): a measurement row with its stored FHIR lines is
            # about 2 KB, so 4 KiB pages held one row each and read at half the speed.
            # Temporary storage in memory: each statement after the first of a transaction (a
            # save's rows after its first, the audit row after the chain head) keeps the pages
            # it changes in a statement journal, which SQLite spills to a file in /var/tmp past
            # 64 KiB, four 16 KiB pages: a file made, written and unlinked on every save and
            # most audited reads (issue 15: 0.1 ms of each audit row).
            "init_command": (
                "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
        },
    }
