"""The clinic outcomes report over the demo clinic: as HTML and as PDF.

A worker process (``python -m benchmarks.bench_clinic_report --worker``) gets a fresh SQLite
data directory, runs ``migrate`` and ``load_demo`` (29 synthetic patients at every stage of a
course, a fixed day so the data are the same on every run), then times, each beside its floor in
the same run (``harness.compare``: samples alternate, so machine load touches both alike):

- **clinic report HTML, charts drawn**: ``clinic_report`` (every query, the core's ``evaluate``
  per patient, the Wilson, t and Poisson intervals) plus the two matplotlib charts and the
  template, i.e. everything the page does but the HTTP round trip, with the chart cache
  (``acuknee.reports.chart_cache``) cleared before each call: a page not seen before.
- **clinic report HTML, charts cached**: the same, the charts found in the cache by content
  (the page seen again with the same data). Target: at most 500 ms on a quiet machine.
  Floor of both: reading the same rows the report reads (the clinic's sessions and
  measurements, as ``values_list``): the database work any report of these records pays.
- **clinic report PDF**: the HTML above (charts cached) printed by WeasyPrint.
  Floor: WeasyPrint printing the same page without its pictures (at most 3 times that).

The PDF samples last seconds, so at most 7 are taken (``Settings.repeat`` caps it lower).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benchmarks.bench_reports import font_subsetter, without_pictures
from benchmarks.harness import Result, Settings, compare, run_worker, worker_main, write_results

DEMO_DAY = "2026-03-02"
PDF_REPEAT = 7


def run(settings: Settings) -> list[Result]:
    return run_worker("benchmarks.bench_clinic_report", settings, "acuknee-bench-clinic-report-")


# --- the worker process ---------------------------------------------------------------------------


def _worker(settings: Settings, out: Path) -> None:
    import datetime as dt

    from acuknee.django_setup import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from acuknee.demo import DEMO_CLINIC_SLUG, load_demo
    from acuknee.records.models import Clinic, Measurement, TreatmentSession
    from acuknee.reports import chart_cache
    from acuknee.reports.clinic_report import clinic_report, render_print_html
    from acuknee.reports.progress import html_to_pdf

    day = dt.date.fromisoformat(DEMO_DAY)
    load_demo(day)
    clinic = Clinic.objects.get(slug=DEMO_CLINIC_SLUG)

    def html(cold: bool = False) -> str:
        if cold:
            chart_cache.clear()
        return render_print_html(clinic_report(clinic, today=day))

    def rows() -> int:
        sessions = TreatmentSession.objects.filter(patient__clinic=clinic, voided_at__isnull=True)
        measurements = Measurement.objects.filter(patient__clinic=clinic, voided_at__isnull=True)
        return len(list(sessions.values_list("patient_id", "session_date", "data"))) + len(
            list(measurements.values_list("patient_id", "measured_on", "instrument", "answers"))
        )

    pictureless = without_pictures(html())
    report = clinic_report(clinic, today=day)
    note = (
        f"demo clinic: {report.treated} patients treated, {report.sessions} sessions, "
        f"{report.responders.total} evaluable, {rows()} rows read by the floor"
    )
    pdf_bytes = len(html_to_pdf(html()))
    results = [
        compare(
            "clinic report HTML, charts drawn (demo clinic)",
            lambda: html(cold=True),
            "read the clinic's session and measurement rows",
            rows,
            settings,
            note=note,
        ),
        compare(
            "clinic report HTML, charts cached (demo clinic)",
            html,
            "read the clinic's session and measurement rows",
            rows,
            settings,
            note=f"{note}; target at most 500 ms",
        ),
        compare(
            "clinic report PDF (demo clinic)",
            lambda: html_to_pdf(html()),
            "WeasyPrint of the same page without its pictures",
            lambda: html_to_pdf(pictureless),
            dataclasses.replace(settings, repeat=min(settings.repeat, PDF_REPEAT)),
            note=f"{note}; PDF of {pdf_bytes / 1024:.0f} KiB; fonts subset by {font_subsetter()}",
        ),
    ]
    write_results(results, out)


if __name__ == "__main__":
    worker_main("benchmarks.bench_clinic_report", _worker)
