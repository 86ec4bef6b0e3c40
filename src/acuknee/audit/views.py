"""The audit log page for clinic admins: filter, page through, and export as CSV.

An admin sees their own clinic's events: those of its staff, and any request that named one of
its patients (an anonymous visitor's, or another clinic's user's attempt). Viewing and exporting
are themselves audited (the middleware records ``/audit/`` requests).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from acuknee.accounts.access import clinic_view, staff_clinic
from acuknee.accounts.reauth import confirm_first
from acuknee.audit.models import Action, AuditEvent
from acuknee.records.ids import storable_pk
from acuknee.records.models import Clinic, Patient, Role

PAGE_SIZE = 50
ADMIN_ROLES = {Role("clinic_admin")}
CSV_COLUMNS = [
    "at",
    "user_id",
    "username",
    "role",
    "clinic_id",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "subject_user_id",
    "subject_username",
    "ip",
    "user_agent",
    "method",
    "path",
    "status",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditFilter(forms.Form):
    """The filters, from the query string; an empty field does not filter."""

    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    patient = forms.CharField(
        required=False, max_length=50, help_text="Record number or patient id."
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *Action.choices], required=False)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        users = get_user_model().objects.filter(staff__clinic=clinic).order_by("username")
        user_field = self.fields["user"]
        assert isinstance(user_field, forms.ModelChoiceField)
        user_field.queryset = users
        user_field.empty_label = "Anyone"

    def clean_patient(self) -> Patient | None:
        given = self.cleaned_data["patient"].strip()
        if not given:
            return None
        patients = Patient.objects.filter(clinic=self.clinic)
        found = patients.filter(record_number=given).first()
        pk = storable_pk(given) if found is None else None
        if pk is not None:
            found = patients.filter(pk=pk).first()
        if found is None:
            raise forms.ValidationError(f"No patient of this clinic has the record number {given}.")
        return found

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


def clinic_events(clinic: Clinic) -> QuerySet[AuditEvent]:
    """The clinic's events: its staff's, and any request that named one of its patients."""
    patients = Patient.objects.filter(clinic=clinic).values("pk")
    return AuditEvent.objects.filter(Q(clinic_id=clinic.pk) | Q(patient_id__in=patients))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered(events: QuerySet[AuditEvent], form: AuditFilter) -> QuerySet[AuditEvent]:
    """``events`` narrowed by a valid filter form."""
    data = form.cleaned_data
    if data.get("user") is not None:
        events = events.filter(user_id=data["user"].pk)
    if data.get("patient") is not None:
        events = events.filter(patient_id=data["patient"].pk)
    if data.get("action"):
        events = events.filter(action=data["action"])
    if data.get("date_from"):
        events = events.filter(at__gte=_day_start(data["date_from"]))
    if data.get("date_to") and data["date_to"] < dt.date.max:  # the last day ends nothing
        events = events.filter(at__lt=_day_start(data["date_to"] + dt.timedelta(days=1)))
    return events.order_by("-at", "-id")


def _form(request: HttpRequest) -> tuple[AuditFilter, QuerySet[AuditEvent]]:
    clinic = staff_clinic(request)
    form = AuditFilter(request.GET or None, clinic=clinic)
    events = clinic_events(clinic)
    if form.is_bound and form.is_valid():
        return form, filtered(events, form)
    if form.is_bound:
        return form, events.none()
    return form, events.order_by("-at", "-id")


@require_safe  # the log is read-only: no method here changes anything
@clinic_view(roles=ADMIN_ROLES)
def event_list(request: HttpRequest) -> HttpResponse:
    form, events = _form(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/events.html",
        {"form": form, "page": page, "events": page.object_list, "query": query.urlencode()},
    )


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header, then one line per event, read from the database in chunks."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in events.values_list(*CSV_COLUMNS).iterator(chunk_size=2000):
        yield writer.writerow([_cell(v) for v in row])


@require_safe
@clinic_view(roles=ADMIN_ROLES)
@confirm_first
def event_export(request: HttpRequest) -> HttpResponse:
    form, events = _form(request)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "audit/events.html",
            {"form": form, "page": None, "events": [], "query": ""},
            status=400,
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
