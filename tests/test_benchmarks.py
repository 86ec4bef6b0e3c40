"""The benchmark harness runs end to end in a tiny quick run. Structure only, never timing:
speed is judged by ``make bench`` against floors measured in the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acuknee.clinical.intake import Intake
from benchmarks import synthetic
from benchmarks.harness import percentile
from tests.shared_run import background, output

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
REPEAT, NUMBER, WARMUP, SYNTHETIC = 1, 1, 0, 3
FIELDS = {
    "name",
    "n",
    "median_ns",
    "p95_ns",
    "per_second",
    "floor",
    "floor_n",
    "floor_median_ns",
    "floor_p95_ns",
    "ratio",
    "note",
}


TINY_RUN = background(
    "bench-tiny-run",
    "tests/test_benchmarks.py",
    "-m",
    "benchmarks",
    "--quick",
    f"--repeat={REPEAT}",
    f"--number={NUMBER}",
    f"--warmup={WARMUP}",
    f"--synthetic={SYNTHETIC}",
    "--json={out}",
    "--skip=clinic",
)
"""One tiny quick run of every benchmark module but the served clinic (it starts a server:
``tests/test_bench_clinic.py`` runs it), through the command line. One run per test session,
started in the background when the session starts (tests/shared_run.py)."""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """The tiny run's JSON report and its printed table."""
    printed, report = output(tmp_path_factory, TINY_RUN)
    return json.loads(report.read_text()), printed


def _rows(run: tuple[dict[str, Any], str]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in run[0]["results"]}


def test_every_intake_example_has_a_consultation_row(tiny_run: tuple[dict[str, Any], str]) -> None:
    stems = {p.stem.removeprefix("intake-") for p in EXAMPLES.glob("intake-*.json")}
    assert stems
    assert {f"consultation {s}" for s in stems} <= set(_rows(tiny_run))


def test_koos_evaluation_and_synthetic_batch_have_rows(
    tiny_run: tuple[dict[str, Any], str],
) -> None:
    names = set(_rows(tiny_run))
    assert {"score koos", "evaluate course", "synthetic batch of 3 (per intake)"} <= names


def test_every_row_carries_job_floor_and_ratio(tiny_run: tuple[dict[str, Any], str]) -> None:
    for row in _rows(tiny_run).values():
        assert set(row) == FIELDS
        assert row["floor"]
        assert row["median_ns"] > 0
        assert row["floor_median_ns"] > 0
        assert row["ratio"] == pytest.approx(row["median_ns"] / row["floor_median_ns"])


def test_n_counts_every_timed_operation(tiny_run: tuple[dict[str, Any], str]) -> None:
    rows = _rows(tiny_run)
    assert rows["score koos"]["n"] == REPEAT * NUMBER
    assert rows["synthetic batch of 3 (per intake)"]["n"] == REPEAT * NUMBER * SYNTHETIC


def test_p95_is_never_below_the_median(tiny_run: tuple[dict[str, Any], str]) -> None:
    for row in _rows(tiny_run).values():
        assert row["p95_ns"] >= row["median_ns"]
        assert row["floor_p95_ns"] >= row["floor_median_ns"]


def test_report_records_the_run_settings(tiny_run: tuple[dict[str, Any], str]) -> None:
    settings = tiny_run[0]["settings"]
    assert (
        settings["repeat"],
        settings["number"],
        settings["warmup"],
        settings["synthetic"],
    ) == (REPEAT, NUMBER, WARMUP, SYNTHETIC)
    assert tiny_run[0]["date"]


def test_printed_table_has_a_row_per_result(tiny_run: tuple[dict[str, Any], str]) -> None:
    report, printed = tiny_run
    lines = printed.splitlines()
    assert lines[0].startswith("| benchmark")
    for row in report["results"]:
        assert any(line.startswith(f"| {row['name']} ") for line in lines)


def test_p95_is_the_nearest_ranked_sample() -> None:
    samples = [float(v) for v in range(1, 21)]
    assert percentile(samples, 0.95) == 19.0
    assert percentile(samples, 0.5) == 10.0


def test_synthetic_intakes_are_the_same_for_the_same_seed() -> None:
    assert synthetic.intake_texts(5, seed=7) == synthetic.intake_texts(5, seed=7)
    assert synthetic.intake_texts(5, seed=7) != synthetic.intake_texts(5, seed=8)


def test_synthetic_intakes_are_valid_intakes() -> None:
    for text in synthetic.intake_texts(50, seed=1):
        Intake.model_validate_json(text)
