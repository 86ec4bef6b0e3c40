"""The clinic outcomes report: right numbers on a clinic built by hand, the demo renders as a
page and as a PDF, the date range filters, and only the clinic's clinical staff see it.

Courses are built by hand (tests/reports/clinic_courses.py) with verdicts known in advance;
the figures of one fixed clinic of six courses are in test_clinic_report_figures.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.demo import DEMO_CLINIC_SLUG
from acuknee.records.models import Clinic, Patient
from acuknee.reports.clinic_report import BadPeriod, clinic_report, report_context
from tests.pages.conftest import login
from tests.reports.clinic_courses import BRUISE, TODAY, course


def test_date_range_counts_only_sessions_in_the_period(northside: Clinic, alice: User) -> None:
    course(northside, alice, 1, outcome="responder")
    course(northside, alice, 2, outcome="responder", start=dt.date(2026, 4, 6))
    early = clinic_report(northside, dt.date(2026, 1, 1), dt.date(2026, 3, 31), today=TODAY)
    assert [c.record_number for c in early.courses] == ["T-001"]
    late = clinic_report(northside, dt.date(2026, 4, 1), None, today=TODAY)
    assert [c.record_number for c in late.courses] == ["T-002"]


def test_follow_ups_after_the_period_end_are_not_read(northside: Clinic, alice: User) -> None:
    patient = course(northside, alice, 1, outcome="responder")
    last_session = patient.sessions.order_by("-session_date").first()
    assert last_session is not None
    report = clinic_report(northside, None, last_session.session_date, today=TODAY)
    assert report.courses[0].verdict is None
    assert report.responders.total == 0


def test_end_before_start_is_refused(northside: Clinic) -> None:
    with pytest.raises(BadPeriod, match="2026-01-01 is before the start date 2026-02-01"):
        clinic_report(northside, dt.date(2026, 2, 1), dt.date(2026, 1, 1), today=TODAY)


def test_queries_do_not_grow_with_the_number_of_patients(northside: Clinic, alice: User) -> None:
    course(northside, alice, 1, outcome="responder", sessions=3)
    with CaptureQueriesContext(connection) as small:
        clinic_report(northside, today=TODAY)
    for n in range(2, 6):
        course(northside, alice, n, outcome="non_responder", sessions=3)
    with CaptureQueriesContext(connection) as large:
        report = clinic_report(northside, today=TODAY)
    assert report.treated == 5
    assert len(large.captured_queries) == len(small.captured_queries)


def test_one_adverse_event_is_counted_in_the_singular(northside: Clinic, alice: User) -> None:
    course(northside, alice, 1, outcome="responder", events={2: [BRUISE]})
    context = report_context(clinic_report(northside, today=TODAY), charts=False)
    html = " ".join(render_to_string("reports/clinic_body.html", context).split())
    assert "<td>1 event · " in html
    assert "1 events" not in html


# --- the pages and the PDF ---------------------------------------------------------------------


def test_bad_date_range_is_a_form_error(alice: User) -> None:
    response = login(alice).get("/reports/clinic/", {"start": "2026-05-01", "end": "2026-04-01"})
    assert response.status_code == 400
    assert "The end date 2026-04-01 is before the start date 2026-05-01." in (
        response.content.decode()
    )


@pytest.mark.parametrize("address", ["/reports/clinic/", "/reports/clinic.pdf"])
def test_a_start_after_today_without_an_end_is_a_form_error(alice: User, address: str) -> None:
    """The end defaults to today; a start after it was a 500 on the page and the PDF."""
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = login(alice).get(address, {"start": tomorrow})
    assert response.status_code == 400
    assert f"The start date {tomorrow} is after today" in response.content.decode()


def test_unreadable_date_is_a_form_error(alice: User) -> None:
    response = login(alice).get("/reports/clinic/", {"start": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_pdf_with_a_bad_range_names_the_problem(alice: User) -> None:
    response = login(alice).get("/reports/clinic.pdf", {"start": "2026-05-01", "end": "2026-04"})
    assert response.status_code == 400
    assert "Bad date range" in response.content.decode()


# --- the demo clinic ----------------------------------------------------------------------------


def test_demo_clinic_report_counts_its_courses(demo: dict[str, Patient]) -> None:
    clinic = Clinic.objects.get(slug=DEMO_CLINIC_SLUG)
    report = clinic_report(clinic, today=dt.date(2026, 3, 2))
    # The demo has four completed responders and three completed non-responders.
    assert (report.responders.count, report.responders.total) == (4, 7)
    assert report.adverse_events.events == 1  # the bruise after session 2
    context = report_context(report)
    assert context["responder_chart"] is not None
    assert context["change_chart"] is not None


def test_demo_clinic_pdf_renders(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], Any]
) -> None:
    from acuknee.reports.clinic_report import render_pdf

    clinic = Clinic.objects.get(slug=DEMO_CLINIC_SLUG)
    pdf = pdf_pages(render_pdf(clinic_report(clinic, today=dt.date(2026, 3, 2))))
    text = re.sub(r"\s+", " ", pdf.text)
    assert "4 of 7 evaluable" in text
    assert "57% (25% to 84%)" in text
    assert "Bruising" in text


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "--out", "x.pdf"], "no clinic with slug 'nowhere' (known: "),
        (["northside", "--out", "x.txt"], "--out: 'x.txt' must end in .pdf, .html"),
        (["northside", "--out", "x.pdf", "--start", "2026-02-30"], "--start: '2026-02-30'"),
        (
            ["northside", "--out", "x.pdf", "--start", "2026-05-01", "--end", "2026-04-01"],
            "the end date 2026-04-01 is before the start date 2026-05-01",
        ),
    ],
)
def test_cli_bad_input_exits_2_naming_the_problem(
    northside: Clinic, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["report", "clinic", *args])
    assert result.exit_code == 2
    assert message in result.stderr


# --- the charts -----------------------------------------------------------------------------------


def test_a_group_without_evaluable_patients_gets_no_dot(northside: Clinic, alice: User) -> None:
    from acuknee.reports.clinic_charts import responder_chart

    course(northside, alice, 1, outcome=None, sessions=2)
    chart = responder_chart(clinic_report(northside, today=TODAY))
    assert "Overall: All treated patients: no evaluable patients" in chart.alt


def test_an_exploratory_measure_is_marked_in_the_table_and_the_chart(
    northside: Clinic, alice: User
) -> None:
    """Skin temperature is exploratory (instruments.toml): the clinic's pooled change says so
    beside its name, as every page and chart of one patient does; a validated measure does
    not."""
    from acuknee.demo import record_measurement
    from acuknee.reports.clinic_charts import change_chart

    patient = course(northside, alice, 1, outcome="responder")
    intake_day = patient.intakes.get().visit_date
    follow_up = max(patient.measurements.values_list("measured_on", flat=True))
    record_measurement(patient, "skin_temperature", {"affected_c": 33.4}, intake_day, alice)
    record_measurement(patient, "skin_temperature", {"affected_c": 32.9}, follow_up, alice)
    report = clinic_report(northside, None, None, today=TODAY)
    marked = {c.name: c.exploratory for c in report.changes}
    assert marked["Treated knee skin temperature (inflammation marker)"] is True
    assert not any(v for k, v in marked.items() if "skin temperature" not in k)
    html = render_to_string("reports/clinic_body.html", report_context(report, charts=False))
    row = next(
        line
        for line in html.splitlines()
        if "Treated knee skin temperature (inflammation marker)" in line
    )
    assert '<span class="badge">exploratory</span>' in row
    assert html.count('<span class="badge">exploratory</span>') == 1
    chart = change_chart(report)
    assert chart is not None
    assert "Treated knee skin temperature (inflammation marker) (exploratory):" in chart.alt
    assert "KOOS Pain (exploratory)" not in chart.alt
