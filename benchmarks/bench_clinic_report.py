"""The clinic outcomes report over the demo clinic: as HTML and as PDF.

A worker process (``python -m benchmarks.bench_clinic_report --worker``) gets a fresh SQLite
data directory, runs ``migrate`` and ``load_demo`` (29 synthetic patients at every stage of a
course, a fixed day so the data are the same on every run), then times, each beside its floor in
the same run (``harness.compare``: samples alternate, so machine load touches both alike):

- **clinic report HTML**: ``clinic_report`` (every query, the core's ``evaluate`` per patient,
  the Wilson, t and Poisson intervals) plus the two matplotlib charts and the template, i.e.
  everything the page does but the HTTP round trip. The chart cache is cleared before each call,
  so every sample draws the charts (the worst case: a page not seen before).
  Floor: reading the same rows the report reads (the clinic's sessions and measurements, as
  ``values_list``): the database work any report of these records pays.
- **clinic report PDF**: the HTML above printed by WeasyPrint (charts drawn again too).
  Floor: WeasyPrint printing a one-paragraph page with the same stylesheet, the fixed cost of
  any PDF.

The PDF samples last seconds, so at most 7 are taken (``Settings.repeat`` caps it lower).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
    from acuknee.reports import clinic_charts
    from acuknee.reports.clinic_report import clinic_report, render_print_html
    from acuknee.reports.progress import html_to_pdf

    day = dt.date.fromisoformat(DEMO_DAY)
    load_demo(day)
    clinic = Clinic.objects.get(slug=DEMO_CLINIC_SLUG)

    def html() -> str:
        clinic_charts._responder_chart.cache_clear()
        clinic_charts._change_chart.cache_clear()
        return render_print_html(clinic_report(clinic, today=day))

    def rows() -> int:
        sessions = TreatmentSession.objects.filter(patient__clinic=clinic, voided_at__isnull=True)
        measurements = Measurement.objects.filter(patient__clinic=clinic, voided_at__isnull=True)
        return len(list(sessions.values_list("patient_id", "session_date", "data"))) + len(
            list(measurements.values_list("patient_id", "measured_on", "instrument", "answers"))
        )

    minimal = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x</title>'
        '<link rel="stylesheet" href="/static/reports/report.css"></head>'
        '<body class="report"><main><p>One paragraph.</p></main></body></html>'
    )
    report = clinic_report(clinic, today=day)
    note = (
        f"demo clinic: {report.treated} patients treated, {report.sessions} sessions, "
        f"{report.responders.total} evaluable, {rows()} rows read by the floor"
    )
    pdf_bytes = len(html_to_pdf(html()))
    results = [
        compare(
            "clinic report HTML (demo clinic)",
            html,
            "read the clinic's session and measurement rows",
            rows,
            settings,
            note=note,
        ),
        compare(
            "clinic report PDF (demo clinic)",
            lambda: html_to_pdf(html()),
            "WeasyPrint of a one-paragraph page, same stylesheet",
            lambda: html_to_pdf(minimal),
            dataclasses.replace(settings, repeat=min(settings.repeat, PDF_REPEAT)),
            note=f"{note}; PDF of {pdf_bytes / 1024:.0f} KiB",
        ),
    ]
    write_results(results, out)


if __name__ == "__main__":
    worker_main("benchmarks.bench_clinic_report", _worker)
