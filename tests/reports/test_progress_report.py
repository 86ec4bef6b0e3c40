"""The patient progress report on the demo clinic: HTML and PDF from one template, the PDF read
back as text (pdftotext) and pictures (pdftoppm), and who may open it."""

from __future__ import annotations

import base64
import datetime as dt
import gc
import io
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from PIL import Image

from acuknee.care import services
from acuknee.clinical import Plan
from acuknee.demo import DEMO_CLINIC_SLUG
from acuknee.records.models import Patient
from acuknee.reports.progress import (
    _BASE_URL,
    DISCLAIMER,
    ReportError,
    _package_fetcher,
    _print_tools,
    build_patient_report,
    html_to_pdf,
    patient_report_pdf,
    render_patient_report,
)
from tests.care import builders
from tests.pages.conftest import login
from tests.pages.test_sessions import sign_plan
from tests.reports.conftest import DEMO_TODAY, PdfPages, read_pdf

RESPONDER = "DEMO-0020"  # completed course, responder at both follow-ups
NON_RESPONDER = "DEMO-0024"  # completed course, non-responder
BRUISED = "DEMO-0012"  # in course, a bruise after session 2
NEW = "DEMO-0001"  # intake only
REFERRED = "DEMO-0027"  # hot swollen knee with fever: referred


def flat(text: str) -> str:
    """pdftotext's layout text with runs of spaces and line breaks collapsed."""
    return re.sub(r"\s+", " ", text)


# --- content -------------------------------------------------------------------------------------


ONE_PER_STAGE = (NEW, "DEMO-0005", BRUISED, "DEMO-0016", RESPONDER, NON_RESPONDER, REFERRED)
"""intake, draft plan, in course, reassessment due, responder, non-responder, referred."""


def test_a_patient_at_every_stage_gets_a_report(demo: dict[str, Patient]) -> None:
    for number in (*ONE_PER_STAGE, "DEMO-0029"):  # and the voided record
        patient = demo[number]
        html = render_patient_report(build_patient_report(patient, today=DEMO_TODAY))
        assert f"{patient.given_name} {patient.family_name}" in html, number
        assert "Decision support; not a diagnosis" in html


def test_report_shows_cause_classification_plan_sessions_and_verdicts(
    demo: dict[str, Patient],
) -> None:
    report = build_patient_report(demo[RESPONDER], today=DEMO_TODAY)
    assert report.cause == "knee osteoarthritis"
    assert any(c.name.startswith("ACR") for c in report.classifications)
    assert report.plan is not None
    assert report.knees
    assert report.sessions_text == "10 of 10 planned"
    assert report.outcomes is not None
    assert [v.label for v in report.outcomes.verdicts] == ["Responder", "Responder"]
    assert {d.domain for d in report.domains} >= {"pain", "function", "circulation"}


def test_each_domain_charts_its_first_measure_with_an_mic_and_lists_every_measure(
    demo: dict[str, Patient],
) -> None:
    domains = {d.domain: d for d in build_patient_report(demo[RESPONDER], today=DEMO_TODAY).domains}
    assert domains["pain"].lead == "KOOS Pain"
    assert domains["pain"].chart is not None
    assert len(domains["pain"].measures) >= 4
    assert domains["circulation"].chart is None  # not measured: no empty chart
    assert domains["function"].measures[0].mic.endswith("reached")


def test_report_charts_are_data_images_with_alt_text_never_inline_svg(
    demo: dict[str, Patient],
) -> None:
    html = render_patient_report(build_patient_report(demo[RESPONDER], today=DEMO_TODAY))
    assert html.count('src="data:image/svg+xml;base64,') >= 8  # domain charts and knee views
    assert "<svg" not in html
    assert "style=" not in html
    assert "<script" not in html
    assert 'alt="KOOS Pain (score (0-100), higher is better): 2025-' in html


