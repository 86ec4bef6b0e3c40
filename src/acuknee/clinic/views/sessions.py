"""Treatment sessions: log one pre-filled from the signed plan, edit it (optimistic locking),
void it with a reason, and download the course schedule as an iCalendar file.

The view parses the page into the core's ``SessionRecord`` (``forms.sessions``), stores it as a
``TreatmentSession`` and renders; the record's rules live in ``acuknee.clinical.sessions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.clinic.access import clinic_view
from acuknee.clinic.forms.sessions import SessionEntry, initial_from_plan, initial_from_record
from acuknee.clinic.ics import CalendarEvent, ics_calendar
from acuknee.clinic.models import Patient, PlanRecord, StaleEdit, TreatmentSession
from acuknee.clinical import Plan, Screening, SessionRecord, load_knowledge
from acuknee.clinical.session_check import SessionProblem, check_session


class VoidSessionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for voiding", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


def signed_plan(patient: Patient) -> PlanRecord | None:
    """The patient's current signed plan (the latest signed, not voided)."""
    return (
        patient.plans.filter(status=PlanRecord.Status.SIGNED, voided_at__isnull=True)
        .order_by("-signed_at", "-id")
        .first()
    )


def session_problems(plan: PlanRecord, record: SessionRecord) -> list[SessionProblem]:
    """The core's check of a session against its signed plan and the patient's screening (the
    plan's intake): unknown point codes, blocked points or methods the plan did not override.
    Every write path (this page, the API, the CSV import) asks it before storing."""
    screening = plan.intake.screening
    return check_session(
        record,
        Plan.model_validate(plan.content),
        Screening.model_validate(screening) if screening else None,
        load_knowledge(),
    )


def next_number(patient: Patient) -> int:
    """The next session number: one more than the highest session that is not voided."""
    top = patient.sessions.filter(voided_at__isnull=True).aggregate(n=Max("number"))["n"]
    return (top or 0) + 1


def _practitioner(request: HttpRequest) -> str:
    return str(request.user.get_username())


def _page(
    request: HttpRequest,
    patient: Patient,
    entry: SessionEntry,
    *,
    plan: PlanRecord | None,
    session: TreatmentSession | None = None,
    status: int = 200,
    void_form: VoidSessionForm | None = None,
) -> HttpResponse:
    context = {
        "patient": patient,
        "entry": entry,
        "plan": plan,
        "plan_content": Plan.model_validate(plan.content) if plan else None,
        "session": session,
        "number": session.number if session else next_number(patient),
        "void_form": void_form
        or (VoidSessionForm(initial={"version": session.version}) if session else None),
    }
    return render(request, "clinic/session_form.html", context, status=status)


@clinic_view()
def session_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    plan = signed_plan(patient)
    refusal = None
    if patient.is_voided:
        refusal = "This patient record is voided: no session can be logged."
    elif plan is None:
        refusal = "This patient has no signed plan: sign a plan before logging a session."
    if refusal is not None:
        entry = SessionEntry()
        entry.problems.append(refusal)
        return _page(request, patient, entry, plan=None, status=409)
    assert plan is not None
    initial = initial_from_plan(Plan.model_validate(plan.content))
    if request.method != "POST":
        return _page(request, patient, SessionEntry(initial=initial), plan=plan)
    entry = SessionEntry(
        request.POST,
        initial={"hints": initial["hints"]},  # the plan's depth and angle, beside each point
        practitioner_id=_practitioner(request),
    )
    with transaction.atomic():
        number = next_number(patient)
        if not entry.is_valid(number, check=lambda record: session_problems(plan, record)):
            return _page(request, patient, entry, plan=plan, status=400)
        assert entry.record is not None
        TreatmentSession.objects.create(
            patient=patient,
            plan=plan,
            number=number,
            session_date=entry.record.date,
            data=entry.record.model_dump(mode="json"),
            created_by=request.user,
        )
    messages.success(request, f"Session {number} saved.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")


def _session(patient: Patient, session_id: int) -> TreatmentSession:
    return get_object_or_404(TreatmentSession, pk=session_id, patient=patient)


