"""``make audit``: pip-audit over the dependencies installed in ``.venv``, offline-tolerant.

Why the installed environment (``pip-audit --local --skip-editable``) and not ``-r`` a list made
from pyproject.toml: pyproject pins only the direct dependencies, while the venv holds exactly
what runs, transitive dependencies included, as the installer resolved them under those pins.
Auditing it needs no resolution (no index download, no throwaway venv), so it is quick and
repeatable; acuknee itself is installed editable and is not on PyPI, hence ``--skip-editable``.

Outcomes, by exit status:

- 0, ``audit: no known vulnerabilities ...``;
- 0, ``SKIPPED: ...`` when the advisory database cannot be reached: a network error, or an index
  that answered for none of the packages (a mirror without PyPI's per-version JSON API makes
  pip-audit report every package "not found" and then "No known vulnerabilities", which is not
  an audit). ``ACUKNEE_REQUIRE_AUDIT=1`` (for CI) turns a skip into exit 3;
- 1, known vulnerabilities: one line per advisory (package, version, advisory, fixed in);
- 2, pip-audit failed for another reason (the end of its error output is shown).

pip-audit exits 1 both for "vulnerabilities found" and for a crash, so the two are told apart by
its output: a JSON report on stdout, or a traceback naming a network error on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CLEAN, VULNERABLE, ERROR, SKIPPED_REQUIRED = 0, 1, 2, 3

NETWORK_ERROR = re.compile(
    r"requests\.exceptions\.(ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|Timeout|SSLError)"
    r"|NameResolutionError|Max retries exceeded|Temporary failure in name resolution"
    r"|Network is unreachable|Connection refused"
)
NOT_AUDITED = "could not be audited"

Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Outcome:
    """What the audit found: an exit status and the lines to print."""

    status: int
    lines: list[str]
    skipped: bool = False


def pip_audit_command() -> list[str]:
    """pip-audit on this interpreter's environment (the venv ``make`` runs it from)."""
    return [
        sys.executable,
        "-m",
        "pip_audit",
        "--local",
        "--skip-editable",
        "--format",
        "json",
        "--progress-spinner",
        "off",
    ]


def _skip(reason: str) -> Outcome:
    return Outcome(CLEAN, [f"SKIPPED: pip-audit ({reason}); no advisory was checked"], True)


def _report(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and isinstance(data.get("dependencies"), list):
        return data
    return None


def judge(returncode: int, stdout: str, stderr: str) -> Outcome:
    """Turn one pip-audit run (``--format json``) into an outcome."""
    try:
        report = _report(json.loads(stdout)) if stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    if report is None:
        if NETWORK_ERROR.search(stderr):
            return _skip("the advisory database cannot be reached")
        tail = [line for line in stderr.strip().splitlines() if line.strip()][-5:]
        return Outcome(ERROR, [f"audit: pip-audit failed (exit {returncode})", *tail])
    deps = report["dependencies"]
    audited = [d for d in deps if "skip_reason" not in d]
    unaudited = [d for d in deps if NOT_AUDITED in str(d.get("skip_reason", ""))]
    if not audited:
        if unaudited:
            return _skip(f"the index answered for none of the {len(unaudited)} packages")
        return _skip("nothing to audit")
    found = [
        f"  {d['name']} {d.get('version', '?')}: {v.get('id', '?')}"
        + (f" ({', '.join(v['aliases'])})" if v.get("aliases") else "")
        + f", fixed in {', '.join(v.get('fix_versions') or []) or 'no release yet'}"
        for d in audited
        for v in d.get("vulns") or []
    ]
    notes = [
        f"audit: not audited (not found on the index): {', '.join(d['name'] for d in unaudited)}"
    ]
    notes = notes if unaudited else []
    if found:
        return Outcome(
            VULNERABLE,
            [
                f"audit: {len(found)} known vulnerabilities in {len(audited)} packages",
                *found,
                *notes,
            ],
        )
    if returncode != 0:
        return Outcome(ERROR, [f"audit: pip-audit exit {returncode} without a vulnerability"])
    return Outcome(CLEAN, [f"audit: no known vulnerabilities in {len(audited)} packages", *notes])


def _run(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=timeout, check=False
    )


def audit(command: Sequence[str], timeout: float, run: Runner = _run) -> Outcome:
    """Run pip-audit through ``run`` (the seam tests fake) and judge its answer."""
    try:
        done = run(command, timeout)
    except subprocess.TimeoutExpired:
        return _skip(f"no answer within {timeout:g} s")
    return judge(done.returncode, done.stdout, done.stderr)


def main(argv: Sequence[str] | None = None, run: Runner = _run) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.audit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pip-audit", help="pip-audit command to run instead of this venv's")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    args = parser.parse_args(argv)
    command = [args.pip_audit, *pip_audit_command()[3:]] if args.pip_audit else pip_audit_command()
    outcome = audit(command, args.timeout, run)
    for line in outcome.lines:
        print(line)
    if outcome.skipped and os.environ.get("ACUKNEE_REQUIRE_AUDIT") == "1":
        print("audit: REQUIRED (ACUKNEE_REQUIRE_AUDIT=1) but skipped")
        return SKIPPED_REQUIRED
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