def test_printed_report_uses_raster_charts(demo: dict[str, Patient]) -> None:
    report = build_patient_report(demo[RESPONDER], today=DEMO_TODAY, for_print=True)
    html = render_patient_report(report, for_print=True)
    assert 'src="data:image/png;base64,' in html
    assert "Download PDF" not in html


def test_next_steps_come_from_the_schedule_not_from_advice(demo: dict[str, Patient]) -> None:
    steps = build_patient_report(demo[BRUISED], today=DEMO_TODAY).next_steps
    assert any(s.startswith("Sessions remaining:") for s in steps)
    assert any(s.startswith("Next session planned: 2026-") for s in steps)


def visible(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_a_report_dated_mid_course_shows_nothing_recorded_after_its_date(
    demo: dict[str, Patient],
) -> None:
    patient = demo[RESPONDER]
    full = build_patient_report(patient, today=DEMO_TODAY)
    assert full.outcomes is not None
    first = full.outcomes.follow_up_dates[0]
    as_of = first + dt.timedelta(days=1)
    report = build_patient_report(patient, today=as_of)
    text = visible(render_patient_report(report))
    assert f"Report date {as_of.isoformat()} (records up to this date)" in text
    recorded = text[: text.index("Next steps")]  # the steps may name planned, later dates
    assert max(re.findall(r"\d{4}-\d\d-\d\d", recorded)) <= as_of.isoformat()
    assert report.status != "completed"  # the second follow-up had not happened yet
    assert report.outcomes is not None
    assert report.outcomes.follow_up_dates == [first]


def test_next_steps_never_call_a_measured_reassessment_planned(
    demo: dict[str, Patient],
) -> None:
    patient = demo[RESPONDER]
    full = build_patient_report(patient, today=DEMO_TODAY)
    assert full.outcomes is not None
    first, second = full.outcomes.follow_up_dates
    assert f"Reassessment done: {first.isoformat()}, {second.isoformat()}." in full.next_steps
    assert not any("planned" in s and "Reassessment" in s for s in full.next_steps)
    mid = build_patient_report(patient, today=first + dt.timedelta(days=1)).next_steps
    assert f"Reassessment done: {first.isoformat()}." in mid
    assert any(s.startswith("Reassessment planned: ") for s in mid)
    assert not any(first.isoformat() in s for s in mid if "planned" in s)


def test_a_reassessment_measured_early_is_done_on_the_day_it_was_measured(
    patient: Patient, alice: User
) -> None:
    # Measured two days before its planned day: the report dated that day says it was done that
    # day (naming the planned day as such), never "done" on a day still to come.
    record = builders.signed_plan(patient, alice, builders.days_ago(70))
    schedule = Plan.model_validate(record.content).schedule
    planned = next(v.date for v in schedule if v.kind == "reassessment")
    for visit in schedule:
        if visit.kind == "session" and visit.date < planned:
            services.record_session(patient, alice, builders.session_on(record, visit.date))
    early = planned - dt.timedelta(days=2)
    assert early < builders.days_ago(0)
    services.record_measurements(patient, alice, early, {"pain_nrs": builders.pain_answers(0.3)})
    steps = build_patient_report(patient, today=early).next_steps
    said = f"Reassessment done: {early.isoformat()} (planned for {planned.isoformat()})."
    assert said in steps, steps
    assert not any(s.startswith("Reassessment planned: " + planned.isoformat()) for s in steps)


def test_a_patient_without_a_plan_gets_a_short_report(demo: dict[str, Patient]) -> None:
    report = build_patient_report(demo[NEW], today=DEMO_TODAY)
    assert report.plan is None
    assert "No signed plan yet." in report.next_steps
    assert "No signed plan." in render_patient_report(report)


def test_a_referred_patient_is_pointed_to_the_referral_letter(demo: dict[str, Patient]) -> None:
    steps = build_patient_report(demo[REFERRED], today=DEMO_TODAY).next_steps
    assert steps[0].startswith("Referred: see the referral letter")


# --- the PDF, read back --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def responder_pdf(
    demo_clinic: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> PdfPages:
    """The responder's printed report, read back: rendered once for the tests that each check
    one thing a reader sees in it (they only read it)."""
    with django_db_blocker.unblock():
        patient = Patient.objects.get(clinic__slug=DEMO_CLINIC_SLUG, record_number=RESPONDER)
        pdf = patient_report_pdf(patient, today=DEMO_TODAY)
    return read_pdf(pdf, tmp_path_factory.mktemp("responder-pdf"))


def test_pdf_text_names_the_patient_sessions_numbers_and_verdicts(
    demo: dict[str, Patient], responder_pdf: PdfPages
) -> None:
    patient = demo[RESPONDER]
    report = build_patient_report(patient, today=DEMO_TODAY)
    text = flat(responder_pdf.text)
    assert f"{patient.given_name} {patient.family_name}" in text
    assert patient.record_number in text
    assert "Sessions attended: 10 of 10 planned" in text
    assert text.count("Responder") >= 2
    assert report.outcomes is not None
    for verdict in report.outcomes.verdicts:
        assert verdict.date.isoformat() in text
    pain = next(d for d in report.domains if d.domain == "pain")
    for m in pain.measures:  # baseline, latest and change of every pain measure, in a row
        assert f"{m.baseline} {m.latest} {m.change} {m.mic.split()[0]}" in text, m.name
    assert "knee osteoarthritis" in text


def test_pdf_pages_carry_the_disclaimer_synthetic_marker_and_page_numbers(
    responder_pdf: PdfPages,
) -> None:
    pdf = responder_pdf
    pages = len(pdf.pages)
    assert pages >= 2
    text = flat(pdf.text)
    assert text.count(DISCLAIMER) == pages
    assert text.count("Synthetic demo data: not a real person") == pages
    assert f"Page {pages} of {pages}" in text


def test_pdf_pages_are_a4_and_carry_pictures(responder_pdf: PdfPages) -> None:
    pdf = responder_pdf
    for page in pdf.pages:
        with Image.open(page) as image:
            width, height = image.size
            assert width / height == pytest.approx(210 / 297, abs=0.01)
    # The chart pages hold the blue of the palette's first series (colour, not only text).
    colours = [np.asarray(Image.open(p).convert("RGB"), dtype=int) for p in pdf.pages]
    blue = [((c[..., 2] - c[..., 0]) > 80).sum() for c in colours]
    assert max(blue) > 200  # pixels at 50 dpi: a few charts' lines and dots


def test_non_responder_verdict_and_adverse_events_reach_the_pdf(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], PdfPages]
) -> None:
    text = flat(pdf_pages(patient_report_pdf(demo[NON_RESPONDER], today=DEMO_TODAY)).text)
    assert "Non-responder" in text
    bruised = flat(pdf_pages(patient_report_pdf(demo[BRUISED], today=DEMO_TODAY)).text)
    assert "Bruising" in bruised
    assert "Adverse events: 1" in bruised


