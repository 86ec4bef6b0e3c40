"""The patient progress report of a full course, as HTML and as PDF, and the referral letter.

A worker process (``python -m benchmarks.bench_reports --worker``) gets a fresh SQLite data
directory, runs ``migrate`` and ``load_demo`` on a fixed day, and picks the demo's first
completed course (DEMO-0020: intake, signed plan, 10 sessions, two follow-ups, 13 measures;
one trend chart per measured domain and 4 knee views). Each job is timed beside its floor in
the same run (``harness.compare``: samples alternate, so a change in machine load touches both
alike):

- **patient report HTML, charts drawn**: ``build_patient_report`` (the outcomes evaluation by
  the core, the plan, the knee diagrams) and the template, with the chart cache
  (``acuknee.reports.chart_cache``) cleared before each call, so every sample draws its
  matplotlib charts: a report never seen before.
- **patient report HTML, charts cached**: the same, the charts already drawn (the page seen
  again with the same data, or after the outcomes page drew them).
  Floor of both: reading the patient's rows (intakes, plans, sessions, measurements as
  ``values_list``): the database work any report of this course pays.
- **patient report PDF, charts cached**: the print version (charts as PNG, from the cache)
  printed by WeasyPrint. Target: at most 300 ms on a quiet machine.
- **patient report PDF, charts drawn**: the same with the chart cache cleared in each sample.
- **referral letter PDF**: the demo's hot-knee referral printed by WeasyPrint.
  Floor of the three PDFs: WeasyPrint printing **the same page without its pictures** (every
  ``data:`` image taken out of the same HTML): a report should cost at most 3 times that.
- **patient report PDF, charts cached, against one paragraph**: the same job beside a second
  floor, a one-paragraph page in the reports' stylesheet (header, page number) printed by
  ``html_to_pdf``: what any PDF costs, so the rest is the report's own layout.

Whether WeasyPrint subsets fonts with HarfBuzz (libharfbuzz-subset0) or falls back to
fontTools (about 0.9 s more a PDF) is said in the note.

PDF samples last a third of a second to a second, so at most 7 are taken (``Settings.repeat``
caps it lower).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from benchmarks.harness import Result, Settings, compare, run_worker, worker_main, write_results

DEMO_DAY = "2026-03-02"
FULL_COURSE = "DEMO-0020"
REFERRED = "DEMO-0027"
PDF_REPEAT = 7


def run(settings: Settings) -> list[Result]:
    return run_worker("benchmarks.bench_reports", settings, "acuknee-bench-reports-")


# --- the worker process ---------------------------------------------------------------------------


def _worker(settings: Settings, out: Path) -> None:
    import datetime as dt

    from acuknee.django_setup import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from acuknee.demo import load_demo
    from acuknee.records.models import Patient, StaffProfile
    from acuknee.reports import chart_cache
    from acuknee.reports.progress import (
        build_patient_report,
        html_to_pdf,
        render_patient_report,
    )
    from acuknee.reports.referral import build_referral, referral_intake, render_referral

    day = dt.date.fromisoformat(DEMO_DAY)
    load_demo(day)
    patient = Patient.objects.get(record_number=FULL_COURSE)
    referred = Patient.objects.get(record_number=REFERRED)
    practitioner = StaffProfile.objects.get(user__username="practitioner")

    def html(cold: bool = True) -> str:
        if cold:
            chart_cache.clear()
        return render_patient_report(build_patient_report(patient, today=day))

    def print_html() -> str:
        report = build_patient_report(patient, today=day, for_print=True)
        return render_patient_report(report, for_print=True)

    def pdf(cold: bool = False) -> bytes:
        if cold:
            chart_cache.clear()
        return html_to_pdf(print_html())

    def letter_html() -> str:
        built = build_referral(referral_intake(referred), practitioner, today=day)
        return render_referral(built, for_print=True)

    def letter() -> bytes:
        return html_to_pdf(letter_html())

    pictureless = without_pictures(print_html())
    paragraph = one_paragraph_html()
    letter_pictureless = without_pictures(letter_html())

    def rows() -> int:
        return sum(
            len(list(query))
            for query in (
                patient.intakes.values_list("visit_date", "data", "screening", "assessment"),
                patient.plans.values_list("status", "content"),
                patient.sessions.values_list("session_date", "data"),
                patient.measurements.values_list("measured_on", "instrument", "answers"),
            )
        )

    built = build_patient_report(patient, today=day)
    charts = sum(1 for d in built.domains if d.chart is not None)
    outcomes = built.outcomes
    assert outcomes is not None
    note = (
        f"{FULL_COURSE}: {outcomes.attended} sessions, {len(outcomes.verdicts)} follow-ups, "
        f"{charts} charts, {sum(len(v) for _, v in built.knees)} knee views, {rows()} rows"
    )
    pages_kib = len(pdf()) / 1024
    pdf_settings = dataclasses.replace(settings, repeat=min(settings.repeat, PDF_REPEAT))
    floor_pdf = "WeasyPrint of the same page without its pictures"
    fonts = f"fonts subset by {font_subsetter()}"
    results = [
        compare(
            "patient report HTML, charts drawn (full course)",
            html,
            "read the course's intake, plan, session and measurement rows",
            rows,
            settings,
            note=note,
        ),
        compare(
            "patient report HTML, charts cached (full course)",
            lambda: html(cold=False),
            "read the course's intake, plan, session and measurement rows",
            rows,
            settings,
            note=note,
        ),
        compare(
            "patient report PDF, charts cached (full course)",
            pdf,
            floor_pdf,
            lambda: html_to_pdf(pictureless),
            pdf_settings,
            note=f"{note}; PDF of {pages_kib:.0f} KiB; {fonts}; target at most 300 ms, 3x",
        ),
        compare(
            "patient report PDF, charts drawn (full course)",
            lambda: pdf(cold=True),
            floor_pdf,
            lambda: html_to_pdf(pictureless),
            pdf_settings,
            note=f"{note}; {fonts}",
        ),
        compare(
            "patient report PDF, charts cached, against one paragraph",
            pdf,
            "WeasyPrint of a one-paragraph page in the reports' stylesheet",
            lambda: html_to_pdf(paragraph),
            pdf_settings,
            note=f"{note}; {fonts}",
        ),
        compare(
            "referral letter PDF (demo referral)",
            letter,
            floor_pdf,
            lambda: html_to_pdf(letter_pictureless),
            pdf_settings,
            note=f"{REFERRED}: hot swollen knee with fever; {fonts}",
        ),
    ]
    write_results(results, out)


_PICTURE = re.compile(r"<img\b[^>]*\bsrc=\"data:[^\"]*\"[^>]*>")


def without_pictures(html: str) -> str:
    """The same report with every ``data:`` image (charts, knee diagrams) taken out: the
    floor a report's PDF is compared with."""
    stripped, count = _PICTURE.subn("", html)
    if not count:
        raise AssertionError("the report has no pictures to take out: the floor is wrong")
    return stripped


def one_paragraph_html() -> str:
    """A page of one paragraph in the reports' stylesheet (A4, running header, page number):
    the least a report's PDF costs."""
    from django.templatetags.static import static

    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{static("reports/report.css")}"></head>'
        '<body class="report for-print"><p class="running-header">Decision support</p>'
        "<main><p>One paragraph: the fixed cost of printing a report.</p></main></body></html>"
    )


def font_subsetter() -> str:
    """Which library WeasyPrint subsets the fonts with: HarfBuzz when libharfbuzz-subset0 is
    installed, else fontTools (about 0.9 s more per PDF)."""
    from weasyprint.text.ffi import harfbuzz_subset

    return "HarfBuzz" if harfbuzz_subset is not None else "fontTools (libharfbuzz-subset0 missing)"


if __name__ == "__main__":
    worker_main("benchmarks.bench_reports", _worker)
