"""Outcomes pages: record a reassessment visit, show the response over the course (shaped by
``acuknee.reports.outcomes``, which the progress report shares), and let the practitioner choose
which visit the course is measured from (``care.services.choose_baseline``) or go back to the
default, the intake's own measurements."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.care.chart import Chart, chart_of
from acuknee.care.queries import live, today
from acuknee.forms.baseline import BaselineForm
from acuknee.forms.measurements import MeasurementsForm, clinic_instruments
from acuknee.pages import answers
from acuknee.pages.views.intake import intake_for
from acuknee.records.models import Measurement, Patient
from acuknee.reports.outcomes import outcomes_context, trend_chart_svg

# --- pages ---------------------------------------------------------------------------------------

_DIGEST = re.compile(r"[0-9a-f]{64}")
"""A chart's name: the SHA-256 of what it is drawn from (``reports.chart_cache.digest``)."""

ORIGIN_WORDS = {Measurement.Origin.CLINIC: "clinic", Measurement.Origin.SELF_REPORT: "self-report"}


def measurement_dates(patient: Patient, chart: Chart | None = None) -> list[tuple[dt.date, str]]:
    """The dates a baseline may be chosen from: each date with a live measurement up to today,
    with who recorded it (clinic, self-report or both)."""
    origins: dict[dt.date, set[str]] = defaultdict(set)
    until = today()
    if chart is not None:
        pairs = {(m.measured_on, m.origin) for m in chart.live_measurements}
    else:
        rows = live(patient.measurements.all()).filter(measured_on__lte=until)
        pairs = set(rows.values_list("measured_on", "origin").distinct())
    for day, origin in pairs:
        if day <= until:
            origins[day].add(ORIGIN_WORDS.get(origin, origin))
    return [(day, " and ".join(sorted(origins[day]))) for day in sorted(origins)]


def _baseline_context(patient: Patient, chart: Chart) -> dict[str, Any]:
    """The baseline form for the latest live intake (none for a voided patient or before any
    intake): the dates to choose from, the current choice, and the version it is based on."""
    record = chart.latest_intake
    if record is None or patient.is_voided:
        return {}
    chosen = record.baseline_on.isoformat() if record.baseline_on else ""
    form = BaselineForm(
        initial={"version": record.version, "baseline_on": chosen},
        dates=measurement_dates(patient, chart),
    )
    return {"baseline_form": form, "baseline_intake": record}


def _outcomes(
    request: HttpRequest, patient: Patient, template: str, status: int = 200, **extra: Any
) -> HttpResponse:
    chart = chart_of(patient)  # the patient's records, read once for the page and its banner
    context = {"patient": patient, "chart": chart, **outcomes_context(patient, chart=chart)}
    context |= extra or _baseline_context(patient, chart)
    return render(request, template, context, status=status)


@clinic_view()
def outcomes_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    return _outcomes(request, patient, "pages/outcomes.html")


@clinic_view()
def outcomes_section(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The outcomes section alone (for htmx, when the patient page did not render it)."""
    return _outcomes(request, patient, "pages/_outcomes_section.html")


@require_GET
@clinic_view()
def trend_chart(request: HttpRequest, patient: Patient, digest: str) -> HttpResponse:
    """One trend chart the outcomes section linked because it was not drawn yet: drawn here, by
    its own request (audited as a read of the patient, like the page), so the page is not kept
    waiting for it; the next page shows it inline. 404 for a name none of the patient's charts
    has."""
    svg = trend_chart_svg(patient, digest) if _DIGEST.fullmatch(digest) else None
    if svg is None:
        raise Http404("no such chart for this patient")
    return HttpResponse(svg, content_type="image/svg+xml")


@require_POST
@clinic_view(roles=CLINICAL_ROLES)
def intake_baseline(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    """Choose the course's baseline visit on the intake (blank: back to the intake's own)."""
    record = intake_for(patient, intake_id)
    form = BaselineForm(request.POST, dates=measurement_dates(patient))
    status = 400
    if form.is_valid():
        day = form.cleaned_data["baseline_on"]
        try:
            services.choose_baseline(record, day, form.cleaned_data["version"])
        except errors.CareError as exc:
            record.refresh_from_db()
            status = answers.on_form(form, exc)
        else:
            said = f"the measurements of {day.isoformat()}" if day else "the intake's measurements"
            messages.success(request, f"Baseline changed: the course is now measured from {said}.")
            return redirect("patient-outcomes", patient_id=patient.pk)
    extra = {"baseline_form": form, "baseline_intake": record}
    return _outcomes(request, patient, "pages/outcomes.html", status, **extra)


@clinic_view()
def measurement_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    """A reassessment visit: the intake's instruments, scored by the core, stored all or none."""
    instruments = clinic_instruments()
    if request.method != "POST":
        form = MeasurementsForm(instruments=instruments)
        context = {"patient": patient, "form": form, "form_token": uuid.uuid4().hex}
        return render(request, "pages/measurement_form.html", context)
    form = MeasurementsForm(request.POST, instruments=instruments)
    token = str(request.POST.get("form_token", "")) or None
    context = {"patient": patient, "form": form, "form_token": token or uuid.uuid4().hex}
    if patient.is_voided:
        messages.error(request, "This patient record is voided: nothing can be recorded.")
        return render(request, "pages/measurement_form.html", context, status=409)
    if not form.is_valid():
        return render(request, "pages/measurement_form.html", context, status=400)
    try:
        stored = services.record_measurements(
            patient,
            request.user,
            form.visit_date,
            form.answers,
            scores=form.scores,
            origin=services.CLINIC,
            key=token,
        )
    except errors.DuplicateSubmission as exc:  # a double click: the first submit was saved
        messages.info(request, exc.message)
        return redirect("patient-outcomes", patient_id=patient.pk)
    except errors.CareError as exc:
        status = answers.on_form(form, exc, {"measured_on": "measured_on"})
        return render(request, "pages/measurement_form.html", context, status=status)
    messages.success(
        request,
        f"Reassessment of {form.visit_date.isoformat()} saved ({len(stored)} instruments).",
    )
    return redirect("patient-outcomes", patient_id=patient.pk)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/outcomes/", outcomes_page, name="patient-outcomes"),
    path("patients/<int:patient_id>/outcomes/section/", outcomes_section, name="outcomes-section"),
    path("patients/<int:patient_id>/charts/<str:digest>.svg", trend_chart, name="patient-chart"),
    path("patients/<int:patient_id>/measurements/new/", measurement_new, name="measurement-new"),
    path(
        "patients/<int:patient_id>/intakes/<int:intake_id>/baseline/",
        intake_baseline,
        name="intake-baseline",
    ),
]