def test_pdf_never_fetches_from_the_network() -> None:
    with pytest.raises(ReportError, match=re.escape("not http://example.org/x.png")):
        html_to_pdf('<img src="http://example.org/x.png" alt="">')


def test_printing_holds_the_garbage_collector_off_and_always_turns_it_back_on() -> None:
    html_to_pdf("<p>warm</p>")  # WeasyPrint imported (importing may collect)
    collections: list[str] = []
    gc.callbacks.append(lambda phase, info: collections.append(phase) if phase == "start" else None)
    try:
        html_to_pdf("<p>" + "<span>a b</span> " * 300 + "</p>")
    finally:
        gc.callbacks.pop()
    # Thousands of boxes allocated (47 collections with the collector on, measured with
    # WeasyPrint alone): at most the one collection that runs as it is turned back on.
    assert len(collections) <= 1
    assert gc.isenabled()
    with pytest.raises(ReportError):
        html_to_pdf('<img src="http://example.org/x.png" alt="">')
    assert gc.isenabled()


def test_pdf_looks_as_weasyprint_prints_the_same_html_afresh(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], PdfPages]
) -> None:
    """html_to_pdf's shortcuts (fonts kept, the stylesheet parsed once, the pictures handed
    over apart from the HTML) change nothing a reader sees: same text, same pixels."""
    from weasyprint import HTML

    report = build_patient_report(demo[RESPONDER], today=DEMO_TODAY, for_print=True)
    html = render_patient_report(report, for_print=True)

    def seen(pdf: bytes) -> tuple[str, list[np.ndarray]]:
        read = pdf_pages(pdf)
        return read.text, [np.asarray(Image.open(page).convert("RGB")) for page in read.pages]

    unlinked, _, sheets = _print_tools(html)
    assert len(sheets) == 1  # the reports' link to their stylesheet is recognised ...
    assert "report.css" not in unlinked  # ... and taken out for the parsed one
    html_to_pdf(html)  # the thread's fonts and the parsed stylesheet, kept for the next
    ours = seen(html_to_pdf(html))
    fetcher = _package_fetcher()  # WeasyPrint fetches and parses the linked stylesheet itself
    afresh = seen(HTML(string=html, base_url=_BASE_URL, url_fetcher=fetcher).write_pdf())
    assert ours[0] == afresh[0]
    assert len(ours[1]) == len(afresh[1]) >= 3
    for mine, theirs in zip(ours[1], afresh[1], strict=True):
        assert np.array_equal(mine, theirs)


