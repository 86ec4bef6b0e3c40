"""The clinic-network report (issue 6) at 10k, 100k and 1M patients, beside two references.

Job: ``acuknee.research.analytics.report`` (the portable SQL with GROUPING SETS run by DuckDB
over the Parquet files, then t intervals, ordering and suppression in Python): what
``acuknee research report --parquet DIR`` computes.

Floor (b): the best hand-written DuckDB SQL for the same numbers, written directly against
``read_parquet`` with DuckDB-only shortcuts (``count_if``, ``GROUP BY ALL``, ``grouping_id``,
arithmetic banding) and no post-processing: the same two-stage plan (one GROUP BY of every
course into its cell of all breakdowns, then GROUPING SETS over the cells), which measured
faster than GROUPING SETS straight over the courses (1.5 s against 2.2 s of CPU at 1M).
Reference (a): a straightforward pandas version (``pandas_report``: read the
Parquet files, one ``groupby`` per breakdown), which the tests also use as the independent check
of the numbers.

Every side starts from the same Parquet files on disk and runs in a fresh worker process
(``python -m benchmarks.bench_research --worker``), so the peak memory reported is that
process's peak resident set (``ru_maxrss``) minus its resident set before the run: DuckDB
allocates outside Python, so ``tracemalloc`` would not see it.

On the app's SQLite database (``analytics.django_engine``: SQLite runs the first stage, DuckDB
the rest over the cells) the same cohort is written into a fresh data directory and the report
timed against acuknee's DuckDB/Parquet figure (target: at most 2 times), up to 100k courses.

Sizes: 10k, 100k and 1M courses (one per patient) by default; ``--quick`` (or any run with a
smaller ``synthetic`` than the default) keeps only 10k; ``ACUKNEE_BENCH_RESEARCH_SIZES=10000,50000``
sets them by hand. The data are ``synthetic_tables`` (vectorised numpy, seeded), or the research
helper's ``acuknee.research.synth`` when it offers a Parquet writer (see ``_write_data``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acuknee.research.analytics import DIMENSIONS
from benchmarks.harness import Result, Settings, Timing, percentile

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
SQLITE_UP_TO = 100_000
"""The app's SQLite side is measured up to this size (writing 1M courses takes minutes)."""
QUICK_SIZES = (10_000,)
CLINICS = 50
DOMAINS = ("pain", "function", "inflammation", "relaxation", "skin_temperature")
Z = 1.96


# --- synthetic research tables -------------------------------------------------------------------


