"""The patient's printable documents: the progress report and the referral letter, HTML and PDF.

Views are adapters: ``acuknee.reports.progress`` and ``acuknee.reports.referral`` gather and
render; these views only pick the record, check access (``clinic_view``: clinical roles, the
user's own clinic) and choose HTML or PDF. The HTML page and the PDF come from one template.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.clinical.screening import Screening
from acuknee.forms.letters import ReferralLetterForm
from acuknee.pages import answers
from acuknee.records.ids import storable_pk
from acuknee.records.models import IntakeRecord, Patient
from acuknee.reports.progress import build_patient_report, html_to_pdf, render_patient_report
from acuknee.reports.referral import (
    ReferralUnavailable,
    build_referral,
    generated_body,
    referral_intake,
    render_referral,
)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _report_html(patient: Patient, *, for_print: bool) -> str:
    return render_patient_report(
        build_patient_report(patient, today=timezone.localdate(), for_print=for_print),
        for_print=for_print,
    )


@clinic_view(roles=CLINICAL_ROLES)
def patient_report(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The progress report as a page (with a link to its PDF)."""
    return HttpResponse(_report_html(patient, for_print=False))


@clinic_view(roles=CLINICAL_ROLES)
def patient_report_pdf(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The same report printed to PDF (A4)."""
    pdf = html_to_pdf(_report_html(patient, for_print=True))
    return _pdf(pdf, f"progress-report-{patient.record_number}.pdf")


def _referral_html(
    request: HttpRequest, patient: Patient, *, for_print: bool, intake_id: int | None = None
) -> str:
    """The referral letter of the intake ``intake_id`` (or named by ``?intake=ID``), else of the
    latest intake with a referral; 404 when there is none (or the intake is voided)."""
    if intake_id is None:
        named = request.GET.get("intake")
        intake_id = storable_pk(named) if named else None
    try:
        record: IntakeRecord = referral_intake(patient, intake_id)
        letter = build_referral(record, request.user.staff, today=timezone.localdate())
    except ReferralUnavailable as exc:
        raise Http404(str(exc)) from exc
    # The letter page is where saving an edit lands: its "Letter saved" is said here, and
    # consumed, rather than on whichever clinic page the practitioner opens next.
    notices = [] if for_print else [str(m) for m in messages.get_messages(request)]
    return render_referral(letter, for_print=for_print, notices=notices)


def intake_referral_html(request: HttpRequest, patient: Patient, intake_id: int) -> str:
    """The referral letter of one intake, as a page (the intake page's link)."""
    return _referral_html(request, patient, for_print=False, intake_id=intake_id)


@clinic_view(roles=CLINICAL_ROLES)
def referral_edit(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    """Edit the intake's referral letter before printing, pre-filled with the suggested text
    (or the last edit); kept by ``care.services.save_referral_letter`` with who and when."""
    try:
        record = referral_intake(patient, intake_id)
        letter = build_referral(record, request.user.staff, today=timezone.localdate())
    except ReferralUnavailable as exc:
        raise Http404(str(exc)) from exc
    status = 200
    if request.method == "POST":
        form = ReferralLetterForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                services.save_referral_letter(record, request.user, **form.cleaned_data)
            except errors.CareError as exc:
                status = answers.on_form(form, exc)
            else:
                messages.success(request, "Letter saved: the edited text is what prints.")
                return redirect("intake-referral", patient_id=patient.pk, intake_id=record.pk)
    else:
        edit = letter.edit
        form = ReferralLetterForm(
            initial={
                "recipient": letter.recipient,
                "body": letter.body,
                "version": edit.version if edit is not None else None,
            }
        )
    context = {
        "patient": patient,
        "intake": record,
        "letter": letter,
        "form": form,
        "suggested": generated_body(letter),
        "actions": [r.action for r in Screening.model_validate(record.screening).referrals],
    }
    return render(request, "pages/referral_edit.html", context, status=status)


@clinic_view(roles=CLINICAL_ROLES)
def referral_letter(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The referral letter as a printable page."""
    return HttpResponse(_referral_html(request, patient, for_print=False))


@clinic_view(roles=CLINICAL_ROLES)
def referral_letter_pdf(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The referral letter as PDF."""
    pdf = html_to_pdf(_referral_html(request, patient, for_print=True))
    return _pdf(pdf, f"referral-{patient.record_number}.pdf")


urlpatterns: list[URLPattern] = [
    path(
        "patients/<int:patient_id>/intakes/<int:intake_id>/referral/edit/",
        referral_edit,
        name="referral-edit",
    ),
    path("patients/<int:patient_id>/report/", patient_report, name="patient-report"),
    path("patients/<int:patient_id>/report.pdf", patient_report_pdf, name="patient-report-pdf"),
    path("patients/<int:patient_id>/referral/", referral_letter, name="patient-referral"),
    path(
        "patients/<int:patient_id>/referral.pdf", referral_letter_pdf, name="patient-referral-pdf"
    ),
]
