"""Treatment sessions: log one pre-filled from the last session (the first from the signed plan,
with the patient's informed consent), sign it on saving, amend it with a reason (optimistic
locking; the amendments are listed on its page), void it with a reason (the course schedule as
an iCalendar file: ``views.schedule``).

The view parses the page into the core's ``SessionRecord`` (``forms.sessions``), stores it as a
``TreatmentSession`` and renders; the record's rules live in ``acuknee.clinical.sessions``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST
from markupsafe import Markup

from acuknee.accounts.access import clinic_view
from acuknee.care import errors, services
from acuknee.care.chart import Chart, ChartSession, chart_of
from acuknee.care.queries import (
    SessionBrief,
    SessionSetting,
    affected_side,
    current_consent,
    next_session_number,
    on_plan,
    pain_trend,
    session_problems,
    session_setting,
)
from acuknee.clinical import Plan, SessionRecord
from acuknee.clinical.consent import Consent
from acuknee.forms.base import Form
from acuknee.forms.sessions import (
    AmendmentForm,
    ConsentForm,
    SessionEntry,
    initial_from_last,
    initial_from_plan,
    initial_from_record,
)
from acuknee.kept import Kept
from acuknee.pages import answers
from acuknee.pages.templating import kept_render
from acuknee.records.models import Patient, PlanRecord, TreatmentConsent, TreatmentSession


class VoidSessionForm(Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for voiding", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


def _practitioner(request: HttpRequest) -> str:
    return str(request.user.get_username())


@dataclass(frozen=True)
class Previous:
    """The last live session, shown beside the form: its note and what was needled."""

    session: SessionBrief
    record: SessionRecord


def _previous(session: TreatmentSession | None, setting: SessionSetting | None) -> Previous | None:
    """For a new session (whose page reads ``session_setting``), the last one; a stored
    session's page shows the trend only."""
    if session is not None or setting is None or setting.last is None:
        return None
    assert setting.last_record is not None
    return Previous(setting.last, setting.last_record)


def _page(
    request: HttpRequest,
    patient: Patient,
    entry: SessionEntry,
    *,
    plan: PlanRecord | None,
    session: TreatmentSession | None = None,
    status: int = 200,
    void_form: VoidSessionForm | None = None,
    form_token: str | None = None,
    consent_form: ConsentForm | None = None,
    amend_form: AmendmentForm | None = None,
    setting: SessionSetting | None = None,
) -> HttpResponse:
    """``setting``: the new session's page read it already (``session_setting``)."""
    if setting is not None:
        number = setting.next_number
        consent = setting.consent
        trend = setting.pain_trend
        content = setting.plan_content if plan is not None else None
    else:
        number = session.number if session else next_session_number(patient)
        consent = current_consent(patient)
        trend = pain_trend(patient)
        content = Plan.model_validate(plan.content) if plan else None
    context = {
        "patient": patient,
        "entry": entry,
        "plan": plan,
        "plan_content": content,
        "session": session,
        "number": session.number if session else number,
        "form_token": form_token or uuid.uuid4().hex,
        "void_form": void_form
        or (VoidSessionForm(initial={"version": session.version}) if session else None),
        "consent_form": consent_form,
        "consent": consent,
        "amend_form": amend_form or (AmendmentForm() if session else None),
        "amendments": list(session.amendments.select_related("amended_by")) if session else [],
        "previous": _previous(session, setting),
        "pain_trend": trend,
        "chart": setting,  # the patient's intakes, read once for the form and its banner
        "entry_fields": entry_fields(entry) if plan is not None else "",  # the form needs one
    }
    return render(request, "pages/session_form.html", context, status=status)


ENTRY_FIELDS = "pages/_session_entry.html"
_NEW_ENTRIES: Kept[Any, Markup] = Kept(128)
"""Entries not bound to data as printed, by their content (``SessionEntry.printed_as``): 24-49 kB
each for the demo's sessions (35 kB on average), so at most about 6 MB a worker; a day's next
sessions are new keys (the date is in them), and yesterday's are forgotten first."""


def entry_fields(entry: SessionEntry) -> Markup:
    """The entry's fields, points, pairs, events and note (``pages/_session_entry.html``). An
    entry not bound to data prints the same whenever its initial data are the same (the next
    session of the patients on one protocol, or of one patient opened again), so that print is
    kept by its content: a new session's page neither makes its 111 rows nor prints them again
    (issue 15). A posted entry (its answers, its errors) is printed afresh."""
    context = {"entry": entry}
    if entry.is_bound:
        return Markup(get_template(ENTRY_FIELDS).render(context))
    return kept_render(_NEW_ENTRIES, ENTRY_FIELDS, context, entry.printed_as)


