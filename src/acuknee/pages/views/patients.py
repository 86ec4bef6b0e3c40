"""Patients: the list with search, registration, the details page, the patient page shell, and
voiding. Registration, edits and voids go through ``acuknee.care.patients``.

Everything is scoped to the user's clinic by ``clinic_view``. Front desk may list, search and
register patients and see a patient's header; the clinical sections are included only for
clinical roles (and their own views refuse front desk anyway).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.accounts.access import CLINICAL_ROLES, SCHEDULING_ROLES, clinic_view, staff_clinic
from acuknee.care.chart import chart_of
from acuknee.care.errors import InvalidRecord, LikelyDuplicate, PatientVoided, StaleEdit
from acuknee.care.patients import edit_patient, patient_changes, register_patient, void_patient
from acuknee.care.queries import intake_draft, live
from acuknee.care.queries import search_patients as search
from acuknee.care.status import attach_overviews, latest, patient_status, with_status_facts
from acuknee.forms.patients import PatientEditForm, PatientRegisterForm, PatientSearchForm
from acuknee.forms.voiding import VoidRecordForm
from acuknee.pages.views.schedule import appointments_context
from acuknee.pages.views.sessions import sessions_context
from acuknee.records.models import IntakeRecord, Patient, TreatmentSession
from acuknee.records.prepared import Prepared
from acuknee.reports.outcomes import outcomes_context

PAGE_SIZE = 50


def with_overview(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate the last visit dates and the facts ``patient_status`` reads, as subqueries:
    a page of patients costs the same queries however many records each one has (the latest
    intake and the signed plan are then fetched by id, see ``attach_overviews``)."""
    return with_status_facts(patients).annotate(
        last_intake=latest(IntakeRecord, "visit_date"),
        last_session=latest(TreatmentSession, "session_date"),
        last_measurement=F("status_last_measured"),
    )


def last_visit(patient: Patient) -> dt.date | None:
    """The latest of intake, session and measurement dates (annotated by ``with_overview``)."""
    days = [
        getattr(patient, name, None) for name in ("last_intake", "last_session", "last_measurement")
    ]
    known = [d for d in days if d is not None]
    return max(known) if known else None


def _clinic_patients(show_voided: bool, clinic_id: int) -> QuerySet[Patient]:
    patients = Patient.objects.filter(clinic_id=clinic_id)
    return patients if show_voided else live(patients)


def _listed(show_voided: bool, clinic_id: int) -> QuerySet[Patient]:
    return with_overview(_clinic_patients(show_voided, clinic_id))


def _listed_count(show_voided: bool, clinic_id: int) -> QuerySet[Patient]:
    rows = _clinic_patients(show_voided, clinic_id).values("clinic_id")  # one group: the clinic
    return rows.annotate(n=Count("pk")).values_list("n")


def _listed_page(show_voided: bool, offset: int, clinic_id: int) -> QuerySet[Patient]:
    return _listed(show_voided, clinic_id)[offset : offset + PAGE_SIZE]


# The list without a search, the one the front desk opens all day, as prepared reads
# (``records.prepared``): building and compiling its status annotations cost more than running
# them (issue 15). A search is a query of its own shape and goes through the ORM.
LISTED_COUNT = Prepared(_listed_count, example_shape=(False,), clinic_id=int)
LISTED_PAGE = Prepared(_listed_page, example_shape=(False, 0), clinic_id=int)


class _PreparedPages:
    """The clinic's patients as Django's ``Paginator`` reads them: a count, then one slice."""

    def __init__(self, clinic_id: int, show_voided: bool) -> None:
        self.clinic_id, self.show_voided = clinic_id, show_voided

    def count(self) -> int:
        found = LISTED_COUNT.rows(shape=(self.show_voided,), clinic_id=self.clinic_id)
        return int(found[0][0]) if found else 0

    def __getitem__(self, window: slice) -> list[Patient]:
        start = window.start or 0
        rows = LISTED_PAGE.rows(shape=(self.show_voided, start), clinic_id=self.clinic_id)
        return rows[: window.stop - start] if window.stop is not None else rows


@clinic_view(roles=SCHEDULING_ROLES)
def patient_list(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    show_voided = request.GET.get("voided") == "1"
    clinic = staff_clinic(request)
    patients: Any = _PreparedPages(clinic.pk, show_voided)
    if query.strip():
        patients = with_overview(search(_clinic_patients(show_voided, clinic.pk), query))
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    attach_overviews(page.object_list)
    today = timezone.localdate()
    rows = [
        {"patient": p, "last_visit": last_visit(p), "status": patient_status(p, today)}
        for p in page.object_list
    ]
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
