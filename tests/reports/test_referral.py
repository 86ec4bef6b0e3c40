"""The referral letter for red flags: its content, its PDF read back, who may open it, the
intake page's link to it and the command line."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from typer.testing import CliRunner

import acuknee.reports
from acuknee.cli import app
from acuknee.clinical import Intake
from acuknee.demo import DEMO_CASES, record_intake
from acuknee.records.models import (
    Clinic,
    IntakeRecord,
    Patient,
    ReferralLetterText,
    StaffProfile,
)
from acuknee.reports.progress import DISCLAIMER, html_to_pdf
from acuknee.reports.referral import (
    ReferralUnavailable,
    build_referral,
    generated_body,
    referral_intake,
    render_referral,
)
from tests.pages.conftest import login
from tests.pages.test_sessions import sign_plan
from tests.reports.conftest import PdfPages

SEEN = dt.date(2026, 2, 9)
HOT_KNEE = next(c for c in DEMO_CASES if c.stage == "referral")
"""The demo clinic's referred patient: hot swollen knee with fever (septic arthritis to exclude)."""


@pytest.fixture
def referred(patient: Patient, alice: User) -> IntakeRecord:
    """The persona patient with the demo's hot-knee intake, recorded by alice."""
    alice.first_name, alice.last_name = "Alice", "Ashworth"
    alice.save()
    staff: StaffProfile = alice.staff
    staff.registration = "REG-12345 (synthetic)"
    staff.save()
    clinic = staff.clinic
    clinic.address = "1 North Road\nNorthtown"
    clinic.phone = "+00 5550 1000"
    clinic.save()
    intake = Intake.model_validate({"age": 65, "sex": "female", **HOT_KNEE.findings})
    return record_intake(patient, intake, SEEN, alice)


def letter_html(record: IntakeRecord, user: User) -> str:
    return render_referral(build_referral(record, user.staff, today=SEEN))


# --- content -------------------------------------------------------------------------------------


def test_letter_gives_reason_findings_and_urgency_from_the_stored_screening(
    referred: IntakeRecord, alice: User
) -> None:
    letter = build_referral(referred, alice.staff, today=SEEN)
    stored = referred.screening["referrals"]
    assert [r.name for r in letter.referrals] == [r["name"] for r in stored]
    assert [r.reason for r in letter.referrals] == [r["reason"] for r in stored]
    assert letter.most_urgent in {"emergency", "urgent"}
    findings = {f.label: f.value for r in letter.referrals for f in r.findings}
    assert "yes" in findings.values()
    assert not letter.plan_allowed


def test_letter_says_what_the_receiving_service_will_do_next(
    referred: IntakeRecord, alice: User
) -> None:
    html = letter_html(referred, alice)
    stored = referred.screening["referrals"]
    assert all(r["next_step"] for r in stored)
    for referral in stored:
        assert f"<strong>Next step:</strong> {referral['next_step']}" in html


def test_a_finding_not_asked_reads_not_recorded_never_no(
    referred: IntakeRecord, alice: User
) -> None:
    """A rule may cite a question left unanswered (a red flag fired on other findings): the
    letter reads it as not recorded."""
    screening = dict(referred.screening)
    first = dict(screening["referrals"][0])
    first["findings"] = [*first["findings"], "red_flags.systemically_unwell"]
    screening["referrals"] = [first, *screening["referrals"][1:]]
    referred.screening = screening
    referred.data["red_flags"]["systemically_unwell"] = None
    referred.save()
    letter = build_referral(referred, alice.staff, today=SEEN)
    values = {f.label: f.value for f in letter.referrals[0].findings}
    assert values["Systemically unwell"] == "not recorded"


def test_letter_is_signed_with_the_practitioners_name_registration_and_clinic(
    referred: IntakeRecord, alice: User
) -> None:
    html = letter_html(referred, alice)
    for text in ("Alice Ashworth", "REG-12345 (synthetic)", "1 North Road<br>Northtown"):
        assert text in html
    assert "+00 5550 1000" in html
    assert "No acupuncture has been given or planned pending your assessment." in html


def test_letter_is_printable_html_without_inline_style_or_script(
    referred: IntakeRecord, alice: User
) -> None:
    html = letter_html(referred, alice)
    assert "style=" not in html
    assert "<script" not in html
    assert DISCLAIMER in html
    assert "Synthetic demo data" in html


def test_pdf_text_names_patient_urgency_reason_and_practitioner(
    referred: IntakeRecord, alice: User, pdf_pages: Callable[[bytes], PdfPages]
) -> None:
    letter = build_referral(referred, alice.staff, today=SEEN)
    pdf = pdf_pages(html_to_pdf(render_referral(letter, for_print=True)))
    text = re.sub(r"\s+", " ", pdf.text)
    assert "Ada Synthetic" in text
    assert letter.most_urgent.upper() in text
    assert letter.referrals[0].reason[:40] in text
    assert "REG-12345 (synthetic)" in text
    assert DISCLAIMER in text
    assert "Page 1 of" in text
    assert pdf.pages


