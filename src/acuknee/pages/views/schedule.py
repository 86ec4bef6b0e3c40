"""The course's appointments: the signed plan's visits with their booked time, booking that time
(``care.services.book_visit_time``: one time of day for every visit, in the clinic's time zone),
and the schedule as an iCalendar file (``pages.ics``).

Front desk books and sends appointments, so every view here is open to the scheduling roles;
nothing here shows a clinical note (the visits' kind, number, date and time only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.accounts.access import SCHEDULING_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.care.chart import Chart
from acuknee.care.queries import signed_plan
from acuknee.care.status import visit_states
from acuknee.clinical import Plan
from acuknee.forms.base import Form
from acuknee.pages import answers
from acuknee.pages.ics import CalendarEvent, ics_calendar
from acuknee.records.models import Patient, PlanRecord

# --- booking the visits' time --------------------------------------------------------------------


class VisitTimeForm(Form):
    """The time of day every visit is booked at (blank: unbook) and how long each lasts."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    visit_time = forms.TimeField(
        label="Time of each visit",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    visit_minutes = forms.IntegerField(
        label="Minutes per visit", required=False, min_value=5, max_value=240
    )


@dataclass(frozen=True)
class Appointment:
    kind: str
    number: int
    date: dt.date
    start: dt.datetime | None
    state: str


def appointments_context(chart: Chart) -> dict[str, Any]:
    """Context for ``pages/_appointments_section.html`` under ``appointments`` (empty without
    a signed plan): the visits still ahead with their booked time, and the booking form."""
    record, plan = chart.signed_plan, chart.signed_content
    if record is None or plan is None:
        return {"appointments": None}
    today = timezone.localdate()
    sessions = sum(1 for s in chart.sessions_until(today) if s.plan_id == record.pk)
    last_measured = chart.last_measured(until=today)
    states = visit_states(
        plan, record.start_date, sessions_done=sessions, last_measured=last_measured, today=today
    )
    zone = chart.patient.clinic.zone
    ahead = [
        Appointment(
            v.kind,
            v.number,
            v.date,
            dt.datetime.combine(v.date, record.visit_time, tzinfo=zone)
            if record.visit_time is not None
            else None,
            v.state,
        )
        for v in states
        if v.state == "planned"
    ]
    form = VisitTimeForm(
        initial={
            "version": record.version,
            "visit_time": record.visit_time,
            "visit_minutes": record.visit_minutes or 45,
        }
    )
    return {
        "appointments": {
            "record": record,
            "ahead": ahead,
            "form": form,
            "zone": zone.key,
        }
    }


@require_POST
@clinic_view(roles=SCHEDULING_ROLES)
def book_visit_time(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Book (or unbook) the time of the signed plan's visits."""
    record = signed_plan(patient)
    if record is None:
        raise Http404("no signed plan")
    form = VisitTimeForm(request.POST)
    back = reverse("patient-detail", args=[patient.pk]) + "#appointments"
    if not form.is_valid():
        problems = "; ".join(f"{form[f].label}: {' '.join(e)}" for f, e in form.errors.items())
        messages.error(request, f"The visit time was not booked: {problems}")
        return redirect(back)
    try:
        services.book_visit_time(
            record,
            at=form.cleaned_data["visit_time"],
            minutes=form.cleaned_data["visit_minutes"],
            version=form.cleaned_data["version"],
        )
    except errors.CareError as exc:
        answers.flash(request, exc)
        return redirect(back)
    at = form.cleaned_data["visit_time"]
    messages.success(
        request,
        f"Visits booked at {at:%H:%M} ({patient.clinic.zone.key})."
        if at
        else "Visit time unbooked: the calendar shows all-day visits.",
    )
    return redirect(back)


# --- the course schedule as iCalendar (RFC 5545) -------------------------------------------------


def schedule_events(record: PlanRecord, plan: Plan) -> list[CalendarEvent]:
    """One event per planned visit, at the plan's booked time in the clinic's time zone, or
    all day while no time is booked. No patient name: a calendar file leaves the clinic."""
    clinic = record.patient.clinic
    zone = clinic.zone
    total = plan.number_of_sessions or sum(1 for v in plan.schedule if v.kind == "session")
    contact = ", ".join(x for x in (clinic.name, clinic.phone) if x)
    events = []
    for visit in plan.schedule:
        if visit.kind == "session":
            summary = f"Acupuncture session {visit.number} of {total}"
        else:
            summary = f"Knee reassessment {visit.number} (week {visit.week})"
        start = None
        if record.visit_time is not None and record.visit_minutes:
            start = dt.datetime.combine(visit.date, record.visit_time, tzinfo=zone)
        else:
            summary += " (time to be booked)"
        events.append(
            CalendarEvent(
                uid=f"plan-{record.pk}-{visit.kind}-{visit.number}@acuknee",
                day=visit.date,
                summary=summary,
                description=f"{summary}. {contact}".strip(),
                start=start,
                minutes=record.visit_minutes or 0,
            )
        )
    return events


@clinic_view(roles=SCHEDULING_ROLES)
def schedule_ics(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The signed plan's visits as a calendar file: the front desk books and sends it too."""
    record = signed_plan(patient)
    if record is None:
        raise Http404("no signed plan")
    plan = Plan.model_validate(record.content)
    body = ics_calendar(
        schedule_events(record, plan), timezone.now(), f"Knee acupuncture, {patient.clinic.name}"
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="schedule-{patient.pk}.ics"'
    return response


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/schedule.ics", schedule_ics, name="schedule-ics"),
    path("patients/<int:patient_id>/schedule/time/", book_visit_time, name="visit-time"),
]
