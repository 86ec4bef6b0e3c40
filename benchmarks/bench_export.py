"""FHIR Bulk Data ``$export`` on a synthetic clinic: resources per second and peak memory.

A worker process (``python -m benchmarks.bench_export --worker``) gets a fresh SQLite data
directory, runs ``migrate`` and ``bulk_create``s one clinic of synthetic patients, each with two
measurements (pain NRS: 3 scored subscales; KOOS JR: 1), so every patient exports 7 resources:
1 Patient, 2 QuestionnaireResponses and 4 Observations. It builds the small size first, measures,
grows the same database to the large size and measures again.

Job: ``acuknee.api.bulk_export.write_export``, the body of an export job (``$export`` after
kick-off): rows streamed from the database with a raw cursor's ``fetchmany``, each bringing the
NDJSON lines its record stored when saved (``_grow`` stores them as ``save()`` does), copied to
the files a chunk at a time; a row without current lines would be built by ``acuknee.fhir.bulk``.
Time is per exported resource, every sample a whole export (the last export's files are removed
before the timer starts).

Floor: ``orjson.dumps`` of the same resources already built as dicts (those of the first
10,000 patients, or all at a smaller size: the same mix of types), per resource, one floor
sample after each export sample so a change in machine load touches both: encoding alone, with
no database, no building and no file.

Memory: ``tracemalloc``'s peak of Python allocations during a whole export (a separate, traced
run, so tracing does not slow the timed ones), at the small and the large size: constant memory
means the two peaks are alike although the large export is ten times the data.

Sizes come from ``Settings.synthetic``: ``synthetic * 100`` patients large, a tenth of that small
(100,000 and 10,000 by default; 10,000 and 1,000 with ``--quick``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.harness import Result, Settings, Timing, percentile

RESOURCES_PER_PATIENT = 7
FLOOR_PATIENTS = 10_000
BATCH = 5_000


def sizes(settings: Settings) -> tuple[int, int]:
    large = settings.synthetic * 100
    return max(large // 10, 1), large


def run(settings: Settings) -> list[Result]:
    small, large = sizes(settings)
    timed = max(1, min(settings.repeat // 2 + 1, 5))  # 5 by default, 3 with --quick
    with tempfile.TemporaryDirectory(prefix="acuknee-bench-export-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "ACUKNEE_DATABASE_URL"}
        env |= {"ACUKNEE_DATA_DIR": tmp, "DJANGO_SETTINGS_MODULE": "acuknee.site.settings"}
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.bench_export", "--worker"]
        command += [str(small), str(large), str(timed), str(settings.seed), str(out)]
        subprocess.run(command, env=env, check=True, cwd=Path(__file__).resolve().parents[1])
        data = json.loads(out.read_text())
    results = []
    for size in (large, small):
        row = data["sizes"][str(size)]
        floor = _timing(row["floor_samples"], row["floor_n"])
        note = (
            f"{size:,} patients, {row['resources']:,} resources "
            f"({RESOURCES_PER_PATIENT} per patient); peak traced memory of the export "
            f"{row['peak_bytes'] / 2**20:.2f} MiB; database grown to this size in "
            f"{data['build_seconds'][str(size)]:.1f} s"
        )
        results.append(
            Result(
                name=f"bulk $export of {size:,} patients (per resource)",
                job=_timing(row["samples"], row["resources"] * len(row["samples"])),
                floor_name="orjson.dumps of the same prebuilt resource dicts (per resource)",
                floor=floor,
                note=note,
            )
        )
    return results


def _timing(samples: list[float], n: int) -> Timing:
    return Timing(n=n, median_ns=statistics.median(samples), p95_ns=percentile(samples, 0.95))


# --- the worker process ---------------------------------------------------------------------------


def _answers(
    seed: int,
) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """A few (pain answers, pain scores, KOOS JR answers, KOOS JR scores) sets, scored once."""
    import random

    from acuknee.clinical import score

    rng = random.Random(seed)
    out = []
    for _ in range(16):
        pain = float(rng.randint(0, 10))
        pain_answers = {
            "current": pain,
            "average_last_week": pain,
            "worst_last_week": min(pain + 1, 10),
        }
        jr_answers = {
            c: float(rng.randint(0, 4)) for c in ("S6", "P2", "P3", "P6", "P9", "A3", "A5")
        }
        out.append(
            (
                pain_answers,
                score("pain_nrs", pain_answers).model_dump(mode="json"),
                jr_answers,
                score("koos_jr", jr_answers).model_dump(mode="json"),
            )
        )
    return out


def synthetic_patient(clinic: Any, user: Any, n: int, prefix: str, pk: int | None = None) -> Any:
    """Synthetic patient number ``n`` (record number ``<prefix>-0000n``), not yet saved."""
    import datetime as dt

    from acuknee.records.models import Patient

    return Patient(
        pk=pk,
        clinic=clinic,
        record_number=f"{prefix}-{n:07d}",
        given_name="Synthetic",
        family_name=f"Patient{n}",
        date_of_birth=dt.date(1940 + n % 50, 1 + n % 12, 1 + n % 28),
        sex=("female", "male")[n % 2],
        synthetic=True,
        created_by=user,
    )


def _grow(clinic: Any, user: Any, start: int, stop: int, seed: int) -> None:
    """Patients ``start`` .. ``stop - 1`` and their measurements, in bulk."""
    import datetime as dt

    from acuknee.records.models import Measurement, Patient

    sets = _answers(seed)
    day = dt.date(2026, 3, 2)
    for first in range(start, stop, BATCH):
        numbers = range(first, min(first + BATCH, stop))
        patients = Patient.objects.bulk_create(
            _rendered(synthetic_patient(clinic, user, n, "B", pk=n)) for n in numbers
        )
        measurements = []
        for patient, n in zip(patients, numbers, strict=True):
            pain, pain_scores, jr, jr_scores = sets[n % len(sets)]
            measurements.append(
                Measurement(
                    pk=2 * n - 1,
                    patient=patient,
                    measured_on=day,
                    instrument="pain_nrs",
                    answers=pain,
                    scores=pain_scores,
                    created_by=user,
                )
            )
            measurements.append(
                Measurement(
                    pk=2 * n,
                    patient=patient,
                    measured_on=day,
                    instrument="koos_jr",
                    answers=jr,
                    scores=jr_scores,
                    created_by=user,
                )
            )
        Measurement.objects.bulk_create([_rendered(m) for m in measurements])


def _rendered(record: Any) -> Any:
    """What ``save()`` does and ``bulk_create`` skips: store the record's FHIR lines (which
    carry its primary key: ``_grow`` numbers the rows itself)."""
    record.render_fhir()
    return record


def _clear(directory: Path) -> None:
    """Remove the last export's files before the next (untimed: freeing 400 MB of files is the
    file system's work, and a real export writes into a new folder)."""
    import shutil

    shutil.rmtree(directory, ignore_errors=True)