def test_an_intake_without_red_flags_has_no_letter(patient: Patient, alice: User) -> None:
    sign_plan(patient, alice)
    with pytest.raises(ReferralUnavailable, match="no current intake with a referral"):
        referral_intake(patient)


def test_a_voided_intake_has_no_letter(referred: IntakeRecord, alice: User) -> None:
    referred.void(alice, "entered in error")
    with pytest.raises(ReferralUnavailable, match="voided"):
        referral_intake(referred.patient, referred.pk)


def test_another_patients_intake_is_refused(
    referred: IntakeRecord, northside: Clinic, alice: User
) -> None:
    other = Patient.objects.create(
        clinic=northside,
        record_number="N-0002",
        given_name="Bea",
        family_name="Synthetic",
        date_of_birth=dt.date(1970, 1, 1),
        sex="female",
        synthetic=True,
    )
    with pytest.raises(ReferralUnavailable, match="not one of this patient's intakes"):
        referral_intake(other, referred.pk)


# --- pages and access ----------------------------------------------------------------------------


def urls(record: IntakeRecord) -> list[str]:
    query = f"?intake={record.pk}"
    return [
        reverse("patient-referral", args=[record.patient_id]) + query,
        reverse("patient-referral-pdf", args=[record.patient_id]) + query,
    ]


def test_practitioner_opens_the_letter_and_its_pdf(referred: IntakeRecord, bob: User) -> None:
    client = login(bob)
    page, pdf = (client.get(url) for url in urls(referred))
    assert page.status_code == 200
    assert b"Referral letter" in page.content
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")


def test_no_referral_is_a_404(patient: Patient, alice: User) -> None:
    sign_plan(patient, alice)
    assert login(alice).get(reverse("patient-referral", args=[patient.pk])).status_code == 404


def test_intake_page_links_to_the_letter(referred: IntakeRecord, alice: User) -> None:
    page = login(alice).get(reverse("intake-detail", args=[referred.patient_id, referred.pk]))
    assert urls(referred)[0].encode() in page.content
    assert urls(referred)[1].encode() in page.content


# --- command line --------------------------------------------------------------------------------