def test_pdf_is_a_pdf(demo: dict[str, Patient]) -> None:
    pdf = patient_report_pdf(demo[NEW], today=DEMO_TODAY)
    assert pdf.startswith(b"%PDF-")
    assert len(io.BytesIO(pdf).getvalue()) > 1000


# --- pages and access ----------------------------------------------------------------------------


def report_urls(patient: Patient) -> list[str]:
    return [
        reverse("patient-report", args=[patient.pk]),
        reverse("patient-report-pdf", args=[patient.pk]),
    ]


def test_treating_practitioner_opens_the_report_page_and_its_pdf(
    patient: Patient, alice: User
) -> None:
    sign_plan(patient, alice)
    client = login(alice)
    page, pdf = (client.get(url) for url in report_urls(patient))
    assert page.status_code == 200
    assert b"Progress report" in page.content
    assert reverse("patient-report-pdf", args=[patient.pk]).encode() in page.content
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_clinic_admin_may_open_the_report(patient: Patient, erin: User) -> None:
    assert login(erin).get(report_urls(patient)[0]).status_code == 200


def test_front_desk_may_not_open_the_report(patient: Patient, dana: User) -> None:
    client = login(dana)
    assert [client.get(url).status_code for url in report_urls(patient)] == [403, 403]


def test_another_clinic_sees_no_such_report(patient: Patient, carol: User) -> None:
    client = login(carol)
    assert [client.get(url).status_code for url in report_urls(patient)] == [404, 404]


def test_signed_out_visitor_is_sent_to_sign_in(patient: Patient) -> None:
    response = Client().get(report_urls(patient)[0])
    assert response.status_code == 302


def test_patient_page_links_to_the_report(patient: Patient, alice: User) -> None:
    page = login(alice).get(reverse("patient-detail", args=[patient.pk]))
    assert reverse("patient-report", args=[patient.pk]).encode() in page.content
    assert reverse("patient-report-pdf", args=[patient.pk]).encode() in page.content


def test_printed_knee_labels_lose_the_halo_weasyprint_would_paint_over_them(
    demo: dict[str, Patient],
) -> None:
    def first_view(for_print: bool) -> str:
        report = build_patient_report(demo[RESPONDER], today=DEMO_TODAY, for_print=for_print)
        _, images = report.knees[0]
        return base64.b64decode(images[0].src.split(",", 1)[1]).decode()

    printed, screen = first_view(True), first_view(False)
    assert 'paint-order="stroke"' in screen
    assert 'paint-order="stroke"' not in printed
    assert ">ST35</text>" in printed
