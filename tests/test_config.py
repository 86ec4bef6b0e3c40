"""Configuration is read in one place and fails loudly, naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.config import ConfigError, load

SECRET = "x" * 60


def test_zero_configuration_gives_debug_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ACUKNEE_PRODUCTION", "ACUKNEE_DATABASE_URL", "ACUKNEE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACUKNEE_DATA_DIR", str(tmp_path))
    config = load()
    assert not config.production
    assert config.database["ENGINE"].endswith("sqlite3")


def test_production_without_secret_key_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACUKNEE_PRODUCTION", "1")
    monkeypatch.delenv("ACUKNEE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="ACUKNEE_SECRET_KEY"):
        load()


def test_production_without_allowed_hosts_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACUKNEE_PRODUCTION", "1")
    monkeypatch.setenv("ACUKNEE_SECRET_KEY", SECRET)
    monkeypatch.delenv("ACUKNEE_ALLOWED_HOSTS", raising=False)
    with pytest.raises(ConfigError, match="ACUKNEE_ALLOWED_HOSTS"):
        load()


def test_a_flag_that_is_not_boolean_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACUKNEE_PRODUCTION", "maybe")
    with pytest.raises(ConfigError, match="ACUKNEE_PRODUCTION"):
        load()


def test_idle_minutes_must_be_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACUKNEE_SESSION_IDLE_MINUTES", "half an hour")
    with pytest.raises(ConfigError, match="ACUKNEE_SESSION_IDLE_MINUTES"):
        load()


def test_serve_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACUKNEE_SECRET_KEY", raising=False)
    monkeypatch.setenv("ACUKNEE_PRODUCTION", "0")  # serve sets it; monkeypatch restores it
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "ACUKNEE_SECRET_KEY" in result.stderr


def test_export_retention_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACUKNEE_EXPORT_RETENTION_HOURS", "6")
    assert load().export_retention_hours == 6
    monkeypatch.setenv("ACUKNEE_EXPORT_RETENTION_HOURS", "0")
    with pytest.raises(ConfigError, match="ACUKNEE_EXPORT_RETENTION_HOURS"):
        load()


def test_the_intake_drafts_keeping_time_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACUKNEE_INTAKE_DRAFT_DAYS", raising=False)
    assert load().intake_draft_days == 7
    monkeypatch.setenv("ACUKNEE_INTAKE_DRAFT_DAYS", "30")
    assert load().intake_draft_days == 30
    monkeypatch.setenv("ACUKNEE_INTAKE_DRAFT_DAYS", "a week")
    with pytest.raises(ConfigError, match="ACUKNEE_INTAKE_DRAFT_DAYS"):
        load()
