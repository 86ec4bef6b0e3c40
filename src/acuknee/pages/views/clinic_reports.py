"""The clinic's outcomes report and STRICTA methods, on screen and as PDF.

Who may open what, and why:

- the clinic outcomes report (``/reports/clinic/``) and a protocol's STRICTA methods: the
  clinical roles (practitioners and clinic admins). They are the clinic's own clinical results,
  with per-practitioner rates and groups small enough to point at one patient's outcome, so front
  desk (no clinical notes) is refused (403). Researchers are refused too: they belong to no clinic
  and see network aggregates with small cells suppressed (research pages), not one clinic's
  unsuppressed figures;
- a patient's STRICTA methods: the clinical roles, like every clinical page of the patient
  (another clinic's patient is a 404, from ``clinic_view``).

The page and the PDF render the same template (``for_print`` drops the on-screen controls).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view, staff_clinic
from acuknee.forms.base import Form
from acuknee.forms.widgets import IsoDateInput
from acuknee.records.models import Patient

REPORT_ROLES = CLINICAL_ROLES
"""Practitioners and clinic admins (see the module docstring for why no one else)."""


class ReportRangeForm(Form):
    """The period of the clinic report: both dates optional, the end not before the start."""

    start = forms.DateField(
        required=False,
        label="From",
        widget=IsoDateInput(),
        help_text="first session date counted (empty: from the first record)",
    )
    end = forms.DateField(
        required=False,
        label="To",
        widget=IsoDateInput(),
        help_text="last session date counted (empty: today)",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error(
                "end",
                f"The end date {end.isoformat()} is before the start date {start.isoformat()}.",
            )
        elif start and end is None and start > timezone.localdate():
            # the end defaults to today, which a start in the future would come after
            self.add_error(
                "start",
                f"The start date {start.isoformat()} is after today "
                f"({timezone.localdate().isoformat()}), where the report ends when no end date "
                "is given.",
            )
        return data


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _range(request: HttpRequest) -> tuple[ReportRangeForm, dt.date | None, dt.date | None]:
    form = ReportRangeForm(request.GET or None)
    if request.GET and form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    return form, None, None


@clinic_view(roles=REPORT_ROLES)
def clinic_report_page(request: HttpRequest) -> HttpResponse:
    """The clinic outcomes report on screen, with the date-range form and the PDF link."""
    from acuknee.reports.clinic_report import clinic_report, report_context

    clinic = staff_clinic(request)
    form, start, end = _range(request)
    context: dict[str, Any] = {"form": form, "clinic_name": clinic.name, "for_print": False}
    if form.is_bound and not form.is_valid():
        return render(request, "reports/clinic_report.html", context, status=400)
    report = clinic_report(clinic, start, end, today=timezone.localdate())
    query = {"start": start.isoformat() if start else "", "end": report.end.isoformat()}
    context |= report_context(report) | {"pdf_query": urlencode(query)}
    return render(request, "reports/clinic_report.html", context)


@clinic_view(roles=REPORT_ROLES)
def clinic_report_pdf(request: HttpRequest) -> HttpResponse:
    """The same report as PDF; a bad date range is a 400 naming the problem."""
    from acuknee.reports.clinic_report import clinic_report, render_print_html
    from acuknee.reports.progress import html_to_pdf

    clinic = staff_clinic(request)
    form, start, end = _range(request)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponse(
            f"Bad date range: {problems}", status=400, content_type="text/plain; charset=utf-8"
        )
    report = clinic_report(clinic, start, end, today=timezone.localdate())
    html = render_print_html(report)
    since = start.isoformat() if start else "all"
    return _pdf_response(html_to_pdf(html), f"clinic-{clinic.slug}-{since}-{report.end}.pdf")


def _stricta_page(
    request: HttpRequest, doc: Any, clinic_name: str, pdf_url: str, back: tuple[str, str] | None
) -> HttpResponse:
    context = {
        "doc": doc,
        "clinic_name": clinic_name,
        "pdf_url": pdf_url,
        "back_url": back[0] if back else None,
        "back_label": back[1] if back else None,
        "for_print": False,
    }
    return render(request, "reports/stricta_report.html", context)


def _stricta_pdf(doc: Any, clinic_name: str, filename: str) -> HttpResponse:
    from acuknee.reports.progress import html_to_pdf
    from acuknee.reports.stricta_report import render_stricta_html

    return _pdf_response(html_to_pdf(render_stricta_html(doc, clinic_name)), filename)


def _protocol_doc(request: HttpRequest, protocol_id: str) -> Any:
    from acuknee.reports.stricta_report import NothingToReport, protocol_stricta

    try:
        return protocol_stricta(staff_clinic(request), protocol_id, today=timezone.localdate())
    except NothingToReport as exc:
        raise Http404(str(exc)) from exc


def _patient_doc(patient: Patient) -> Any:
    from acuknee.reports.stricta_report import NothingToReport, patient_stricta

    try:
        return patient_stricta(patient, today=timezone.localdate())
    except NothingToReport as exc:
        raise Http404(str(exc)) from exc


@clinic_view(roles=REPORT_ROLES)
def protocol_stricta_page(request: HttpRequest, protocol_id: str) -> HttpResponse:
    doc = _protocol_doc(request, protocol_id)
    pdf = reverse("protocol-stricta-pdf", args=[protocol_id])
    back = (reverse("clinic-report"), "Clinic outcomes")
    return _stricta_page(request, doc, staff_clinic(request).name, pdf, back)


@clinic_view(roles=REPORT_ROLES)
def protocol_stricta_pdf(request: HttpRequest, protocol_id: str) -> HttpResponse:
    doc = _protocol_doc(request, protocol_id)
    return _stricta_pdf(doc, staff_clinic(request).name, f"stricta-{protocol_id}.pdf")


@clinic_view()
def patient_stricta_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    doc = _patient_doc(patient)
    pdf = reverse("patient-stricta-pdf", args=[patient.pk])
    back = (
        reverse("patient-detail", kwargs={"patient_id": patient.pk}),
        f"{patient.given_name} {patient.family_name}",
    )
    return _stricta_page(request, doc, patient.clinic.name, pdf, back)


@clinic_view()
def patient_stricta_pdf(request: HttpRequest, patient: Patient) -> HttpResponse:
    doc = _patient_doc(patient)
    return _stricta_pdf(doc, patient.clinic.name, f"stricta-{patient.record_number}.pdf")


urlpatterns: list[URLPattern] = [
    path("reports/clinic/", clinic_report_page, name="clinic-report"),
    path("reports/clinic.pdf", clinic_report_pdf, name="clinic-report-pdf"),
    path(
        "reports/stricta/protocol/<slug:protocol_id>/",
        protocol_stricta_page,
        name="protocol-stricta",
    ),
    path(
        "reports/stricta/protocol/<slug:protocol_id>.pdf",
        protocol_stricta_pdf,
        name="protocol-stricta-pdf",
    ),
    path("patients/<int:patient_id>/stricta/", patient_stricta_page, name="patient-stricta"),
    path("patients/<int:patient_id>/stricta.pdf", patient_stricta_pdf, name="patient-stricta-pdf"),
]