def test_cli_writes_the_letter(referred: IntakeRecord, tmp_path: Path) -> None:
    out = tmp_path / "letter.html"
    result = CliRunner().invoke(app, ["report", "referral", str(referred.pk), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "REG-12345 (synthetic)" in out.read_text()


def test_cli_writes_the_progress_report_pdf(patient: Patient, alice: User, tmp_path: Path) -> None:
    sign_plan(patient, alice)
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(app, ["report", "patient", str(patient.pk), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["patient", "999999", "--out", "x.pdf"], "no patient with id 999999"),
        (["referral", "999999", "--out", "x.pdf"], "no intake with id 999999"),
        (["patient", "1", "--out", "x.docx"], "must end in .pdf, .html"),
    ],
)
def test_cli_unknown_ids_and_formats_exit_2_naming_the_problem(
    db: object, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_unwritable_path_exits_2(referred: IntakeRecord, tmp_path: Path) -> None:
    out = tmp_path / "missing-folder" / "letter.pdf"
    result = CliRunner().invoke(app, ["report", "referral", str(referred.pk), "--out", str(out)])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_cli_refuses_an_intake_without_red_flags(
    patient: Patient, alice: User, tmp_path: Path
) -> None:
    sign_plan(patient, alice)
    intake = patient.intakes.get()
    out = tmp_path / "letter.pdf"
    result = CliRunner().invoke(app, ["report", "referral", str(intake.pk), "--out", str(out)])
    assert result.exit_code == 2
    assert "found no red flag" in result.stderr
    assert not out.exists()


# --- addressed to the receiving clinician, kept whole, edited before printing ---------------------


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def edit_url(record: IntakeRecord) -> str:
    return reverse("referral-edit", args=[record.patient_id, record.pk])


def test_letter_tells_the_receiving_clinician_what_was_found_why_and_what_the_patient_was_told(
    referred: IntakeRecord, alice: User
) -> None:
    text = visible(letter_html(referred, alice))
    first = referred.screening["referrals"][0]
    assert "To: The clinician receiving this referral" in text
    assert "Dear colleague," in text
    assert f"Why it matters: {first['reason']}" in text
    assert "What I found: " in text
    assert "What Ada was told: I explained what I found" in text
    assert "I am referring her to you as an" in text
    assert "Do not needle" not in text  # the practitioner's instruction is not the letter's


def test_the_edit_form_opens_with_the_suggested_letter(referred: IntakeRecord, alice: User) -> None:
    response = login(alice).get(edit_url(referred))
    assert response.status_code == 200
    form = response.context["form"]
    letter = build_referral(referred, alice.staff, today=SEEN)
    assert form.initial["body"] == generated_body(letter)
    assert form.initial["body"].startswith("Dear colleague,")
    assert form.initial["recipient"] == "The clinician receiving this referral"


def test_the_edited_letter_is_what_prints_and_who_edited_it_is_kept(
    referred: IntakeRecord, alice: User
) -> None:
    client = login(alice)
    body = "Dear Dr Jones,\n\nPlease see Ada today.\n- Hot knee: yes\n\nWhat Ada was told: go now."
    response = client.post(
        edit_url(referred), {"recipient": "Dr B. Jones\nNorthtown ED", "body": body}
    )
    assert response.status_code == 302
    kept = ReferralLetterText.objects.get(intake=referred)
    assert (kept.edited_by, kept.created_by) == (alice, alice)
    assert kept.history.count() == 1
    printed = render_referral(build_referral(referred, alice.staff, today=SEEN), for_print=True)
    text = visible(printed)
    assert "To: Dr B. Jones Northtown ED" in text
    assert "Dear Dr Jones," in text
    assert "<li>Hot knee: yes</li>" in printed
    assert "Dear colleague" not in text
    assert "Edit the letter" not in text  # the on-screen note never prints
    page = client.get(urls(referred)[0]).content.decode()
    assert "Edited by Alice Ashworth on " in visible(page)


def test_saving_the_letter_says_so_on_the_letter_page_and_not_again_on_the_next_page(
    referred: IntakeRecord, alice: User
) -> None:
    client = login(alice)
    edit = {"recipient": "Dr B. Jones", "body": "Dear Dr Jones,\n\nPlease see Ada today."}
    landed = client.post(edit_url(referred), edit, follow=True)
    letter = reverse("intake-referral", args=[referred.patient_id, referred.pk])
    assert landed.redirect_chain[-1][0] == letter
    shown = landed.content.decode()
    assert '<div role="status" class="notices">' in shown
    assert "Letter saved: the edited text is what prints." in visible(shown)
    after = client.get(reverse("intake-detail", args=[referred.patient_id, referred.pk]))
    assert "Letter saved" not in after.content.decode()
    printed = render_referral(build_referral(referred, alice.staff, today=SEEN), for_print=True)
    assert 'class="notices"' not in printed


def test_a_second_edit_from_a_stale_form_is_refused(referred: IntakeRecord, alice: User) -> None:
    client = login(alice)
    first = {"recipient": "Dr Jones", "body": "Dear Dr Jones,\n\nFirst."}
    assert client.post(edit_url(referred), first).status_code == 302
    opened = client.get(edit_url(referred)).context["form"].initial["version"]
    assert opened == 1
    second = {"recipient": "Dr Jones", "body": "Dear Dr Jones,\n\nSecond.", "version": opened}
    assert client.post(edit_url(referred), second).status_code == 302
    stale = client.post(edit_url(referred), {**second, "body": "Dear Dr Jones,\n\nThird."})
    assert stale.status_code == 409
    assert ReferralLetterText.objects.get(intake=referred).body.endswith("Second.")
    assert ReferralLetterText.objects.get(intake=referred).history.count() == 2


def test_an_empty_letter_is_refused_naming_the_field(referred: IntakeRecord, alice: User) -> None:
    response = login(alice).post(edit_url(referred), {"recipient": "Dr Jones", "body": "  "})
    assert response.status_code == 400
    assert "body" in response.context["form"].errors
    assert not ReferralLetterText.objects.filter(intake=referred).exists()


def test_no_block_of_the_letter_is_split_or_orphaned_across_pages(
    referred: IntakeRecord, alice: User
) -> None:
    html = letter_html(referred, alice)
    closing = html[html.index('<div class="closing">') :]
    assert (
        closing.index("Yours sincerely") < closing.index("Alice Ashworth") < closing.index("</div>")
    )
    css = (Path(acuknee.reports.__file__).parent / "static/reports/report.css").read_text()
    assert (
        ".letter .block, .letter .closing, .letter .recipient, .letterhead { break-inside: avoid; }"
        in css
    )
    assert "orphans: 3; widows: 3;" in css


def test_printed_letter_keeps_the_closing_with_the_signature_on_one_page(
    referred: IntakeRecord, alice: User, pdf_pages: Callable[[bytes], PdfPages]
) -> None:
    letter = build_referral(referred, alice.staff, today=SEEN)
    pdf = pdf_pages(html_to_pdf(render_referral(letter, for_print=True)))
    pages = pdf.text.split("\f")
    closing = [i for i, page in enumerate(pages) if "Yours sincerely" in page]
    signed = [i for i, page in enumerate(pages) if "REG-12345 (synthetic)" in page]
    assert closing == signed
    assert len(closing) == 1


def test_an_edited_letter_keeps_the_screenings_urgency(referred: IntakeRecord, alice: User) -> None:
    body = "Dear Dr Jones,\n\nPlease see Ada when convenient."
    login(alice).post(edit_url(referred), {"recipient": "Dr Jones", "body": body})
    letter = build_referral(referred, alice.staff, today=SEEN)
    html = render_referral(letter)
    assert f'<span class="urgency">{letter.most_urgent}</span> referral' in html
    for referral in letter.referrals:
        assert referral.name in html  # the urgency picture's alt text names every red flag