@clinic_view()
def session_edit(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    session = _session(patient, session_id)
    record = SessionRecord.model_validate(session.data)
    if request.method != "POST" or session.is_voided:
        entry = SessionEntry(initial=initial_from_record(record, session.version))
        if session.is_voided and request.method == "POST":
            entry.problems.append("A voided session cannot be edited.")
            return _page(request, patient, entry, plan=session.plan, session=session, status=409)
        return _page(request, patient, entry, plan=session.plan, session=session)
    entry = SessionEntry(
        request.POST, practitioner_id=record.practitioner_id or _practitioner(request)
    )
    if not entry.is_valid(
        session.number, check=lambda checked: session_problems(session.plan, checked)
    ):
        return _page(request, patient, entry, plan=session.plan, session=session, status=400)
    assert entry.record is not None
    expected = entry.session.cleaned_data.get("version")
    session.data = entry.record.model_dump(mode="json")
    session.session_date = entry.record.date
    try:
        session.save_versioned(expected if expected is not None else -1, ["data", "session_date"])
    except StaleEdit as exc:
        entry.problems.append(str(exc))
        fresh = _session(patient, session_id)
        return _page(request, patient, entry, plan=fresh.plan, session=fresh, status=409)
    messages.success(request, f"Session {session.number} updated.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")


@require_POST
@clinic_view()
def session_void(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    session = _session(patient, session_id)
    form = VoidSessionForm(request.POST)
    record = SessionRecord.model_validate(session.data)
    entry = SessionEntry(initial=initial_from_record(record, session.version))
    if session.is_voided:
        messages.info(request, f"Session {session.number} was already voided.")
        return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")
    if not form.is_valid():
        return _page(
            request, patient, entry, plan=session.plan, session=session, status=400, void_form=form
        )
    if form.cleaned_data["version"] != session.version:
        entry.problems.append(str(StaleEdit("this session was changed by someone else")))
        return _page(request, patient, entry, plan=session.plan, session=session, status=409)
    try:
        session.void(request.user, form.cleaned_data["reason"])
    except StaleEdit as exc:
        entry.problems.append(str(exc))
        return _page(request, patient, entry, plan=session.plan, session=session, status=409)
    messages.success(request, f"Session {session.number} voided; it stays visible as voided.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")


# --- the course schedule as iCalendar (RFC 5545) -------------------------------------------------


def schedule_events(record: PlanRecord, plan: Plan) -> list[CalendarEvent]:
    """One event per planned visit. No patient name: a calendar file leaves the clinic."""
    clinic = record.patient.clinic
    total = plan.number_of_sessions or sum(1 for v in plan.schedule if v.kind == "session")
    contact = ", ".join(x for x in (clinic.name, clinic.phone) if x)
    events = []
    for visit in plan.schedule:
        if visit.kind == "session":
            summary = f"Acupuncture session {visit.number} of {total}"
        else:
            summary = f"Knee reassessment {visit.number} (week {visit.week})"
        events.append(
            CalendarEvent(
                uid=f"plan-{record.pk}-{visit.kind}-{visit.number}@acuknee",
                day=visit.date,
                summary=summary,
                description=f"{summary}. {contact}".strip(),
            )
        )
    return events


@clinic_view()
def schedule_ics(request: HttpRequest, patient: Patient) -> HttpResponse:
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


# --- the section on the patient page -------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    session: TreatmentSession
    record: SessionRecord


def sessions_context(patient: Patient) -> dict[str, Any]:
    """Context for ``clinic/_sessions_section.html``, under the key ``sessions_section``."""
    plan = signed_plan(patient)
    content = Plan.model_validate(plan.content) if plan else None
    rows = [
        SessionRow(s, SessionRecord.model_validate(s.data))
        for s in patient.sessions.order_by("session_date", "number", "id")
    ]
    attended = sum(1 for r in rows if not r.session.is_voided)
    planned = content.number_of_sessions if content else None
    return {
        "sessions_section": {
            "patient": patient,
            "plan": plan,
            "plan_content": content,
            "rows": rows,
            "attended": attended,
            "planned": planned,
        }
    }


@clinic_view()
def sessions_section(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The sessions section alone (for htmx, when the patient page did not render it)."""
    context = {"patient": patient, **sessions_context(patient)}
    return render(request, "clinic/_sessions_section.html", context)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/sessions/new/", session_new, name="session-new"),
    path(
        "patients/<int:patient_id>/sessions/<int:session_id>/edit/",
        session_edit,
        name="session-edit",
    ),
    path(
        "patients/<int:patient_id>/sessions/<int:session_id>/void/",
        session_void,
        name="session-void",
    ),
    path("patients/<int:patient_id>/sessions/section/", sessions_section, name="sessions-section"),
    path("patients/<int:patient_id>/schedule.ics", schedule_ics, name="schedule-ics"),
]
