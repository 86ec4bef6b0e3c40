"""Load and soak run: the demo app under gunicorn on loopback, locust users against it.

Reuses the served benchmark's pieces (``benchmarks/bench_clinic.py``): a fresh temporary data
directory with ``migrate`` and ``load_demo``, gunicorn with 2 sync workers and production
settings on a free loopback port, and its browser-like client to sign in and find the demo
patients and forms. Then locust runs headless in a subprocess for the given time while this
process samples the resident memory (RSS) of the gunicorn master and workers from ``/proc``.

Reported per endpoint: requests, errors, p50/p95/p99 latency (nearest rank over every request,
from locust's unrounded timings) and requests/s, with ``GET /healthz/`` (no database, no
cookies) as the floor measured by the same users in the same run; and the server's RSS: the
averages of the first and the last window (a minute, or a third of a short run) and the
least-squares slope after the first window (flat memory: a slope near zero).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bench_clinic import (
    HOST,
    PASSWORD,
    SESSION_PAIN,
    THREADS,
    USERNAME,
    WORKERS,
    BenchmarkError,
    Client,
    Form,
    _patient_ids,
    demo_data,
    form_with,
    served,
    stored_rows,
    unstored_saves,
)
from benchmarks.harness import percentile

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ROOT = Path(__file__).resolve().parents[2]
FLOOR = "healthz"
ENDPOINTS = (
    FLOOR,
    "patient list",
    "patient page",
    "outcomes",
    "chart",
    "measurement save",
    "session save",
)
SAMPLE_EVERY_S = 2.0
MEASUREMENT_VALUES = {  # synthetic pain ratings, inside the instrument's 0-10 range
    "pain_nrs__current": "5",
    "pain_nrs__average_last_week": "5",
    "pain_nrs__worst_last_week": "6",
}


@dataclass
class Options:
    users: int = 50
    minutes: float = 10.0
    think_s: float = 1.0
    spawn_rate: float = 10.0
    workers: int = WORKERS
    threads: int = THREADS
    warmup_s: float = 0.0


@dataclass
class EndpointStats:
    name: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_second: float


@dataclass
class Memory:
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (s, MiB, processes)
    window_s: float = 60.0
    first_mib: float = 0.0
    last_mib: float = 0.0
    slope_mib_per_min: float = 0.0


@dataclass
class Report:
    options: Options
    seconds: float
    endpoints: list[EndpointStats]
    total_per_second: float
    errors: list[str]
    memory: Memory
    server_log_errors: list[str]
    cpus: int | None = os.cpu_count()


# --- finding the demo's patients and forms -------------------------------------------------------


def discover(port: int, think_s: float) -> dict[str, Any]:
    """The plan the locust users follow: which patients are read and which written, and the
    forms as the pages serve them (found over HTTP by a signed-in client)."""
    setup = Client(port)
    setup.log_in()
    patients = _patient_ids(setup.get("/").body)
    sessions = {}
    for pid in patients:
        page = setup.get(f"/patients/{pid}/sessions/new/")
        if page.status == 200:  # 409: no signed plan
            sessions[pid] = form_with(page.body, "session_date")
    if len(sessions) < 2:
        raise BenchmarkError(f"the demo has too few patients with a signed plan: {list(sessions)}")
    in_course = sorted(sessions)
    half = len(in_course) // 2
    read, write = in_course[:half], in_course[half:]
    html = setup.get(f"/patients/{write[0]}/measurements/new/").body
    measurement = form_with(html, "measured_on")
    if any(f'name="{name}"' not in html for name in MEASUREMENT_VALUES):  # radios: unchecked
        raise BenchmarkError("the measurement form lacks the pain ratings this run fills")
    return {
        "username": USERNAME,
        "password": PASSWORD,
        "think_s": think_s,
        "read": read,
        "write": write,
        "session_forms": {str(p): _stored(sessions[p]) for p in write},
        "session_values": SESSION_PAIN,
        "measurement_form": _stored(measurement),
        "measurement_values": MEASUREMENT_VALUES,
    }


def _stored(form: Form) -> dict[str, Any]:
    """What the users need of a form, as JSON: where it posts and its fields in order."""
    return {"action": form.action, "fields": form.fields}


# --- the server's memory -------------------------------------------------------------------------


def _children(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the parent pid is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            out.append(int(entry.name))
    return out


def server_pids() -> list[int]:
    """The gunicorn master (a child of this process) and its workers."""
    masters = []
    for pid in _children(os.getpid()):
        try:
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                masters.append(pid)
        except OSError:
            continue
    return [p for m in masters for p in (m, *_children(m))]


def rss_mib(pids: Sequence[int]) -> float:
    total_kib = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


class Sampler(threading.Thread):
    """Every ``SAMPLE_EVERY_S`` seconds: the summed RSS of the server's processes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float, int]] = []
        self.stop = threading.Event()
        self.start_time = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = server_pids()
            self.samples.append((time.monotonic() - self.start_time, rss_mib(pids), len(pids)))
            self.stop.wait(SAMPLE_EVERY_S)


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points; 0 for fewer than two distinct x."""
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def memory_summary(samples: list[tuple[float, float, int]], seconds: float) -> Memory:
    window = min(60.0, seconds / 3)
    end = samples[-1][0] if samples else 0.0
    first = [m for t, m, _ in samples if t <= window]
    last = [m for t, m, _ in samples if t >= end - window]
    steady = [(t / 60, m) for t, m, _ in samples if t >= window]
    return Memory(
        samples=samples,
        window_s=window,
        first_mib=sum(first) / len(first) if first else math.nan,
        last_mib=sum(last) / len(last) if last else math.nan,
        slope_mib_per_min=slope(steady),
    )


# --- the run -------------------------------------------------------------------------------------


def _locust(port: int, plan: Path, out: Path, options: Options, seconds: int, log: Path) -> None:
    env = {**os.environ, "ACUKNEE_LOADTEST_PLAN": str(plan), "ACUKNEE_LOADTEST_SAMPLES": str(out)}
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        f"--users={options.users}",
        f"--spawn-rate={options.spawn_rate}",
        f"--run-time={seconds}s",
        f"--host=http://{HOST}:{port}",
        "--stop-timeout=10",
        "--loglevel=WARNING",
    ]
    with log.open("wb") as sink:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, timeout=seconds + 180
        )
    if not out.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise BenchmarkError(f"locust wrote no samples (exit {done.returncode}):\n{tail}")


def summarise(
    raw: list[list[Any]], seconds: float, warmup_s: float = 0.0
) -> tuple[list[EndpointStats], float, list[str]]:
    """Per endpoint statistics from the samples; sign-ins are counted as errors only. Requests
    started in the first ``warmup_s`` seconds (the users' sign-ins, deliberately slow hashing)
    are left out of the latencies and rates, never out of the errors."""
    by_name: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    failed: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
    errors: list[str] = []
    first = min((float(r[1]) for r in raw), default=0.0)
    seconds = max(1e-9, seconds - warmup_s)
    for name, start, ms, ok, detail in raw:
        if ok and float(start) < first + warmup_s:
            continue
        if not ok:
            errors.append(f"{name}: {detail}")
            if name in failed:
                failed[name] += 1
        elif name in by_name:
            by_name[name].append(float(ms))
    stats = [
        EndpointStats(
            name=name,
            requests=len(values) + failed[name],
            errors=failed[name],
            p50_ms=percentile(values, 0.50) if values else math.nan,
            p95_ms=percentile(values, 0.95) if values else math.nan,
            p99_ms=percentile(values, 0.99) if values else math.nan,
            per_second=(len(values) + failed[name]) / seconds,
        )
        for name, values in by_name.items()
    ]
    total = sum(s.requests for s in stats) / seconds
    return stats, total, errors


def answered_as_saved(raw: list[list[Any]]) -> dict[str, int]:
    """Requests per endpoint answered as expected: for a save, answered as saved. A session
    save answered so without a stored session was a repeated submit (``unstored_saves``)."""
    return dict(Counter(name for name, _, _, ok, _ in raw if ok))


def _server_errors(data_dir: Path) -> list[str]:
    log = data_dir / "gunicorn.log"
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if "[ERROR]" in line or "WORKER TIMEOUT" in line]


def run(options: Options) -> Report:
    seconds = max(1, round(options.minutes * 60))
    with (
        demo_data() as env,
        served(env, options.workers, options.threads) as port,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Path(tmp)
        plan = work / "plan.json"
        plan.write_text(json.dumps(discover(port, options.think_s)))
        before = stored_rows(env)
        sampler = Sampler()
        sampler.start()
        try:
            _locust(port, plan, work / "samples.json", options, seconds, work / "locust.log")
        finally:
            sampler.stop.set()
            sampler.join()
        raw = json.loads((work / "samples.json").read_text())
        server_log = _server_errors(Path(env["ACUKNEE_DATA_DIR"]))
        after = stored_rows(env)
    stats, total, errors = summarise(raw, seconds, options.warmup_s)
    errors += unstored_saves(before, after, answered_as_saved(raw))
    return Report(
        options=options,
        seconds=seconds,
        endpoints=stats,
        total_per_second=total,
        errors=errors,
        memory=memory_summary(sampler.samples, seconds),
        server_log_errors=server_log,
    )


def markdown(report: Report) -> str:
    """The figures as Markdown, for docs/reliability.md."""
    floor = next(s for s in report.endpoints if s.name == FLOOR)
    lines = [
        "| endpoint | requests | errors | p50 | p95 | p99 | req/s | p50 / floor p50 |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in report.endpoints:
        ratio = s.p50_ms / floor.p50_ms if floor.p50_ms else math.nan
        lines.append(
            f"| {s.name} | {s.requests:,} | {s.errors} | {s.p50_ms:.1f} ms | {s.p95_ms:.1f} ms "
            f"| {s.p99_ms:.1f} ms | {s.per_second:.1f} | {ratio:.1f}x |"
        )
    m = report.memory
    processes = sorted({n for _, _, n in m.samples})
    lines += [
        "",
        f"- {report.options.users} users, {report.seconds / 60:g} min, think time "
        f"{report.options.think_s * 0.5:g}-{report.options.think_s * 1.5:g} s; "
        f"{report.total_per_second:.1f} requests/s in all; {len(report.errors)} errors"
        f" (the first {report.options.warmup_s:g} s left out of latencies and rates).",
        f"- Server: {report.options.workers} workers x {report.options.threads} threads. "
        f"RSS (gunicorn master + workers, processes seen: {processes}): "
        f"first {m.window_s:g} s {m.first_mib:.1f} MiB, last {m.window_s:g} s "
        f"{m.last_mib:.1f} MiB, slope after the first window {m.slope_mib_per_min:+.2f} MiB/min "
        f"({len(m.samples)} samples every {SAMPLE_EVERY_S:g} s).",
        f"- Server log errors (gunicorn [ERROR] or worker timeout): "
        f"{len(report.server_log_errors)}.",
    ]
    return "\n".join(lines)
