"""The clinic outcomes report's figures on one clinic of six courses built by hand: the
numbers, the page, the PDF, the command line and the charts all read the same clinic.

Northside (``alice``) has five complete courses (3 responders, 2 non-responders) and a sixth still
in course without follow-up; two adverse events (one mild, one moderate) in the first course.
The clinic is built once for the module (tests/module_records.py); Southside (``carol``) has no
patient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.clinical import Plan
from acuknee.records.models import Clinic, PlanRecord, Role
from acuknee.reports.clinic_report import clinic_report
from acuknee.reports.outcomes_stats import wilson
from tests.module_records import from_records, module_records
from tests.pages import conftest as personas
from tests.pages.conftest import login
from tests.reports.clinic_courses import BRUISE, FAINT, TODAY, course


@dataclass(frozen=True)
class Clinics:
    northside: Clinic
    southside: Clinic
    alice: User
    carol: User
    erin: User


@pytest.fixture(scope="module")
def clinics(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Clinics]:
    with module_records(django_db_blocker):
        northside = personas.northside_clinic()
        southside = personas.southside_clinic()
        alice = personas.staff("alice", northside, Role.PRACTITIONER)
        for n in range(1, 4):
            events = {2: [BRUISE], 5: [FAINT]} if n == 1 else None
            course(northside, alice, n, outcome="responder", events=events)
        for n in range(4, 6):
            course(northside, alice, n, outcome="non_responder")
        course(northside, alice, 6, outcome=None, sessions=4)
        yield Clinics(
            northside,
            southside,
            alice,
            personas.staff("carol", southside, Role.PRACTITIONER),
            personas.staff("erin", northside, Role.CLINIC_ADMIN),
        )


three_of_five = from_records("clinics", "northside", name="three_of_five")
southside = from_records("clinics", "southside")
alice = from_records("clinics", "alice")
carol = from_records("clinics", "carol")
erin = from_records("clinics", "erin")


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


def test_another_clinics_patients_are_not_counted(three_of_five: Clinic, southside: Clinic) -> None:
    report = clinic_report(southside, today=TODAY)
    assert report.treated == 0
    assert report.responders.estimate is None


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


def test_cli_writes_the_clinic_report(three_of_five: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "clinic.html"
    result = CliRunner().invoke(
        app, ["report", "clinic", "northside", "--out", str(out), "--end", TODAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "60% (23% to 88%)" in out.read_text()


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
