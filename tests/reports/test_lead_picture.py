"""Every report leads with a picture (issue 5): an image on page 1, under the title block and
before any section heading, in the HTML and in the PDF; and the progress report's "at a glance"
figure shows the core's numbers, not numbers of its own."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from acuknee.care.queries import build_course
from acuknee.clinical import evaluate, load_knowledge
from acuknee.clinical.response import MeasureChange
from acuknee.clinical.vocabulary import Domain
from acuknee.records.models import Patient, StaffProfile
from acuknee.reports.charts import GlanceRow, GlanceSpec, glance_svg
from acuknee.reports.clinic_report import clinic_report, render_pdf, render_print_html
from acuknee.reports.progress import (
    build_patient_report,
    glance_caption,
    html_to_pdf,
    patient_report_pdf,
    render_patient_report,
)
from acuknee.reports.referral import build_referral, referral_intake, render_referral
from acuknee.reports.stricta_report import (
    patient_stricta,
    protocol_stricta,
    render_stricta_html,
)
from tests.reports.conftest import DEMO_TODAY, PdfPages

RESPONDER = "DEMO-0020"  # completed course, responder at both follow-ups
NON_RESPONDER = "DEMO-0024"
NEW = "DEMO-0001"  # intake only: baseline, no follow-up
REFERRED = "DEMO-0027"  # hot swollen knee with fever
PROTOCOL = "knee-oa-manual-gerac"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def picture_before_headings(html: str) -> None:
    """The document's body has a data: image before its first section heading (h2)."""
    body = html[html.index("<main>") :]
    image = re.search(r'<img src="data:image/(png|svg\+xml);base64,', body)
    heading = body.find("<h2")
    assert image is not None, "no picture in the report"
    assert heading == -1 or image.start() < heading, "a section heading comes before the picture"
    assert 'style="' not in body  # the strict CSP: no inline style on the new markup either


def first_page(pages: PdfPages) -> str:
    """pdftotext's text of page 1 (pages are separated by form feeds)."""
    return flat(pages.text.split("\f")[0])


def practitioner() -> StaffProfile:
    return StaffProfile.objects.get(user__username="practitioner")


# --- HTML: the picture comes first ----------------------------------------------------------------


def test_progress_report_leads_with_the_at_a_glance_figure(demo: dict[str, Patient]) -> None:
    for number in (RESPONDER, NON_RESPONDER, NEW):
        report = build_patient_report(demo[number], today=DEMO_TODAY)
        html = render_patient_report(report)
        picture_before_headings(html)
        assert report.glance_image is not None
        assert html.index(report.glance_image.src) < html.index('id="summary-h"')


def test_clinic_report_leads_with_the_responder_chart(demo: dict[str, Patient]) -> None:
    html = render_print_html(clinic_report(demo[RESPONDER].clinic, today=DEMO_TODAY))
    picture_before_headings(html)
    body = html[html.index("<main>") :]
    assert body.index("Responder rate by group, dot and 95% interval") < body.index("<h2")


def test_stricta_reports_lead_with_the_knee_diagram(demo: dict[str, Patient]) -> None:
    patient = demo[RESPONDER]
    for doc in (
        patient_stricta(patient, today=DEMO_TODAY),
        protocol_stricta(patient.clinic, PROTOCOL, today=DEMO_TODAY),
    ):
        html = render_stricta_html(doc, patient.clinic.name)
        picture_before_headings(html)
        assert "with the planned points (schematic, not to scale)" in html
        assert doc.knees
        assert all(len(k.images) == 4 for k in doc.knees)
    protocol = protocol_stricta(patient.clinic, PROTOCOL, today=DEMO_TODAY)
    assert protocol.knees[0].label == "Affected knee (drawn as a right knee)"


def test_referral_letter_leads_with_the_urgency_of_each_red_flag(
    demo: dict[str, Patient],
) -> None:
    letter = build_referral(referral_intake(demo[REFERRED]), practitioner(), today=DEMO_TODAY)
    html = render_referral(letter)
    picture_before_headings(html)
    # The picture says what the stored screening says: every flag at its own urgency.
    for r in letter.referrals:
        assert f"{r.name}: {r.urgency}" in html
    assert f"the most urgent is {letter.most_urgent}" in html


# --- PDF: page 1 holds the picture and its caption -----------------------------------------------


def test_progress_report_pdf_page_one_holds_the_figure_and_its_caption(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], PdfPages]
) -> None:
    patient = demo[RESPONDER]
    pages = pdf_pages(patient_report_pdf(patient, today=DEMO_TODAY))
    page1 = first_page(pages)
    caption = glance_caption(build_patient_report(patient, today=DEMO_TODAY))
    assert flat(caption)[:120] in page1
    assert "OMERACT-OARSI verdict: Responder." in page1
    assert page1.index("Improvement from baseline") < page1.index("Cause and classification")