def _side(plan: PlanRecord | None) -> str | None:
    side = affected_side(plan.intake) if plan is not None else None
    return side.value if side is not None else None


def _initial(setting: SessionSetting) -> dict[str, Any]:
    """The new session's form: from the last live session when there is one, else the plan."""
    content = setting.plan_content
    assert content is not None
    last = setting.last_record
    if last is None:
        return initial_from_plan(content)
    return initial_from_last(last, content)


def _care_problems(entry: SessionEntry, consent: ConsentForm | None, exc: errors.CareError) -> None:
    """A care refusal on the form: consent errors on the consent fields, the rest on top."""
    if isinstance(exc, errors.ConsentMissing | errors.InvalidRecord) and consent is not None:
        rest = [(f, m) for f, m in exc.problems if not consent.place(f, m)]
        if not rest:
            return
    entry.problems += answers.lines(exc)


@clinic_view()
def session_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The patient's records are read once (``session_setting``: on a POST under the patient's
    lock, in the request's transaction) and the form is checked with what the care service
    then stores the session by, so the save reads nothing twice."""
    setting = session_setting(patient, records=request.method != "POST")
    plan = setting.plan
    standing = setting.standing
    refusal = None
    if patient.is_voided:
        refusal = "This patient record is voided: no session can be logged."
    elif plan is None:
        refusal = "This patient has no signed plan: sign a plan before logging a session."
    elif standing is not None:
        refusal = (
            f"The referral of the intake of {standing.visit_date.isoformat()} stands until its "
            "outcome is recorded: no session can be logged."
        )
    if refusal is not None:
        entry = SessionEntry()
        entry.problems.append(refusal)
        return _page(request, patient, entry, plan=None, status=409, setting=setting)
    assert plan is not None
    asks_consent = setting.needs_consent
    if request.method != "POST":
        entry = SessionEntry(initial=_initial(setting), side=_side(plan))
        consent_form = ConsentForm() if asks_consent else None
        return _page(request, patient, entry, plan=plan, consent_form=consent_form, setting=setting)
    token = str(request.POST.get("form_token", "")) or None
    entry = SessionEntry(request.POST, practitioner_id=_practitioner(request), side=_side(plan))
    consent_form = ConsentForm(request.POST) if asks_consent else None
    consent = consent_form.consent() if consent_form is not None else None
    valid = entry.is_valid(setting.next_number, check=setting.problems)
    if not valid or (consent_form is not None and consent is None):
        entry.show_hints(_initial(setting)["hints"])  # the page is shown again
        return _page(
            request,
            patient,
            entry,
            plan=plan,
            status=400,
            form_token=token,
            consent_form=consent_form,
            setting=setting,
        )
    assert entry.record is not None
    try:
        stored = services.record_session(
            patient,
            request.user,
            entry.record,
            submission_key=token,
            consent=consent,
            setting=setting,
        )
    except errors.DuplicateSubmission as exc:
        messages.info(request, exc.message)
        return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")
    except errors.CareError as exc:
        _care_problems(entry, consent_form, exc)
        entry.show_hints(_initial(setting)["hints"])
        status = answers.status_of(exc)
        return _page(
            request,
            patient,
            entry,
            plan=plan,
            status=status,
            form_token=token,
            consent_form=consent_form,
            setting=setting,
        )
    for line in entry.corrections:
        messages.info(request, f"Point code {line}.")
    messages.success(request, f"Session {stored.number} saved and signed.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")


def _session(patient: Patient, session_id: int) -> TreatmentSession:
    return get_object_or_404(TreatmentSession, pk=session_id, patient=patient)


@clinic_view()
def session_edit(request: HttpRequest, patient: Patient, session_id: int) -> HttpResponse:
    """A signed session: shown with its signature and amendments; a POST is an amendment,
    which needs a reason."""
    session = _session(patient, session_id)
    record = SessionRecord.model_validate(session.data)
    if request.method != "POST" or session.is_voided:
        entry = SessionEntry(
            initial=initial_from_record(record, session.version), side=_side(session.plan)
        )
        if session.is_voided and request.method == "POST":
            entry.problems.append("A voided session cannot be amended.")
            return _page(request, patient, entry, plan=session.plan, session=session, status=409)
        return _page(request, patient, entry, plan=session.plan, session=session)
    entry = SessionEntry(
        request.POST,
        practitioner_id=record.practitioner_id or _practitioner(request),
        side=_side(session.plan),
    )
    amend_form = AmendmentForm(request.POST)
    valid = entry.is_valid(
        session.number, check=lambda checked: session_problems(session.plan, checked)
    )
    if not amend_form.is_valid() or not valid:
        return _page(
            request,
            patient,
            entry,
            plan=session.plan,
            session=session,
            status=400,
            amend_form=amend_form,
        )
    assert entry.record is not None
    expected = entry.session.cleaned_data.get("version")
    try:
        services.amend_session(
            session, request.user, entry.record, amend_form.cleaned_data["amend_reason"], expected
        )
    except errors.CareError as exc:
        if exc.field == "reason":
            amend_form.add_error("amend_reason", exc.message)
        else:
            entry.problems += answers.lines(exc)
        fresh = _session(patient, session_id)
        status = answers.status_of(exc)
        return _page(
            request,
            patient,
            entry,
            plan=fresh.plan,
            session=fresh,
            status=status,
            amend_form=amend_form,
        )
    for line in entry.corrections:
        messages.info(request, f"Point code {line}.")
    fresh = _session(patient, session_id)
    messages.success(request, f"Session {fresh.number} amended; the signed original is kept.")
    return redirect(reverse("session-edit", args=[patient.pk, session_id]))


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
    try:
        services.void(
            session, request.user, form.cleaned_data["reason"], form.cleaned_data["version"]
        )
    except errors.CareError as exc:
        entry.problems += answers.lines(exc)
        status = answers.status_of(exc)
        return _page(request, patient, entry, plan=session.plan, session=session, status=status)
    messages.success(request, f"Session {session.number} voided; it stays visible as voided.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#sessions")


# --- the section on the patient page -------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    session: ChartSession
    record: SessionRecord


def _risk_labels(consent: TreatmentConsent | None) -> list[str]:
    if consent is None:
        return []
    return [k.label for k in Consent.model_validate(consent.data).risks_explained]


LATEST_SESSIONS = 10
"""How many sessions the patient page lists, the latest ones: every session, each record read
and printed, cost the page more with every session of the history (issue 15); the sessions page
(``session_list``) lists them all, ``SESSIONS_PER_PAGE`` at a time."""

SESSIONS_PER_PAGE = 50


def _rows(chart: Chart, sessions: list[ChartSession]) -> list[SessionRow]:
    return [
        SessionRow(s, r) for s, r in zip(sessions, chart.session_records(sessions), strict=True)
    ]


def sessions_context(chart: Chart) -> dict[str, Any]:
    """Context for ``pages/_sessions_section.html``, under the key ``sessions_section``: the
    latest ``LATEST_SESSIONS`` sessions, voided ones included, with their records."""
    plan, content = chart.signed_plan, chart.signed_content
    listed = chart.sessions[-LATEST_SESSIONS:]
    consent = chart.consent
    kept = chart.live_sessions
    attended = len(on_plan(kept, plan))
    planned = content.number_of_sessions if content else None
    last = kept[-1] if kept else None
    return {
        "sessions_section": {
            "patient": chart.patient,
            "plan": plan,
            "plan_content": content,
            "rows": _rows(chart, listed),
            "count": len(chart.sessions),
            "attended": attended,
            "planned": planned,
            "earlier": len(kept) - attended,
            "logged": len(kept),
            "last": SessionRow(last, chart.session_record(last)) if last is not None else None,
            "voided": len(chart.sessions) - len(kept),
            "consent": consent,
            "consent_risks": _risk_labels(consent),
        }
    }


@clinic_view()
def sessions_section(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The sessions section alone (for htmx, when the patient page did not render it)."""
    context = {"patient": patient, **sessions_context(chart_of(patient))}
    return render(request, "pages/_sessions_section.html", context)


@clinic_view()
def session_list(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Every session of the patient, voided ones included, in date order, a page at a time
    (``?page=``: Django's ``get_page``, a number, else the first or the last page)."""
    chart = chart_of(patient)  # the patient's records, read once for the page and its banner
    page = Paginator(chart.sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "patient": patient,
        "chart": chart,
        "page": page,
        "rows": _rows(chart, list(page.object_list)),
        "voided": len(chart.sessions) - len(chart.live_sessions),
    }
    return render(request, "pages/session_list.html", context)


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
    path("patients/<int:patient_id>/sessions/", session_list, name="session-list"),
]
