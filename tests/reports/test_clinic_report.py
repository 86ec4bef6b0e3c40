"""The clinic outcomes report: right numbers on a clinic built by hand, the demo renders as a
page and as a PDF, the date range filters, and only the clinic's clinical staff see it.

The hand-built clinic (Northside, ``alice``) has courses whose verdicts are known in advance:
a responder drops from a high burden to a low one, a non-responder answers the follow-up
exactly as at baseline (no change at all), so the OMERACT-OARSI verdicts are not in doubt.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.clinical import Intake, Plan
from acuknee.clinical.sessions import AdverseEvent
from acuknee.clinical.vocabulary import AdverseEventKind, Severity
from acuknee.demo import (
    DEMO_CLINIC_SLUG,
    record_intake,
    record_measurement,
    record_plan,
    record_session,
    session_from_plan,
    visit_answers,
)
from acuknee.records.models import Clinic, Patient, PlanRecord
from acuknee.reports.clinic_report import BadPeriod, clinic_report, report_context
from acuknee.reports.outcomes_stats import wilson
from tests.pages.conftest import login

START = dt.date(2026, 1, 5)  # a Monday: plans start here
TODAY = dt.date(2026, 6, 1)

FINDINGS: dict[str, Any] = {
    "side": "left",
    "activity_related_pain": True,
    "morning_stiffness_minutes": 15,
    "examination": {
        "pain_location": ["medial"],
        "crepitus": True,
        "bony_tenderness": True,
        "bony_enlargement": True,
        "palpable_warmth": False,
    },
}

BRUISE = AdverseEvent(
    kind=AdverseEventKind.BRUISING, severity=Severity.MILD, action_taken="pressure"
)
FAINT = AdverseEvent(
    kind=AdverseEventKind.FAINTING,
    severity=Severity.MODERATE,
    action_taken="lay down",
    note="felt faint",
)


def _course(
    clinic: Clinic,
    user: User,
    number: int,
    *,
    outcome: str | None,
    sessions: int | None = None,
    start: dt.date = START,
    events: dict[int, list[AdverseEvent]] | None = None,
) -> Patient:
    """One patient: intake, signed plan, ``sessions`` sessions (default: all planned) and,
    unless ``outcome`` is None, a follow-up that makes them a responder or a non-responder."""
    patient: Patient = Patient.objects.create(
        clinic=clinic,
        record_number=f"T-{number:03d}",
        given_name="Test",
        family_name=f"Patient{number}",
        date_of_birth=dt.date(1958, 1, 1),
        sex="female",
        synthetic=True,
        created_by=user,
    )
    burden = 0.8 if outcome == "responder" else 0.6
    baseline = visit_answers(random.Random(number), burden)
    intake = Intake.model_validate(
        {"age": 68, "sex": "female", "duration_weeks": 52.0, **FINDINGS, "baseline": baseline}
    )
    intake_record = record_intake(patient, intake, start - dt.timedelta(days=7), user)
    plan_record = record_plan(intake_record, start, user)
    assert plan_record is not None
    plan = Plan.model_validate(plan_record.content)
    visits = [v for v in plan.schedule if v.kind == "session"]
    given = visits if sessions is None else visits[:sessions]
    for visit in given:
        record_session(
            plan_record,
            session_from_plan(
                plan,
                visit.number,
                visit.date,
                pain_before=5,
                pain_after=4,
                practitioner=user.username,
                adverse_events=(events or {}).get(visit.number, []),
            ),
            user,
        )
    if outcome is not None:
        follow_up = (
            visit_answers(random.Random(1000 + number), 0.1)
            if outcome == "responder"
            else baseline  # the very same answers: no change at all
        )
        day = given[-1].date + dt.timedelta(days=3)
        for instrument, answers in follow_up.items():
            record_measurement(patient, instrument, answers, day, user)
    return patient


@pytest.fixture
def three_of_five(northside: Clinic, alice: User) -> Clinic:
    """Five complete courses (3 responders, 2 non-responders), a sixth still in course without
    follow-up; two adverse events (one mild, one moderate) in the first course."""
    for n in range(1, 4):
        events = {2: [BRUISE], 5: [FAINT]} if n == 1 else None
        _course(northside, alice, n, outcome="responder", events=events)
    for n in range(4, 6):
        _course(northside, alice, n, outcome="non_responder")
    _course(northside, alice, 6, outcome=None, sessions=4)
    return northside


def test_three_responders_of_five_give_the_wilson_interval(three_of_five: Clinic) -> None:
    report = clinic_report(three_of_five, today=TODAY)
    assert (report.responders.count, report.responders.total) == (3, 5)
    assert report.responders == wilson(3, 5)
    # R: prop.test(3, 5, correct = FALSE)$conf.int = 0.2307243 0.8823792
    assert report.responders.low == pytest.approx(0.2307243, abs=1e-6)
    assert report.responders.high == pytest.approx(0.8823792, abs=1e-6)


def test_patients_without_follow_up_are_treated_but_not_counted_as_non_responders(
    three_of_five: Clinic,
) -> None:
    report = clinic_report(three_of_five, today=TODAY)
    assert report.treated == 6
    assert report.not_reassessed == 1
    assert report.responders.total == 5


def test_completion_counts_courses_that_reached_the_planned_sessions(
    three_of_five: Clinic,
) -> None:
    report = clinic_report(three_of_five, today=TODAY)
    # All six plans are due by TODAY; five attended every planned session, one only four.
    assert (report.completion.count, report.completion.total) == (5, 6)


def test_adverse_events_are_per_thousand_sessions_by_type_and_severity(
    three_of_five: Clinic,
) -> None:
    report = clinic_report(three_of_five, today=TODAY)
    planned = Plan.model_validate(PlanRecord.objects.first().content).number_of_sessions
    assert planned is not None
    sessions = 5 * planned + 4
    assert report.sessions == sessions
    assert report.adverse_events.events == 2
    assert report.adverse_events.rate == pytest.approx(2000 / sessions)
    by_type = {r.label: r.rate.events for r in report.adverse_by_type}
    assert by_type == {"Bruising": 1, "Fainting": 1}
    by_severity = {r.label: r.rate.events for r in report.adverse_by_severity}
    assert by_severity == {"mild": 1, "moderate": 1, "severe": 0}


def test_groups_split_responders_by_cause_severity_protocol_and_practitioner(
    three_of_five: Clinic,
) -> None:
    report = clinic_report(three_of_five, today=TODAY)
    assert [(g.label, g.treated) for g in report.by_cause] == [("knee osteoarthritis", 6)]
    assert [g.label for g in report.by_practitioner] == ["alice"]
    assert report.by_practitioner[0].responders == wilson(3, 5)
    assert len(report.by_protocol) == 1
    assert report.by_protocol[0].responders.count == 3
    # Responders start at a higher burden (severe band) than non-responders (moderate).
    bands = {
        g.label: (g.treated, g.responders.count, g.responders.total) for g in report.by_severity
    }
    assert bands == {"severe": (3, 3, 3), "moderate": (3, 0, 2)}
    assert [g.label for g in report.by_severity] == ["moderate", "severe"]


def test_mean_change_is_zero_for_non_responders_and_positive_overall(
    three_of_five: Clinic,
) -> None:
    report = clinic_report(three_of_five, today=TODAY)
    pain = next(c for c in report.changes if c.instrument == "koos" and c.subscale == "pain")
    assert pain.change.n == 5
    values = [r.improvements[("pain", "koos", "pain")] for r in report.courses if r.verdict]
    assert sorted(values)[:2] == [0.0, 0.0]  # the non-responders did not change at all
    assert pain.change.mean == pytest.approx(sum(values) / 5)
    assert pain.change.low is not None
    assert pain.change.mean is not None
    assert pain.change.low < pain.change.mean


def test_date_range_counts_only_sessions_in_the_period(northside: Clinic, alice: User) -> None:
    _course(northside, alice, 1, outcome="responder")
    _course(northside, alice, 2, outcome="responder", start=dt.date(2026, 4, 6))
    early = clinic_report(northside, dt.date(2026, 1, 1), dt.date(2026, 3, 31), today=TODAY)
    assert [c.record_number for c in early.courses] == ["T-001"]
    late = clinic_report(northside, dt.date(2026, 4, 1), None, today=TODAY)
    assert [c.record_number for c in late.courses] == ["T-002"]


def test_follow_ups_after_the_period_end_are_not_read(northside: Clinic, alice: User) -> None:
    patient = _course(northside, alice, 1, outcome="responder")
    last_session = patient.sessions.order_by("-session_date").first()
    assert last_session is not None
    report = clinic_report(northside, None, last_session.session_date, today=TODAY)
    assert report.courses[0].verdict is None
    assert report.responders.total == 0


def test_end_before_start_is_refused(northside: Clinic) -> None:
    with pytest.raises(BadPeriod, match="2026-01-01 is before the start date 2026-02-01"):
        clinic_report(northside, dt.date(2026, 2, 1), dt.date(2026, 1, 1), today=TODAY)


def test_another_clinics_patients_are_not_counted(three_of_five: Clinic, southside: Clinic) -> None:
    report = clinic_report(southside, today=TODAY)
    assert report.treated == 0
    assert report.responders.estimate is None


def test_queries_do_not_grow_with_the_number_of_patients(northside: Clinic, alice: User) -> None:
    _course(northside, alice, 1, outcome="responder", sessions=3)
    with CaptureQueriesContext(connection) as small:
        clinic_report(northside, today=TODAY)
    for n in range(2, 6):
        _course(northside, alice, n, outcome="non_responder", sessions=3)
    with CaptureQueriesContext(connection) as large:
        report = clinic_report(northside, today=TODAY)
    assert report.treated == 5
    assert len(large.captured_queries) == len(small.captured_queries)


def test_one_adverse_event_is_counted_in_the_singular(northside: Clinic, alice: User) -> None:
    _course(northside, alice, 1, outcome="responder", events={2: [BRUISE]})
    context = report_context(clinic_report(northside, today=TODAY), charts=False)
    html = " ".join(render_to_string("reports/clinic_body.html", context).split())
    assert "<td>1 event · " in html
    assert "1 events" not in html


# --- the pages and the PDF ---------------------------------------------------------------------


def test_practitioner_sees_the_report_with_figures_and_charts(
    three_of_five: Clinic, alice: User
) -> None:
    response = login(alice).get("/reports/clinic/", {"end": TODAY.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert "60% (23% to 88%)" in html
    assert 'src="data:image/svg+xml;base64,' in html
    assert "/reports/clinic.pdf?" in html
    assert "<svg" not in html  # charts are images (the CSP forbids inline svg styles)
    assert ' style="' not in html


def test_clinic_admin_may_open_the_report(three_of_five: Clinic, erin: User) -> None:
    assert login(erin).get("/reports/clinic/").status_code == 200


def test_another_clinic_sees_only_its_own_patients(three_of_five: Clinic, carol: User) -> None:
    response = login(carol).get("/reports/clinic/")
    assert response.status_code == 200
    assert response.context["report"].treated == 0
    assert "Southside Clinic" in response.content.decode()


def test_bad_date_range_is_a_form_error(alice: User) -> None:
    response = login(alice).get("/reports/clinic/", {"start": "2026-05-01", "end": "2026-04-01"})
    assert response.status_code == 400
    assert "The end date 2026-04-01 is before the start date 2026-05-01." in (
        response.content.decode()
    )


def test_unreadable_date_is_a_form_error(alice: User) -> None:
    response = login(alice).get("/reports/clinic/", {"start": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_pdf_with_a_bad_range_names_the_problem(alice: User) -> None:
    response = login(alice).get("/reports/clinic.pdf", {"start": "2026-05-01", "end": "2026-04"})
    assert response.status_code == 400
    assert "Bad date range" in response.content.decode()


def test_pdf_reads_the_same_figures(
    three_of_five: Clinic, alice: User, pdf_pages: Callable[[bytes], Any]
) -> None:
    response = login(alice).get("/reports/clinic.pdf", {"start": "", "end": TODAY.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = pdf_pages(response.content)
    text = re.sub(r"\s+", " ", pdf.text)
    assert "Clinic outcomes" in text or "CLINIC OUTCOMES" in text
    assert "Northside Clinic" in text
    assert "60% (23% to 88%)" in text
    assert "3 of 5 evaluable" in text
    assert "Responder rate by group" in text  # the chart's own title, as text in the SVG
    assert pdf.pages


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


def test_cli_writes_the_clinic_report(three_of_five: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "clinic.html"
    result = CliRunner().invoke(
        app, ["report", "clinic", "northside", "--out", str(out), "--end", TODAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "60% (23% to 88%)" in out.read_text()


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


def test_responder_chart_describes_every_group_and_labels_its_axis(
    three_of_five: Clinic,
) -> None:
    from acuknee.reports.clinic_charts import responder_chart

    chart = responder_chart(clinic_report(three_of_five, today=TODAY))
    assert "Overall: All treated patients: 60% (23% to 88%), 3 of 5" in chart.alt
    assert "Responders (%, OMERACT-OARSI), with Wilson 95% interval" in chart.svg
    assert chart.uri.startswith("data:image/svg+xml;base64,")


def test_change_chart_has_one_panel_per_unit_with_the_unit_on_its_axis(
    three_of_five: Clinic,
) -> None:
    from acuknee.reports.clinic_charts import change_chart

    report = clinic_report(three_of_five, today=TODAY)
    chart = change_chart(report)
    assert chart is not None
    units = {c.unit for c in report.changes}
    for unit in units:
        assert f"Mean improvement, {unit} (positive = better)" in chart.svg
    assert "KOOS Pain" in chart.alt


def test_a_group_without_evaluable_patients_gets_no_dot(northside: Clinic, alice: User) -> None:
    from acuknee.reports.clinic_charts import responder_chart

    _course(northside, alice, 1, outcome=None, sessions=2)
    chart = responder_chart(clinic_report(northside, today=TODAY))
    assert "Overall: All treated patients: no evaluable patients" in chart.alt
