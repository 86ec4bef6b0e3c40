"""FHIR search on a big clinic: Observation and Condition date-range searches, one page of
``_count=50`` each.

A worker process (``python -m benchmarks.bench_fhir_search --worker``) gets a fresh SQLite data
directory, runs ``migrate`` and ``bulk_create``s one clinic of synthetic patients, each with an
intake on a random day of 2025-2026 (one of ``INTAKES`` synthetic intakes, screened and assessed
by the core once: a Condition each) and two visits on random days of the same two years with, at
each, a pain NRS (3 scored subscales) and a KOOS JR (1): 8 Observations per patient.
``Settings.synthetic * 10`` patients (10,000 by default, 1,000 with ``--quick``).

Jobs, through Django's test client with a Bearer token (middleware, auth, ``search_page``, the
Bundle's JSON): ``GET /fhir/Observation?date=ge2026-03-01&date=lt2026-04-01&_count=50&_offset=100``
(about a 24th of the clinic's Observations match) and the same page of
``/fhir/Condition?recorded-date=ge2026-01-01&recorded-date=lt2026-07-01`` (a quarter of the
intakes: a full page from 1,000 patients on); each Bundle carries its exact total.

Floors: the least an exact, paged search must ask the database, with plain ORM queries: the
matching rows' ``count()`` and the page's 50 rows read with ``.values()`` (no mapping, no JSON,
no HTTP). Job and floor alternate (``harness.compare``).

Before: the search as it was (every Observation of the clinic built, then filtered and paged in
Python: ``search_resources``, kept as the test oracle tests/fhir/reference_search.py) is timed
once, in the same run, and given in the note with a check that both answer the same page and
total; only up to ``BEFORE_UP_TO`` patients, since it builds every Observation of the clinic
(about 3 ms each on a loaded two-core machine: minutes at 10,000 patients).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import Result, Settings, Timing, compare

PER_PATIENT = 10
"""Patients per ``Settings.synthetic``."""
BATCH = 5_000
BEFORE_UP_TO = 2_000
QUERY = {"date": ["ge2026-03-01", "lt2026-04-01"], "_count": "50", "_offset": "100"}
CONDITION_QUERY = {
    "recorded-date": ["ge2026-01-01", "lt2026-07-01"],
    "_count": "50",
    "_offset": "100",
}
INTAKES = 32
"""Distinct synthetic intakes the patients' intakes are drawn from (each screened and assessed
once: the search reads what is stored, whatever its content)."""


def run(settings: Settings) -> list[Result]:
    patients = settings.synthetic * PER_PATIENT
    with tempfile.TemporaryDirectory(prefix="acuknee-bench-search-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "ACUKNEE_DATABASE_URL"}
        env |= {"ACUKNEE_DATA_DIR": tmp, "DJANGO_SETTINGS_MODULE": "acuknee.site.settings"}
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.bench_fhir_search", "--worker"]
        command += [str(patients), json.dumps(dataclasses.asdict(settings)), str(out)]
        subprocess.run(command, env=env, check=True, cwd=Path(__file__).resolve().parents[1])
        data = json.loads(out.read_text())
    job, floor = (Timing(**data[side]) for side in ("job", "floor"))
    before = f"the old Python-filter search was not timed (over {BEFORE_UP_TO:,} patients)"
    if data["before_seconds"] is not None:
        before = (
            f"the old Python-filter search answered the same page in "
            f"{data['before_seconds']:.2f} s (one call, same run: "
            f"{data['before_seconds'] * 1e9 / job.median_ns:,.0f}x this median)"
        )
    note = (
        f"{patients:,} patients, {data['observations']:,} Observations, {data['total']:,} "
        f"matching (Bundle.total); {before}; database built in {data['build_seconds']:.1f} s"
    )
    condition_job, condition_floor = (
        Timing(**data[side]) for side in ("condition_job", "condition_floor")
    )
    return [
        Result(
            name=f"FHIR Observation search, date range, _count=50 ({patients:,} patients)",
            job=job,
            floor_name="ORM count() + .values() of the page's 50 Measurement rows",
            floor=floor,
            note=note,
        ),
        Result(
            name=f"FHIR Condition search, date range, _count=50 ({patients:,} patients)",
            job=condition_job,
            floor_name="ORM count() + .values() of the page's 50 IntakeRecord rows",
            floor=condition_floor,
            note=f"{patients:,} Conditions (one intake each), {data['condition_total']:,} "
            "matching (Bundle.total)",
        ),
    ]


# --- the worker process ---------------------------------------------------------------------------


def _grow(clinic: Any, user: Any, patients: int, seed: int) -> None:
    """``patients`` patients with two visits each (pain NRS and KOOS JR at each), in bulk."""
    import datetime as dt
    import random

    from acuknee.clinical import Intake, assess, screen
    from acuknee.records.models import IntakeRecord, Measurement, Patient
    from benchmarks.bench_export import _answers, synthetic_patient
    from benchmarks.synthetic import intake_texts

    rng = random.Random(seed)
    sets = _answers(seed)
    intakes = []
    for text in intake_texts(INTAKES, seed):
        intake = Intake.model_validate_json(text)
        screening = screen(intake)
        intakes.append(
            {
                "data": intake.model_dump(mode="json"),
                "screening": screening.model_dump(mode="json"),
                "assessment": assess(intake).model_dump(mode="json"),
                "refers": any(r.urgency.blocks_plan for r in screening.referrals),
            }
        )
    first_day = dt.date(2025, 1, 1)
    pk_offset = 0
    for first in range(1, patients + 1, BATCH):
        numbers = range(first, min(first + BATCH, patients + 1))
        created = Patient.objects.bulk_create(
            synthetic_patient(clinic, user, n, "S") for n in numbers
        )
        IntakeRecord.objects.bulk_create(
            IntakeRecord(
                patient=patient,
                visit_date=first_day + dt.timedelta(days=rng.randrange(730)),
                created_by=user,
                **rng.choice(intakes),
            )
            for patient in created
        )
        rows = []
        for patient in created:
            for _ in range(2):
                day = first_day + dt.timedelta(days=rng.randrange(730))
                pain, pain_scores, jr, jr_scores = rng.choice(sets)
                for instrument, answers, scores in (
                    ("pain_nrs", pain, pain_scores),
                    ("koos_jr", jr, jr_scores),
                ):
                    measurement = Measurement(
                        pk=len(rows) + pk_offset + 1,
                        patient=patient,
                        measured_on=day,
                        instrument=instrument,
                        answers=answers,
                        scores=scores,
                        created_by=user,
                    )
                    measurement.render_fhir()  # as save() does: lines and Observation count
                    rows.append(measurement)
        Measurement.objects.bulk_create(rows)
        pk_offset += len(rows)


def worker(patients: int, settings: Settings, out: Path) -> None:
    import django

    django.setup()
    from django.conf import settings as django_settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client, RequestFactory
    from tests.fhir.reference_search import search_resources

    from acuknee.api.fhir_api.resources import RESOURCE_TYPES
    from acuknee.records.models import (
        ApiToken,
        Clinic,
        IntakeRecord,
        Measurement,
        Role,
        StaffProfile,
    )

    django_settings.DEBUG = False  # no query log: neither side pays for it
    django_settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    clinic = Clinic.objects.create(name="Bench Clinic", slug="bench")
    user = User.objects.create_user("bench")
    StaffProfile.objects.create(user=user, clinic=clinic, role=Role.PRACTITIONER)
    _, secret = ApiToken.issue(user, "bench")
    started = time.perf_counter()
    _grow(clinic, user, patients, settings.seed)
    build_seconds = time.perf_counter() - started

    client = Client()
    headers = {"Authorization": f"Bearer {secret}", "Accept": "application/fhir+json"}

    def job() -> dict[str, Any]:
        response = client.get("/fhir/Observation", QUERY, headers=headers)
        assert response.status_code == 200, response.content
        return dict(response.json())

    def condition_job() -> dict[str, Any]:
        response = client.get("/fhir/Condition", CONDITION_QUERY, headers=headers)
        assert response.status_code == 200, response.content
        return dict(response.json())

    def page_floor(
        model: Any, day: str, start: str, end: str, columns: tuple[str, ...], page: slice
    ) -> Callable[[], list[dict[str, Any]]]:
        """The ORM floor of a search page: the clinic's live rows dated in [start, end),
        counted, and the page's rows read with ``.values()`` (no mapping, no JSON)."""
        rows = model.objects.filter(
            patient__clinic=clinic,
            patient__voided_at__isnull=True,
            voided_at__isnull=True,
            **{f"{day}__gte": start, f"{day}__lt": end},
        ).order_by("pk")

        def floor() -> list[dict[str, Any]]:
            rows.count()
            return list(rows.values(*columns)[page])

        return floor

    floor = page_floor(
        Measurement,
        "measured_on",
        "2026-03-01",
        "2026-04-01",
        ("pk", "patient_id", "measured_on", "instrument", "scores"),
        slice(50, 100),
    )
    condition_floor = page_floor(
        IntakeRecord,
        "visit_date",
        "2026-01-01",
        "2026-07-01",
        ("pk", "patient_id", "visit_date", "data", "assessment"),
        slice(100, 150),
    )

    bundle = job()
    conditions = condition_job()
    before_seconds = None
    if patients <= BEFORE_UP_TO:
        request = RequestFactory().get("/fhir/Observation", QUERY)
        request.user = user
        start = time.perf_counter()
        before = search_resources(request, RESOURCE_TYPES["Observation"])
        before_seconds = time.perf_counter() - start
        ids = [e["resource"]["id"] for e in bundle.get("entry", [])]
        if bundle["total"] != len(before) or ids != [r["id"] for r in before[100:150]]:
            raise AssertionError("the SQL search and the Python filter disagree")
        request = RequestFactory().get("/fhir/Condition", CONDITION_QUERY)
        request.user = user
        expected = search_resources(request, RESOURCE_TYPES["Condition"])
        ids = [e["resource"]["id"] for e in conditions.get("entry", [])]
        if conditions["total"] != len(expected) or ids != [r["id"] for r in expected[100:150]]:
            raise AssertionError("the Condition search and the Python filter disagree")
    result = compare("search", job, "floor", floor, settings)
    condition_result = compare("search", condition_job, "floor", condition_floor, settings)
    report = {
        "job": dataclasses.asdict(result.job),
        "floor": dataclasses.asdict(result.floor),
        "total": bundle["total"],
        "condition_job": dataclasses.asdict(condition_result.job),
        "condition_floor": dataclasses.asdict(condition_result.floor),
        "condition_total": conditions["total"],
        "observations": Measurement.objects.filter(patient__clinic=clinic).count() * 2,
        "before_seconds": before_seconds,
        "build_seconds": build_seconds,
    }
    out.write_text(json.dumps(report))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        sys.exit("usage: python -m benchmarks.bench_fhir_search --worker PATIENTS SETTINGS OUT")
    given = json.loads(sys.argv[3])
    given["clients"] = tuple(given["clients"])
    worker(int(sys.argv[2]), Settings(**given), Path(sys.argv[4]))