def synthetic_tables(
    n: int, seed: int, clinics: int = CLINICS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` research_course rows and their adverse events, laid out as ``schema.py`` says.

    Values are arbitrary but plausible in shape (this measures speed, not medicine): the
    clinical figures belong to ``acuknee.research.synth``.
    """
    from acuknee.research.schema import AGE_BANDS, age_band

    rng = np.random.default_rng(seed)
    age = rng.integers(25, 96, n)
    planned = rng.choice([6, 8, 10, 12], n)
    dropped = rng.random(n) < 0.15
    attended = np.where(dropped, rng.integers(0, planned + 1), planned)
    verdict = rng.choice(["responder", "non_responder", "not_evaluable"], n, p=[0.5, 0.35, 0.15])
    bands = np.array([age_band(int(a)) for a in range(0, 121)])
    assert set(bands[25:96]) <= set(AGE_BANDS)
    causes = np.array(
        [
            "knee_osteoarthritis",
            "patellofemoral_pain",
            "pes_anserine_tendinopathy_bursitis",
            "patellar_tendinopathy",
            "iliotibial_band_syndrome",
            "unspecified_knee_pain",
        ]
    )
    clinic_id = rng.integers(1, clinics + 1, n)
    course: dict[str, Any] = {
        "course_id": np.arange(1, n + 1, dtype=np.int64),
        "clinic_id": clinic_id,
        "clinic_region": np.array([f"Region {i % 7}" for i in range(clinics + 1)])[clinic_id],
        "sex": rng.choice(["female", "male", "other", "unknown"], n, p=[0.6, 0.38, 0.01, 0.01]),
        "age": age,
        "age_band": bands[age],
        "cause": causes[rng.choice(6, n, p=[0.6, 0.15, 0.08, 0.07, 0.05, 0.05])],
        "severity_band": pd.array(
            np.array(["mild", "moderate", "severe", None], dtype=object)[
                rng.choice(4, n, p=[0.3, 0.4, 0.25, 0.05])
            ],
            dtype="string",
        ),
        "side": rng.choice(["left", "right", "both"], n),
        "diabetes": rng.random(n) < 0.12,
        "anticoagulated": rng.random(n) < 0.08,
        "cardiac_device": rng.random(n) < 0.02,
        "knee_prosthesis": rng.random(n) < 0.04,
        "protocol_id": rng.choice([f"protocol_{i}" for i in range(12)], n),
        "method": rng.choice(["manual", "electro", "laser"], n, p=[0.6, 0.38, 0.02]),
        "start_date": np.datetime64("2025-01-01")
        + rng.integers(0, 600, n).astype("timedelta64[D]"),
        "sessions_planned": planned,
        "sessions_attended": attended,
        "completed": attended >= planned,
        "dropped_out": dropped & (attended < planned),
        "follow_up_weeks": np.where(verdict == "not_evaluable", np.nan, rng.uniform(4, 16, n)),
        "verdict": verdict,
        "responder": pd.array(
            np.where(verdict == "not_evaluable", None, verdict == "responder"), dtype="boolean"
        ),
        "pain_nrs_baseline": rng.uniform(2, 10, n),
        "pain_nrs_final": rng.uniform(0, 10, n),
    }
    scales = {
        "pain": 15,
        "function": 12,
        "inflammation": 0.8,
        "relaxation": 2.5,
        "skin_temperature": 0.4,
    }
    for domain, sd in scales.items():
        measured = rng.random(n) < (0.9 if domain in ("pain", "function") else 0.4)
        baseline = rng.normal(50, 15, n)
        improvement = rng.normal(sd * 0.6, sd, n)
        course[f"{domain}_baseline"] = np.where(measured, baseline, np.nan)
        course[f"{domain}_final"] = np.where(measured, baseline + improvement, np.nan)
        course[f"{domain}_improvement"] = np.where(measured, improvement, np.nan)
        course[f"{domain}_mic_reached"] = pd.array(
            np.where(measured, improvement > sd, False), dtype="boolean"
        )
        course[f"{domain}_mic_reached"][~measured] = pd.NA
    courses = pd.DataFrame(course)
    events_per_course = rng.poisson(0.02 * attended)
    ids = np.repeat(courses["course_id"].to_numpy(), events_per_course)
    m = len(ids)
    events = pd.DataFrame(
        {
            "course_id": ids,
            "session_number": rng.integers(1, 13, m),
            "type": rng.choice(["bruising", "bleeding", "pain", "fatigue", "dizziness"], m),
            "severity": rng.choice(["mild", "moderate", "severe"], m, p=[0.85, 0.13, 0.02]),
        }
    )
    return courses, events


# --- (a) the straightforward pandas report -------------------------------------------------------


def _wilson(k: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    n = n.astype(float).where(n > 0)
    p = k / n
    centre = p + Z * Z / (2 * n)
    half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return p, (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def pandas_report(courses: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The outcomes report as a data analyst would write it in pandas: derive the breakdown
    columns, then one ``groupby`` per breakdown. Independent of the SQL (tests compare them)."""
    from scipy.stats import t

    df = courses.copy()
    df["clinic"] = df["clinic_id"].astype(str)
    df["region"] = df["clinic_region"].replace("", None).fillna("unknown")
    df["severity_band"] = df["severity_band"].astype(object).fillna("unknown")
    df["protocol"] = df["protocol_id"]
    for flag in ("diabetes", "anticoagulated", "cardiac_device", "knee_prosthesis"):
        df[flag] = np.where(df[flag].astype(bool), "yes", "no")
    df["sessions_band"] = pd.cut(
        df["sessions_attended"],
        [-np.inf, 0, 4, 8, 12, np.inf],
        labels=["0", "1-4", "5-8", "9-12", "13+"],
    ).astype(str)
    df["evaluable"] = (df["verdict"] != "not_evaluable").astype(int)
    df["is_responder"] = (df["verdict"] == "responder").astype(int)
    df["dropped"] = df["dropped_out"].astype(int)
    df["done"] = df["completed"].astype(int)
    counts = events.groupby("course_id").size()
    df["n_ae"] = df["course_id"].map(counts).fillna(0).astype(int)
    df["all"] = "all"
    for d in DOMAINS:
        df[f"{d}_mic"] = df[f"{d}_mic_reached"].fillna(False).astype(bool).astype(int)
    frames = []
    for dim in ("all", *DIMENSIONS):
        g = df.groupby(dim)
        out = pd.DataFrame(
            {
                "n": g.size(),
                "evaluable": g["evaluable"].sum(),
                "responders": g["is_responder"].sum(),
                "dropped_out": g["dropped"].sum(),
                "completed": g["done"].sum(),
                "sessions_planned": g["sessions_planned"].sum(),
                "sessions_attended": g["sessions_attended"].sum(),
                "adverse_events": g["n_ae"].sum(),
            }
        )
        for d in DOMAINS:
            col = g[f"{d}_improvement"]
            out[f"{d}_n"] = col.count()
            out[f"{d}_mean"] = col.mean()
            out[f"{d}_sd"] = col.std()
            out[f"{d}_mic"] = g[f"{d}_mic"].sum()
        out.index = out.index.astype(str)
        out = out.reset_index(names="level")
        out.insert(0, "dimension", dim)
        frames.append(out)
    r = pd.concat(frames, ignore_index=True)
    r["responder_rate"], r["responder_low"], r["responder_high"] = _wilson(
        r["responders"], r["evaluable"]
    )
    r["dropout_rate"], r["dropout_low"], r["dropout_high"] = _wilson(r["dropped_out"], r["n"])
    r["adherence"] = r["sessions_attended"] / r["sessions_planned"].where(r["sessions_planned"] > 0)
    r["adverse_events_per_1000"] = (
        1000 * r["adverse_events"] / r["sessions_attended"].where(r["sessions_attended"] > 0)
    )
    for d in DOMAINS:
        n = r[f"{d}_n"].astype(float)
        half = t.ppf(0.975, (n - 1).where(n >= 2)) * r[f"{d}_sd"] / np.sqrt(n)
        r[f"{d}_low"] = r[f"{d}_mean"] - half
        r[f"{d}_high"] = r[f"{d}_mean"] + half
    return r


def pandas_adverse_events(courses: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    sessions = int(courses["sessions_attended"].sum())
    e = events[events["course_id"].isin(courses["course_id"])]
    rows = [{"type": "all", "severity": "all", "events": len(e)}]
    for keys, n in e.groupby("type").size().items():
        rows.append({"type": keys, "severity": "all", "events": n})
    for keys, n in e.groupby("severity").size().items():
        rows.append({"type": "all", "severity": keys, "events": n})
    for (ty, sev), n in e.groupby(["type", "severity"]).size().items():
        rows.append({"type": ty, "severity": sev, "events": n})
    out = pd.DataFrame(rows)
    out["sessions"] = sessions
    out["per_1000_sessions"] = 1000 * out["events"] / sessions
    return out


# --- (b) hand-written DuckDB SQL -----------------------------------------------------------------

_FINE = ",\n".join(
    f"count({d}_improvement) AS {d}_n, sum({d}_improvement) AS {d}_s, "
    f"sum({d}_improvement * {d}_improvement) AS {d}_ss, count_if({d}_mic_reached) AS {d}_mic"
    for d in DOMAINS
)
_ROLL = ",\n".join(
    f"sum({d}_n) AS {d}_n, sum({d}_s) / sum({d}_n) AS {d}_mean, "
    f"sqrt(greatest(sum({d}_ss) - sum({d}_s) ^ 2 / sum({d}_n), 0) / (sum({d}_n) - 1)) AS {d}_sd, "
    f"sum({d}_mic) AS {d}_mic"
    for d in DOMAINS
)
_KEYS = (
    "clinic_id, clinic_region, cause, severity_band, age_band, sex, diabetes, anticoagulated, "
    "cardiac_device, knee_prosthesis, protocol_id, method, sb"
)
_SETS = ", ".join(f"({k.strip()})" for k in _KEYS.split(","))

HAND_SQL = f"""
WITH ae AS (SELECT course_id, count(*) AS n_ae FROM read_parquet('{{events}}') GROUP BY ALL),
fine AS (
  SELECT {_KEYS},
         count(*) AS n, count_if(verdict <> 'not_evaluable') AS ev,
         count_if(verdict = 'responder') AS resp, count_if(dropped_out) AS drop_,
         count_if(completed) AS done, sum(sessions_planned) AS planned,
         sum(sessions_attended) AS attended, sum(coalesce(n_ae, 0)) AS aes,
{_FINE}
  FROM (SELECT *, least(greatest((sessions_attended + 3) // 4, 0), 4) AS sb
        FROM read_parquet('{{courses}}')) c
  LEFT JOIN ae USING (course_id)
  GROUP BY ALL
),
g AS (
  SELECT grouping_id({_KEYS}) AS gid, {_KEYS},
         sum(n) AS n, sum(ev) AS ev, sum(resp) AS resp, sum(drop_) AS drop_, sum(done) AS done,
         sum(planned) AS planned, sum(attended) AS attended, sum(aes) AS aes,
{_ROLL}
  FROM fine
  GROUP BY GROUPING SETS ((), {_SETS})
)
SELECT *, resp / ev AS p,
       (resp / ev + 1.96 ^ 2 / (2 * ev) - 1.96 * sqrt(resp / ev * (1 - resp / ev) / ev
         + 1.96 ^ 2 / (4 * ev ^ 2))) / (1 + 1.96 ^ 2 / ev) AS p_low,
       (resp / ev + 1.96 ^ 2 / (2 * ev) + 1.96 * sqrt(resp / ev * (1 - resp / ev) / ev
         + 1.96 ^ 2 / (4 * ev ^ 2))) / (1 + 1.96 ^ 2 / ev) AS p_high,
       drop_ / n AS d, attended / planned AS adherence, 1000 * aes / attended AS ae_rate
FROM g
"""
"""(sessions_attended + 3) // 4 bands 0, 1-4, 5-8, 9-12 and 13+ as 0..4, as outcomes.sql does."""

HAND_AE_SQL = """
SELECT type, severity, count(*) AS events
FROM read_parquet('{events}')
GROUP BY GROUPING SETS ((), (type), (severity), (type, severity))
"""


# --- the worker ----------------------------------------------------------------------------------


def _write_data(n: int, seed: int, folder: Path) -> dict[str, Any]:
    """The research helper's synthetic cohort (``acuknee research synth --parquet``), or
    ``synthetic_tables`` when that generator is not importable."""
    started = time.perf_counter()
    try:
        from acuknee.research.synth import iter_cohort
        from acuknee.research.writers import write_parquet
    except ImportError:
        courses, events = synthetic_tables(n, seed)
        courses.to_parquet(folder / "research_course.parquet", index=False)
        events.to_parquet(folder / "research_adverse_event.parquet", index=False)
        counts, source = (len(courses), len(events)), "bench_research.synthetic_tables"
    else:
        summary = write_parquet(iter_cohort(n, CLINICS, seed), folder)
        counts, source = (summary.courses, summary.adverse_events), "acuknee.research.synth"
    return {
        "courses": counts[0],
        "events": counts[1],
        "source": source,
        "seconds": time.perf_counter() - started,
        "mib": sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20,
    }


def _side(name: str, folder: Path) -> Any:
    """A callable computing the report one way, from the Parquet files in ``folder``."""
    import scipy.stats  # noqa: F401  (imported before timing: both acuknee and pandas use it)

    if name == "acuknee":
        from acuknee.research import analytics

        def job() -> Any:
            rep = analytics.report(analytics.DuckDBEngine.from_parquet(folder))
            return len(rep.outcomes) + len(rep.adverse_events)

        return job
    if name == "hand_sql":
        import duckdb

        courses = str(folder / "research_course.parquet")
        events = str(folder / "research_adverse_event.parquet")

        def hand() -> Any:
            connection = duckdb.connect()
            connection.execute("SET enable_progress_bar = false")
            a = connection.execute(HAND_SQL.format(courses=courses, events=events)).fetchall()
            b = connection.execute(HAND_AE_SQL.format(events=events)).fetchall()
            return len(a) + len(b)

        return hand

    if name == "sqlite":
        return _sqlite_side(folder)

    def panda() -> Any:
        courses = pd.read_parquet(folder / "research_course.parquet")
        events = pd.read_parquet(folder / "research_adverse_event.parquet")
        return len(pandas_report(courses, events)) + len(pandas_adverse_events(courses, events))

    return panda


def _sqlite_side(folder: Path) -> Any:
    """The report on the app's own SQLite database (``analytics.django_engine``): the same
    cohort (``cohort.json``: size and seed) written by ``acuknee research synth --database``'s
    writer into a fresh data directory, before the timing."""
    cohort = json.loads((folder / "cohort.json").read_text())
    app = folder / "app"
    app.mkdir()
    os.environ.pop("ACUKNEE_DATABASE_URL", None)
    os.environ["ACUKNEE_DATA_DIR"] = str(app)
    os.environ["DJANGO_SETTINGS_MODULE"] = "acuknee.site.settings"
    from acuknee.django_setup import setup_django

    setup_django()
    from django.core.management import call_command

    from acuknee.research import analytics
    from acuknee.research.synth import iter_cohort
    from acuknee.research.writers import write_database

    call_command("migrate", verbosity=0)
    write_database(iter_cohort(cohort["n"], CLINICS, cohort["seed"]))

    def job() -> Any:
        rep = analytics.report(analytics.django_engine())
        return len(rep.outcomes) + len(rep.adverse_events)

    return job


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def worker(side: str, folder: Path, runs: int, out: Path) -> None:
    """Time ``runs`` reports one way in this fresh process; record the peak memory."""
    fn = _side(side, folder)
    before = _rss_kib()
    samples, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter_ns(), time.process_time_ns()
        fn()
        samples.append(time.perf_counter_ns() - started)
        cpu.append(time.process_time_ns() - cpu_started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {"samples": samples, "cpu": cpu, "peak_mib": max(peak - before, 0) / 1024}
    out.write_text(json.dumps(result))


# --- the benchmark -------------------------------------------------------------------------------


def sizes(settings: Settings) -> tuple[int, ...]:
    env = os.environ.get("ACUKNEE_BENCH_RESEARCH_SIZES", "").strip()
    if env:
        return tuple(int(s) for s in env.split(",") if s.strip())
    return QUICK_SIZES if settings.synthetic < Settings().synthetic else DEFAULT_SIZES


def _measure(side: str, folder: Path, runs: int) -> dict[str, Any]:
    out = folder / f"{side}.json"
    command = [sys.executable, "-m", "benchmarks.bench_research", "--worker", side]
    command += [str(folder), str(runs), str(out)]
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
    return dict(json.loads(out.read_text()))


def _timing(samples: list[int]) -> Timing:
    values = [float(s) for s in samples]
    return Timing(
        n=len(values), median_ns=float(np.median(values)), p95_ns=percentile(values, 0.95)
    )


def run(settings: Settings) -> list[Result]:
    results: list[Result] = []
    summary = []
    quick = settings.synthetic < Settings().synthetic
    sides = ("acuknee", "hand_sql", "pandas")
    for n in sizes(settings):
        runs = 1 if quick else 5  # the median of 5: a cold first run is one of them, not half
        with tempfile.TemporaryDirectory(prefix="acuknee-bench-research-") as tmp:
            folder = Path(tmp)
            data = _write_data(n, settings.seed, folder)
            measured = {s: _measure(s, folder, runs) for s in sides}
            if n <= SQLITE_UP_TO:
                (folder / "cohort.json").write_text(json.dumps({"n": n, "seed": settings.seed}))
                measured["sqlite"] = _measure("sqlite", folder, runs)
        ours, hand, panda = (_timing(measured[s]["samples"]) for s in sides)
        mem = {s: float(measured[s]["peak_mib"]) for s in sides}
        cpu = {s: float(np.median(measured[s]["cpu"])) / 1e9 for s in sides}
        note = (
            f"{n:,} courses ({data['source']}), {data['events']:,} adverse events, Parquet "
            f"{data['mib']:.1f} MiB; peak RSS growth: acuknee {mem['acuknee']:.0f} MiB, hand "
            f"SQL {mem['hand_sql']:.0f} MiB, pandas {mem['pandas']:.0f} MiB; CPU time "
            f"(median): acuknee {cpu['acuknee']:.2f} s, hand SQL {cpu['hand_sql']:.2f} s, "
            f"pandas {cpu['pandas']:.2f} s"
        )
        results.append(
            Result(
                name=f"research report, {n:,} patients (acuknee SQL on DuckDB/Parquet)",
                job=ours,
                floor_name="(b) hand-written DuckDB SQL, same numbers",
                floor=hand,
                note=note,
            )
        )
        results.append(
            Result(
                name=f"research report, {n:,} patients ((a) pandas, vs acuknee)",
                job=panda,
                floor_name="acuknee report (so ratio = pandas / acuknee speed-up)",
                floor=ours,
                note=note,
            )
        )
        if "sqlite" in measured:
            lite = _timing(measured["sqlite"]["samples"])
            lite_cpu = float(np.median(measured["sqlite"]["cpu"])) / 1e9
            results.append(
                Result(
                    name=f"research report, {n:,} patients (acuknee on the app's SQLite)",
                    job=lite,
                    floor_name="acuknee report on DuckDB/Parquet, same cohort (target: 2x)",
                    floor=ours,
                    note=f"{note}; CPU time (median) on SQLite {lite_cpu:.2f} s, peak RSS growth "
                    f"{float(measured['sqlite']['peak_mib']):.0f} MiB",
                )
            )
        summary.append((n, ours.median_ns, hand.median_ns, panda.median_ns, mem, cpu))
    print("\nresearch report: median wall time, CPU time and peak RSS growth", file=sys.stderr)
    print(
        "| patients | acuknee | (b) hand SQL | (a) pandas | acuknee/(b) | (a)/acuknee | "
        "CPU s acuknee / (b) / (a) | peak MiB acuknee / (b) / (a) |",
        file=sys.stderr,
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", file=sys.stderr)
    for n, o, h, p, mem, cpu in summary:
        print(
            f"| {n:,} | {o / 1e9:.3f} s | {h / 1e9:.3f} s | {p / 1e9:.2f} s | {o / h:.2f}x | "
            f"{p / o:.1f}x | {cpu['acuknee']:.2f} / {cpu['hand_sql']:.2f} / {cpu['pandas']:.2f} | "
            f"{mem['acuknee']:.0f} / {mem['hand_sql']:.0f} / {mem['pandas']:.0f} |",
            file=sys.stderr,
        )
    return results


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
    else:
        raise SystemExit("usage: python -m benchmarks.bench_research --worker SIDE DIR RUNS OUT")
