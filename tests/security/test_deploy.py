"""Production settings: `manage.py check --deploy` is clean and cookies and headers are strict.

Each test starts a fresh Python with ``ACUKNEE_PRODUCTION=1`` (settings are read once per
process) and the variables production requires (see ``acuknee.config``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from acuknee.config import ConfigError, load

PRODUCTION_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT", "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY", "SECURE_CONTENT_TYPE_NOSNIFF", "SESSION_COOKIE_AGE",
    "AXES_FAILURE_LIMIT",
)}))
"""


def _production(tmp_path: Path, **extra: str) -> dict[str, str]:
    # Not this test run's settings: no ACUKNEE_* and not the browser tests' async override.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ACUKNEE_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        ACUKNEE_PRODUCTION="1",
        ACUKNEE_SECRET_KEY=secrets.token_urlsafe(60),
        ACUKNEE_ALLOWED_HOSTS="clinic.example.org",
        ACUKNEE_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="acuknee.site.settings",
        **extra,
    )
    return env


def test_check_deploy_reports_no_issue_under_production_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "acuknee.manage", "check", "--deploy", "--fail-level", "DEBUG"],
        env=_production(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_cookies_are_secure_and_https_is_enforced(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_SETTINGS],
        env=_production(tmp_path, ACUKNEE_SESSION_IDLE_MINUTES="12", ACUKNEE_LOCKOUT_FAILURES="4"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"]
    assert s["CSRF_COOKIE_SECURE"]
    assert s["SESSION_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert s["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_SSL_REDIRECT"]
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert s["SESSION_COOKIE_AGE"] == 12 * 60, "the clinic sets the idle time"
    assert s["AXES_FAILURE_LIMIT"] == 4, "the clinic sets the lockout threshold"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("ACUKNEE_LOCKOUT_FAILURES", "five"),
        ("ACUKNEE_LOCKOUT_FAILURES", "0"),
        ("ACUKNEE_LOCKOUT_MINUTES", "-1"),
        ("ACUKNEE_SESSION_IDLE_MINUTES", "0"),
    ],
)
def test_a_bad_security_setting_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, raw: str
) -> None:
    monkeypatch.setenv("ACUKNEE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=name):
        load()
