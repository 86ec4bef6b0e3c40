"""The load and soak runner (``python -m benchmarks.loadtest``): its arithmetic on made-up
samples (always), and a short real run of 5 users for 30 seconds against the served demo (only
with ``ACUKNEE_LOADTEST_SMOKE=1``: with the demo's setup it takes a minute or more on two busy
cores, too long for every ``make test``). Structure only, never timing: the figures are in
docs/reliability.md."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench_clinic import unstored_saves
from benchmarks.loadtest.runner import (
    ENDPOINTS,
    FLOOR,
    Memory,
    Options,
    Report,
    answered_as_saved,
    markdown,
    memory_summary,
    slope,
    summarise,
)

ROOT = Path(__file__).resolve().parents[2]


def test_percentiles_are_nearest_rank_over_good_requests_and_failures_are_counted() -> None:
    raw = [["patient list", 0.0, float(ms), True, ""] for ms in range(1, 101)]
    raw += [["patient list", 0.0, 5000.0, False, "HTTP 500: boom"], ["sign in", 0, 9, False, "x"]]
    stats, total, errors = summarise(raw, seconds=10)
    row = next(s for s in stats if s.name == "patient list")
    assert (row.requests, row.errors) == (101, 1)
    assert (row.p50_ms, row.p95_ms, row.p99_ms) == (50.0, 95.0, 99.0)
    assert row.per_second == pytest.approx(10.1)
    assert total == pytest.approx(10.1)
    assert errors == ["patient list: HTTP 500: boom", "sign in: x"]


def test_requests_started_in_the_warmup_leave_latencies_and_rates_but_errors_stay() -> None:
    raw = [["patient list", 100.0, 9000.0, True, ""]]  # queued behind the sign-ins
    raw += [["patient list", 100.0 + t, 10.0, True, ""] for t in range(30, 40)]
    raw += [["patient list", 101.0, 5000.0, False, "HTTP 500: boom"]]
    stats, total, errors = summarise(raw, seconds=40, warmup_s=30)
    row = next(s for s in stats if s.name == "patient list")
    assert (row.requests, row.errors, row.p95_ms) == (11, 1, 10.0)
    assert total == pytest.approx(11 / 10)
    assert errors == ["patient list: HTTP 500: boom"]


def test_session_saves_answered_without_a_stored_session_void_the_run() -> None:
    raw = [["session save", 0.0, 10.0, True, ""] for _ in range(4)]
    raw += [["session save", 0.0, 10.0, False, "HTTP 400"], ["patient page", 0.0, 5.0, True, ""]]
    answered = answered_as_saved(raw)
    assert answered == {"session save": 4, "patient page": 1}
    before = {"session save": 10, "intake save": 0, "outcomes after a reassessment": 0}
    assert unstored_saves(before, {**before, "session save": 14}, answered) == []
    assert unstored_saves(before, {**before, "session save": 11}, answered) == [
        "session save: 4 requests answered as saved stored only 1 rows"
    ]


def test_memory_is_flat_when_only_the_first_window_grows() -> None:
    warm = [(float(t), 100.0 + t, 3) for t in range(0, 61, 2)]
    steady = [(float(t), 160.0, 3) for t in range(62, 600, 2)]
    memory = memory_summary(warm + steady, seconds=600)
    assert memory.window_s == 60
    assert memory.first_mib == pytest.approx(130.0)
    assert memory.last_mib == 160.0
    assert memory.slope_mib_per_min == pytest.approx(0.0, abs=1e-9)


def test_a_steady_leak_shows_as_a_positive_slope_per_minute() -> None:
    samples = [(float(t), 100.0 + t / 60, 3) for t in range(0, 600, 2)]  # 1 MiB a minute
    assert memory_summary(samples, seconds=600).slope_mib_per_min == pytest.approx(1.0)
    assert slope([(1.0, 5.0)]) == 0.0


def test_the_markdown_has_a_row_per_endpoint_beside_the_floor() -> None:
    raw = [[name, 0.0, 10.0, True, ""] for name in ENDPOINTS]
    stats, total, errors = summarise(raw, seconds=1)
    report = Report(Options(5, 0.5), 30, stats, total, errors, Memory(), [])
    text = markdown(report)
    for name in ENDPOINTS:
        assert f"| {name} | 1 | 0 |" in text
    assert f"| {FLOOR} | 1 | 0 | 10.0 ms" in text


@pytest.mark.skipif(
    os.environ.get("ACUKNEE_LOADTEST_SMOKE") != "1",
    reason="a served 30-second run (a minute or more with setup): set ACUKNEE_LOADTEST_SMOKE=1",
)
def test_a_short_run_serves_every_request_without_error(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.loadtest",
            "--users=5",
            "--minutes=0.5",
            f"--json={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert [e["name"] for e in report["endpoints"]] == list(ENDPOINTS)
    assert sum(e["requests"] for e in report["endpoints"]) > 0
    assert report["memory"]["samples"]
    assert not math.isnan(report["memory"]["first_mib"])
    assert "| healthz |" in done.stdout
