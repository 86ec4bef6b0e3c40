"""Outcomes pages: record a reassessment visit, and show the response over the course (shaped
by ``acuknee.reports.outcomes``, which the progress report shares)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path

from acuknee.care import errors, services
from acuknee.clinic import answers
from acuknee.clinic.access import clinic_view
from acuknee.clinic.forms.measurements import MeasurementsForm, clinic_instruments
from acuknee.clinic.models import Patient
from acuknee.reports.outcomes import outcomes_context

# --- pages ---------------------------------------------------------------------------------------


@clinic_view()
def outcomes_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    return render(
        request, "clinic/outcomes.html", {"patient": patient, **outcomes_context(patient)}
    )


@clinic_view()
def outcomes_section(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The outcomes section alone (for htmx, when the patient page did not render it)."""
    context = {"patient": patient, **outcomes_context(patient)}
    return render(request, "clinic/_outcomes_section.html", context)


@clinic_view()
def measurement_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    """A reassessment visit: the intake's instruments, scored by the core, stored all or none."""
    instruments = clinic_instruments()
    if request.method != "POST":
        form = MeasurementsForm(instruments=instruments)
        return render(request, "clinic/measurement_form.html", {"patient": patient, "form": form})
    form = MeasurementsForm(request.POST, instruments=instruments)
    context = {"patient": patient, "form": form}
    if patient.is_voided:
        messages.error(request, "This patient record is voided: nothing can be recorded.")
        return render(request, "clinic/measurement_form.html", context, status=409)
    if not form.is_valid():
        return render(request, "clinic/measurement_form.html", context, status=400)
    try:
        stored = services.record_measurements(
            patient,
            request.user,
            form.visit_date,
            form.answers,
            scores=form.scores,
            origin=services.CLINIC,
        )
    except errors.CareError as exc:
        status = answers.on_form(form, exc, {"measured_on": "measured_on"})
        return render(request, "clinic/measurement_form.html", context, status=status)
    messages.success(
        request,
        f"Reassessment of {form.visit_date.isoformat()} saved ({len(stored)} instruments).",
    )
    return redirect("patient-outcomes", patient_id=patient.pk)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/outcomes/", outcomes_page, name="patient-outcomes"),
    path("patients/<int:patient_id>/outcomes/section/", outcomes_section, name="outcomes-section"),
    path("patients/<int:patient_id>/measurements/new/", measurement_new, name="measurement-new"),
]