def _export(job: Any, directory: Path) -> int:
    from acuknee.api.bulk_export import write_export

    return sum(item["count"] for item in write_export(job, directory))


def _floor_dicts(job: Any, patients: int) -> list[dict[str, Any]]:
    """The resources of the first ``patients`` patients, built as dicts (the floor's input)."""
    import orjson

    from acuknee.api.bulk_export import write_export

    # The export's own lines, decoded back into dicts: the same resources as the job writes.
    directory = Path(tempfile.mkdtemp(prefix="acuknee-bench-floor-"))
    try:
        write_export(job, directory)
        dicts: list[dict[str, Any]] = []
        for name in ("Patient", "QuestionnaireResponse", "Observation"):
            with (directory / f"{name}.ndjson").open("rb") as lines:
                for line in lines:
                    resource = orjson.loads(line)
                    if _patient_number(resource) > patients:
                        break
                    dicts.append(resource)
        return dicts
    finally:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


def _patient_number(resource: dict[str, Any]) -> int:
    if resource["resourceType"] == "Patient":
        return int(resource["id"])
    return int(resource["subject"]["reference"].removeprefix("Patient/"))


def _floor_sample(dicts: list[dict[str, Any]]) -> float:
    """ns per resource of ``orjson.dumps`` over ``dicts``, repeated to last at least ~50 ms."""
    import orjson

    dumps = orjson.dumps
    rounds = max(1, 200_000 // len(dicts))
    start = time.perf_counter_ns()
    for _ in range(rounds):
        for resource in dicts:
            dumps(resource)
    return (time.perf_counter_ns() - start) / (rounds * len(dicts))


def worker(small: int, large: int, timed: int, seed: int, out: Path) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from acuknee.api.bulk_export import exports_root
    from acuknee.records.models import Clinic, ExportJob, Role, StaffProfile

    call_command("migrate", verbosity=0)
    clinic = Clinic.objects.create(name="Bench Clinic", slug="bench")
    user = User.objects.create_user("bench")
    StaffProfile.objects.create(user=user, clinic=clinic, role=Role.CLINIC_ADMIN)
    job = ExportJob.objects.create(
        user=user,
        clinic=clinic,
        level="system",
        types=["Patient", "QuestionnaireResponse", "Observation"],
        request_url="http://bench/fhir/$export",
        transaction_time=timezone.now(),
    )
    directory = exports_root() / str(job.pk)
    report: dict[str, Any] = {"sizes": {}, "build_seconds": {}}
    built = 0
    for size in (small, large):
        started = time.perf_counter()
        _grow(clinic, user, built + 1, size + 1, seed)
        report["build_seconds"][str(size)] = time.perf_counter() - started
        built = size
        _clear(directory)
        resources = _export(job, directory)  # warm-up, and the count
        dicts = _floor_dicts(job, min(size, FLOOR_PATIENTS))
        samples, floor = [], []
        for _ in range(timed):  # in turn, so a change in load touches both sides alike
            _clear(directory)
            start = time.perf_counter_ns()
            _export(job, directory)
            samples.append((time.perf_counter_ns() - start) / resources)
            floor.append(_floor_sample(dicts))
        floor_n = len(dicts) * max(1, 200_000 // len(dicts)) * timed
        del dicts
        _clear(directory)
        tracemalloc.start()
        _export(job, directory)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        report["sizes"][str(size)] = {
            "resources": resources,
            "samples": samples,
            "peak_bytes": peak,
            "floor_samples": floor,
            "floor_n": floor_n,
        }
    out.write_text(json.dumps(report))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        sys.exit("usage: python -m benchmarks.bench_export --worker SMALL LARGE TIMED SEED OUT")
    a = sys.argv[2:]
    worker(int(a[0]), int(a[1]), int(a[2]), int(a[3]), Path(a[4]))
