"""Timing shared by every benchmark: a job and its floor, measured in alternation.

Each sample times a batch of calls with ``time.perf_counter_ns`` (batched so the timer's own
cost is negligible even for a microsecond floor). Job and floor samples alternate, so a change in
machine load during the run touches both sides alike and the ratio stays fair. Standard library
only, so the harness measures acuknee and nothing else.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Settings:
    """How long to measure. ``number`` fixes the calls per sample (else it is calibrated)."""

    repeat: int = 21
    warmup: int = 3
    min_sample_ns: int = 20_000_000
    number: int | None = None
    synthetic: int = 1000
    seed: int = 20261201
    clients: tuple[int, ...] = (1, 10, 50)  # concurrent clients of the served benchmarks


QUICK = Settings(repeat=5, warmup=1, min_sample_ns=2_000_000, synthetic=100, clients=(1, 4))
"""A short run: fewer, shorter samples, a smaller synthetic batch and fewer clients."""


@dataclass(frozen=True)
class Timing:
    """Per-operation times of one side: the median and 95th percentile over the samples."""

    n: int  # operations timed, over all samples
    median_ns: float
    p95_ns: float


@dataclass(frozen=True)
class Result:
    """One benchmark row: the job, its floor, and what the floor stands for."""

    name: str
    job: Timing
    floor_name: str
    floor: Timing
    note: str = ""
    throughput: float | None = None  # measured operations per second, when not 1 / median

    @property
    def ratio(self) -> float:
        """How many floors the job costs; the figure to compare across machines and commits."""
        return self.job.median_ns / self.floor.median_ns

    @property
    def per_second(self) -> float:
        """Operations per second: measured under concurrency (``throughput``), else 1 / median."""
        return self.throughput if self.throughput is not None else 1e9 / self.job.median_ns

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": self.job.n,
            "median_ns": self.job.median_ns,
            "p95_ns": self.job.p95_ns,
            "per_second": self.per_second,
            "floor": self.floor_name,
            "floor_n": self.floor.n,
            "floor_median_ns": self.floor.median_ns,
            "floor_p95_ns": self.floor.p95_ns,
            "ratio": self.ratio,
            "note": self.note,
        }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was actually measured, never an interpolation."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _batch_ns(fn: Callable[[], object], number: int) -> int:
    start = time.perf_counter_ns()
    for _ in range(number):
        fn()
    return time.perf_counter_ns() - start


def _calibrate(fn: Callable[[], object], settings: Settings) -> int:
    """Calls per sample so that one sample lasts at least ``min_sample_ns``."""
    if settings.number is not None:
        return settings.number
    number = 1
    while True:
        elapsed = _batch_ns(fn, number)
        if elapsed >= settings.min_sample_ns or number >= 1_000_000:
            return number
        # Aim a little past the target from the last estimate, at most 10x per step.
        number = min(
            number * 10,
            max(number + 1, math.ceil(number * 1.2 * settings.min_sample_ns / max(elapsed, 1))),
        )


def compare(
    name: str,
    job: Callable[[], object],
    floor_name: str,
    floor: Callable[[], object],
    settings: Settings,
    *,
    ops_per_call: int = 1,
    note: str = "",
) -> Result:
    """Time ``job`` beside ``floor``. ``ops_per_call`` counts operations done by one call (a
    batch of 1,000 intakes is 1,000 operations), so every time is per operation."""
    for _ in range(settings.warmup):
        job()
        floor()
    job_number = _calibrate(job, settings)
    floor_number = _calibrate(floor, settings)
    job_samples: list[float] = []
    floor_samples: list[float] = []
    gc.collect()
    for _ in range(settings.repeat):
        job_samples.append(_batch_ns(job, job_number) / (job_number * ops_per_call))
        floor_samples.append(_batch_ns(floor, floor_number) / (floor_number * ops_per_call))
    return Result(
        name=name,
        job=_timing(job_samples, job_number * ops_per_call),
        floor_name=floor_name,
        floor=_timing(floor_samples, floor_number * ops_per_call),
        note=note,
    )


def _timing(samples: list[float], ops_per_sample: int) -> Timing:
    return Timing(
        n=ops_per_sample * len(samples),
        median_ns=statistics.median(samples),
        p95_ns=percentile(samples, 0.95),
    )


def format_ns(ns: float) -> str:
    """A duration with a unit a reader can take in at a glance."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns < 100 * scale else f"{ns / scale:.0f} {unit}"
    return f"{ns:.0f} ns"


def table(results: list[Result]) -> str:
    """The results as a fixed-width text table (also valid Markdown)."""
    header = ["benchmark", "n", "median/op", "p95/op", "ops/s", "floor median/op", "ratio"]
    rows = [
        [
            r.name,
            f"{r.job.n:,}",
            format_ns(r.job.median_ns),
            format_ns(r.job.p95_ns),
            f"{r.per_second:,.0f}",
            format_ns(r.floor.median_ns),
            f"{r.ratio:.1f}x",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        """The name left-aligned, the figures right-aligned."""
        numbers = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "| " + " | ".join([cells[0].ljust(widths[0]), *numbers]) + " |"

    rule = "|" + "-" * (widths[0] + 2) + "".join(f"|{'-' * (w + 1)}:" for w in widths[1:]) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


# --- a benchmark measured in a worker process (its own data directory, its own database) ---------


def run_worker(module: str, settings: Settings, prefix: str) -> list[Result]:
    """Run ``python -m <module> --worker SETTINGS OUT`` on a fresh temporary SQLite data
    directory and read back the results it wrote (``write_results``)."""
    import dataclasses
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        env = {k: v for k, v in os.environ.items() if k != "ACUKNEE_DATABASE_URL"}
        env |= {"ACUKNEE_DATA_DIR": tmp, "DJANGO_SETTINGS_MODULE": "acuknee.site.settings"}
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", module, "--worker"]
        command += [json.dumps(dataclasses.asdict(settings)), str(out)]
        subprocess.run(command, env=env, check=True, cwd=Path(__file__).resolve().parents[1])
        rows = json.loads(out.read_text())
    return [
        Result(
            name=row["name"],
            job=Timing(**row["job"]),
            floor_name=row["floor_name"],
            floor=Timing(**row["floor"]),
            note=row["note"],
        )
        for row in rows
    ]


def write_results(results: list[Result], out: Any) -> None:
    """The worker's side of ``run_worker``: its results as JSON in the file ``out``."""
    import dataclasses
    import json

    rows = [
        {
            "name": r.name,
            "job": dataclasses.asdict(r.job),
            "floor_name": r.floor_name,
            "floor": dataclasses.asdict(r.floor),
            "note": r.note,
        }
        for r in results
    ]
    out.write_text(json.dumps(rows))


def worker_main(module: str, worker: Callable[[Settings, Any], None]) -> None:
    """``python -m <module> --worker SETTINGS_JSON OUT``: decode the settings and run."""
    import json
    import sys
    from pathlib import Path

    if len(sys.argv) != 4 or sys.argv[1] != "--worker":
        sys.exit(f"usage: python -m {module} --worker SETTINGS_JSON OUT")
    data: dict[str, Any] = json.loads(sys.argv[2])
    data["clients"] = tuple(data["clients"])
    worker(Settings(**data), Path(sys.argv[3]))
