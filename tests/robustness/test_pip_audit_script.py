"""``make audit`` (tools/audit.py): fails on known vulnerabilities, skips with a visible message
when the advisory database cannot be reached, and never mistakes one for the other. pip-audit's
outcome is faked at the seam the module owns (the runner), and once as a stand-in executable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tools import audit

ROOT = Path(__file__).resolve().parents[2]

VULNERABLE_REPORT = {
    "dependencies": [
        {"name": "acuknee", "skip_reason": "distribution marked as editable"},
        {"name": "django", "version": "5.2.19", "vulns": []},
        {
            "name": "examplelib",
            "version": "1.0.0",
            "vulns": [
                {
                    "id": "PYSEC-2099-1",
                    "fix_versions": ["1.0.1"],
                    "aliases": ["CVE-2099-0001"],
                    "description": "an example advisory",
                }
            ],
        },
    ],
    "fixes": [],
}
CLEAN_REPORT = {
    "dependencies": [
        {"name": "acuknee", "skip_reason": "distribution marked as editable"},
        {"name": "django", "version": "5.2.19", "vulns": []},
        {"name": "pydantic", "version": "2.14.4", "vulns": []},
    ],
    "fixes": [],
}
NOTHING_FOUND_REPORT = {
    "dependencies": [
        {"name": "acuknee", "skip_reason": "distribution marked as editable"},
        {
            "name": "django",
            "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)",
        },
    ],
    "fixes": [],
}
NETWORK_TRACEBACK = (
    "Traceback (most recent call last):\n  ...\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
    "Max retries exceeded with url: /pypi/django/5.2.19/json (Caused by NameResolutionError(...))\n"
)


def fake(returncode: int, stdout: str = "", stderr: str = "") -> audit.Runner:
    def run(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(command), returncode, stdout, stderr)

    return run


def test_known_vulnerabilities_fail_and_name_package_version_advisory_and_fix() -> None:
    outcome = audit.audit(["pip-audit"], 5, fake(1, json.dumps(VULNERABLE_REPORT)))
    assert outcome.status == audit.VULNERABLE
    assert not outcome.skipped
    text = "\n".join(outcome.lines)
    assert "examplelib 1.0.0: PYSEC-2099-1 (CVE-2099-0001), fixed in 1.0.1" in text
    assert "django" not in text


def test_a_clean_report_passes_and_says_how_many_packages_were_audited() -> None:
    outcome = audit.audit(["pip-audit"], 5, fake(0, json.dumps(CLEAN_REPORT)))
    assert (outcome.status, outcome.skipped) == (audit.CLEAN, False)
    assert outcome.lines == ["audit: no known vulnerabilities in 2 packages"]


def test_an_unreachable_advisory_database_skips_with_a_visible_message() -> None:
    outcome = audit.audit(["pip-audit"], 5, fake(1, "", NETWORK_TRACEBACK))
    assert (outcome.status, outcome.skipped) == (audit.CLEAN, True)
    assert outcome.lines[0].startswith("SKIPPED: pip-audit (the advisory database cannot be")


def test_an_index_that_knows_none_of_the_packages_is_a_skip_not_a_clean_audit() -> None:
    outcome = audit.audit(["pip-audit"], 5, fake(0, json.dumps(NOTHING_FOUND_REPORT)))
    assert outcome.skipped
    assert "answered for none of the 1 packages" in outcome.lines[0]


def test_no_answer_before_the_timeout_is_a_skip() -> None:
    def slow(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(list(command), timeout)

    outcome = audit.audit(["pip-audit"], 5, slow)
    assert outcome.skipped
    assert "no answer within 5 s" in outcome.lines[0]


def test_a_crash_that_is_not_a_network_error_fails_with_its_message() -> None:
    outcome = audit.audit(["pip-audit"], 5, fake(1, "", "Traceback\nValueError: bad marker"))
    assert outcome.status == audit.ERROR
    assert outcome.lines[-1] == "ValueError: bad marker"


def test_a_required_audit_fails_when_it_is_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ACUKNEE_REQUIRE_AUDIT", "1")
    assert audit.main([], fake(1, "", NETWORK_TRACEBACK)) == audit.SKIPPED_REQUIRED
    assert "SKIPPED" in capsys.readouterr().out


def test_the_command_fails_on_vulnerabilities_reported_by_a_stand_in_pip_audit(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(VULNERABLE_REPORT))
    stand_in = tmp_path / "pip-audit"
    stand_in.write_text(f"#!/bin/sh\ncat '{report}'\nexit 1\n")
    stand_in.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "tools.audit", "--pip-audit", str(stand_in)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == audit.VULNERABLE, done.stderr
    assert "PYSEC-2099-1" in done.stdout
