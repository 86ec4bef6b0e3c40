"""Patients: the list with search, registration, the details page, the patient page shell, and
voiding. Registration, edits and voids go through ``acuknee.care.patients``.

Everything is scoped to the user's clinic by ``clinic_view``. Front desk may list, search and
register patients and see a patient's header; the clinical sections are included only for
clinical roles (and their own views refuse front desk anyway).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.accounts.access import CLINICAL_ROLES, SCHEDULING_ROLES, clinic_view, staff_clinic
from acuknee.care.chart import chart_of
from acuknee.care.errors import InvalidRecord, LikelyDuplicate, PatientVoided, StaleEdit
from acuknee.care.patient_list import patient_page
from acuknee.care.patients import edit_patient, patient_changes, register_patient, void_patient
from acuknee.care.queries import intake_draft
from acuknee.forms.patients import PatientEditForm, PatientRegisterForm, PatientSearchForm
from acuknee.forms.voiding import VoidRecordForm
from acuknee.pages.views.schedule import appointments_context
from acuknee.pages.views.sessions import sessions_context
from acuknee.records.models import Patient
from acuknee.reports.outcomes import outcomes_context


@clinic_view(roles=SCHEDULING_ROLES)
def patient_list(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    show_voided = request.GET.get("voided") == "1"
    page, rows = patient_page(
        staff_clinic(request).pk,
        query=query,
        show_voided=show_voided,
        page=request.GET.get("page"),
        today=timezone.localdate(),
    )
    return render(
        request,
        "pages/patient_list.html",
        {
            "form": form,
            "query": query,
            "rows": rows,
            "page": page,
            "show_voided": show_voided,
            "patients": [r["patient"] for r in rows],
        },
    )


@clinic_view(roles=SCHEDULING_ROLES)
def patient_create(request: HttpRequest) -> HttpResponse:
    """Register through ``care.patients.register_patient``; likely duplicates are listed and
    the patient is saved only once the user confirms (409 until then)."""
    form = PatientRegisterForm(request.POST or None)
    duplicates: list[Any] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                patient = register_patient(
                    staff_clinic(request),
                    request.user,
                    form.details(),
                    confirm_duplicates=form.cleaned_data["confirm_duplicates"],
                )
            except LikelyDuplicate as exc:
                duplicates, status = exc.matches, 409
            except InvalidRecord as exc:
                form.add_problems(exc.problems)
            else:
                name = f"{patient.given_name} {patient.family_name}"
                messages.success(request, f"Patient {name} registered.")
                return redirect("patient-detail", patient_id=patient.pk)
    context = {"form": form, "duplicates": duplicates}
    return render(request, "pages/patient_form.html", context, status=status)


def _edit_page(
    request: HttpRequest, patient: Patient, form: PatientEditForm | None, status: int = 200
) -> HttpResponse:
    context = {
        "patient": patient,
        "form": None if patient.is_voided else form or PatientEditForm.opened(patient),
        "changes": patient_changes(patient),
    }
    return render(request, "pages/patient_edit.html", context, status=status)


@clinic_view(roles=SCHEDULING_ROLES)
def patient_edit(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The patient's details, editable (``care.patients.edit_patient``: the version the page
    was opened at, a reason for identity changes), and their change history."""
    if request.method != "POST":
        return _edit_page(request, patient, None)
    form = PatientEditForm(request.POST)
    if not form.is_valid():
        return _edit_page(request, patient, form, 400)
    try:
        edit_patient(
            patient,
            request.user,
            form.details(),
            version=form.cleaned_data["version"],
            reason=form.cleaned_data["reason"],
        )
    except (StaleEdit, PatientVoided) as exc:
        patient.refresh_from_db()
        form.add_error(None, exc.message)
        return _edit_page(request, patient, form, 409)
    except InvalidRecord as exc:
        form.add_problems(exc.problems)
        return _edit_page(request, patient, form, 400)
    messages.success(request, "Patient details saved.")
    return redirect("patient-detail", patient_id=patient.pk)


def _detail_context(request: HttpRequest, patient: Patient, **extra: Any) -> dict[str, Any]:
    """Every section reads the patient's records from one ``Chart`` (``care.chart``): each
    record set is read once per request, however many sections show it."""
    role = request.user.staff.role
    clinical = role in CLINICAL_ROLES
    chart = chart_of(patient)
    today = timezone.localdate()
    return {
        "patient": patient,
        "chart": chart,
        "status": chart.status(today),
        "last_visit": chart.last_visit,
        "today": today,
        "age": patient.age_on(today),
        "clinical": clinical,
        "void_form": VoidRecordForm(initial={"version": patient.version}),
        "intake_draft": intake_draft(patient, request.user) if clinical else None,
        "intake_draft_days": settings.ACUKNEE_INTAKE_DRAFT_DAYS,
        **appointments_context(chart),
        **(sessions_context(chart) if clinical else {}),
        **(outcomes_context(patient, chart=chart) if clinical else {}),
        **extra,
    }


@clinic_view(roles=SCHEDULING_ROLES)
def patient_detail(request: HttpRequest, patient: Patient) -> HttpResponse:
    return render(request, "pages/patient_detail.html", _detail_context(request, patient))


@require_POST
@clinic_view(roles=CLINICAL_ROLES)
def patient_void(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Void through ``care.patients.void_patient``: refused when the record changed since the
    page was opened (its ``version``)."""
    form = VoidRecordForm(request.POST)
    if patient.is_voided:
        messages.info(request, "This patient record was already voided.")
        return redirect("patient-detail", patient_id=patient.pk)
    if not form.is_valid():
        context = _detail_context(request, patient, void_form=form)
        return render(request, "pages/patient_detail.html", context, status=400)
    try:
        void_patient(
            patient,
            request.user,
            form.cleaned_data["reason"],
            version=form.cleaned_data["version"],
        )
    except (StaleEdit, PatientVoided, InvalidRecord) as exc:
        patient.refresh_from_db()
        form.add_error(None, exc.message)
        context = _detail_context(request, patient, void_form=form)
        return render(request, "pages/patient_detail.html", context, status=409)
    messages.success(request, "Patient record voided; it stays visible, marked as voided.")
    return redirect("patient-detail", patient_id=patient.pk)


urlpatterns: list[URLPattern] = [
    path("", patient_list, name="patient-list"),
    path("patients/new/", patient_create, name="patient-create"),
    path("patients/<int:patient_id>/", patient_detail, name="patient-detail"),
    path("patients/<int:patient_id>/details/", patient_edit, name="patient-edit"),
    path("patients/<int:patient_id>/void/", patient_void, name="patient-void"),
]