def test_other_reports_pdf_page_one_holds_their_picture_caption(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], PdfPages]
) -> None:
    patient = demo[RESPONDER]
    clinic = patient.clinic
    letter = build_referral(referral_intake(demo[REFERRED]), practitioner(), today=DEMO_TODAY)
    cases = [
        (
            render_pdf(clinic_report(clinic, today=DEMO_TODAY)),
            "Responders by OMERACT-OARSI",
            "Summary",
        ),
        (
            html_to_pdf(
                render_stricta_html(
                    protocol_stricta(clinic, PROTOCOL, today=DEMO_TODAY), clinic.name
                )
            ),
            "with the planned points (schematic, not to scale)",
            "Methods paragraph",
        ),
        (
            html_to_pdf(render_referral(letter, for_print=True)),
            "Urgency of each red flag found at the intake",
            "Dear colleague",
        ),
    ]
    for pdf, caption, after in cases:
        page1 = first_page(pdf_pages(pdf))
        assert caption in page1, caption
        assert page1.index(caption) < page1.index(after), caption


# --- the at-a-glance numbers are the evaluation's -------------------------------------------------


def _first_measures(patient: Patient) -> dict[str, MeasureChange]:
    """The core's evaluation at the latest follow-up: each domain's first measure."""
    course = build_course(patient)
    assert course is not None
    latest = evaluate(course, load_knowledge()).follow_ups[-1]
    return {g.domain.value: g.measures[0] for g in latest.domains if g.domain and g.measures}


def test_glance_numbers_equal_the_core_evaluation(demo: dict[str, Patient]) -> None:
    patient = demo[RESPONDER]
    report = build_patient_report(patient, today=DEMO_TODAY)
    assert report.glance is not None
    rows = {r.domain.split(" ")[0].lower(): r for r in report.glance.rows}
    assert list(rows) == [d.value for d in Domain]  # the five domains, in the article's order
    core = _first_measures(patient)
    for domain, m in core.items():
        row = rows[domain]
        assert row.measure == m.name
        assert row.improvement == pytest.approx(m.improvement)
        if m.mic.kind is not None:
            assert m.improvement is not None
            assert m.mic.threshold is not None
            assert row.ratio is not None
            assert m.mic.applied is not None
            assert row.mic == m.mic.applied  # the MIC reached from this baseline
            assert row.ratio == pytest.approx(m.improvement / m.mic.applied)
            assert (row.ratio >= 1) == (m.mic.status == "reached")
    # The values this demo course is known to have (KOOS 0-100, MIC from the knowledge base).
    pain, function = rows["pain"], rows["function"]
    assert (pain.measure, pain.state, pain.mic) == ("KOOS Pain", "ratio", 11.3)
    assert pain.improvement == pytest.approx(33.333, abs=0.01)
    assert pain.ratio == pytest.approx(2.95, abs=0.01)
    assert function.ratio == pytest.approx(39.706 / 10.2, abs=0.01)
    assert rows["relaxation"].state == "no_mic"  # PSS-4: no established MIC, raw change shown
    assert rows["relaxation"].change == 0
    assert "no established MIC: change 0" in rows["relaxation"].note()
    assert rows["inflammation"].state == "not_measured"
    assert rows["circulation"].state == "not_measured"
    assert not rows["circulation"].exploratory  # no measure at all: not measured, not exploratory
    assert report.glance.title == "At a glance: OMERACT-OARSI responder at 2026-02-22"


def test_glance_of_a_non_responder_shows_a_worsening_below_zero(demo: dict[str, Patient]) -> None:
    report = build_patient_report(demo[NON_RESPONDER], today=DEMO_TODAY)
    assert report.glance is not None
    pain = report.glance.rows[0]
    assert pain.ratio is not None
    assert pain.ratio < 0
    assert "non-responder" in report.glance.title


def test_glance_before_any_follow_up_says_so_and_gives_no_verdict(
    demo: dict[str, Patient],
) -> None:
    report = build_patient_report(demo[NEW], today=DEMO_TODAY)
    assert report.glance is not None
    states = {r.state for r in report.glance.rows}
    assert states == {"no_follow_up", "not_measured"}
    assert "no OMERACT-OARSI verdict" in report.glance.title


def test_glance_figure_labels_rows_and_axis_in_words() -> None:
    spec = GlanceSpec(
        title="At a glance: test",
        rows=(
            GlanceRow(
                domain="Pain",
                state="ratio",
                measure="KOOS Pain",
                unit="score (0-100)",
                improvement=22.6,
                change=22.6,
                mic=11.3,
            ),
            GlanceRow(domain="Circulation", state="not_measured", exploratory=True),
        ),
    )
    svg = glance_svg(spec)
    assert "2 × MIC (+22.6 score; MIC 11.3)" in svg
    assert "not measured" in svg
    assert "Circulation (exploratory)" in svg
    assert "1 = MIC reached" in svg
    assert "Pain, KOOS Pain: 2 × MIC" in spec.alt_text()
