"""Plans: propose (the core's ``plan``), edit with recorded overrides, sign, void.

A plan is proposed only when the care layer allows it (``care.queries.planning_refusals``: the
screening, a referral still standing, unanswered red flags); the core's answer is stored as both
``proposed`` and ``content`` (``care.services.propose_plan``). Edits, signing and voiding go
through the care services with the version the page was opened at: a stale one is refused with
the user's input kept on the page. A signed plan is read-only; it can be voided with a reason
and a new plan proposed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.care.queries import affected_side, plan_shown, planning_refusals, screening_of
from acuknee.clinical import Plan, load_knowledge
from acuknee.forms.plans import (
    PlanEditForm,
    PlanStartForm,
    VersionForm,
    VoidForm,
)
from acuknee.pages import answers
from acuknee.pages.views.intake import Citation, citations, intake_for, intake_page
from acuknee.pages.views.reference import diagram_context
from acuknee.records.models import Patient, PlanRecord
from acuknee.reports.stricta_report import short_citation, split_sources


def plan_for(patient: Patient, plan_id: int) -> PlanRecord:
    """The patient's plan, or 404."""
    return get_object_or_404(PlanRecord, pk=plan_id, patient=patient)


def _to_detail(record: PlanRecord) -> HttpResponse:
    return redirect("plan-detail", patient_id=record.patient_id, plan_id=record.pk)


@clinic_view(roles=CLINICAL_ROLES)
def plan_new(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    """Propose a plan from an intake; refused while planning is not allowed."""
    record = intake_for(patient, intake_id)
    if planning_refusals(patient, record):
        messages.error(request, "No plan can be proposed from this intake.")
        return intake_page(request, patient, record, status=409)
    if request.method != "POST":
        return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)
    form = PlanStartForm(request.POST)
    if not form.is_valid():
        return intake_page(request, patient, record, plan_form=form, status=400)
    try:
        created = services.propose_plan(record, request.user, form.cleaned_data["start"])
    except errors.CareError as exc:
        if isinstance(exc, errors.InvalidRecord):
            return intake_page(
                request, patient, record, plan_form=form, status=answers.on_form(form, exc)
            )
        messages.error(request, "No plan can be proposed from this intake.")
        return intake_page(request, patient, record, status=answers.status_of(exc))
    return _to_detail(created)


def _point_rows(content: Plan) -> list[dict[str, Any]]:
    kb = load_knowledge()
    rows = []
    for p in content.points:
        point = kb.points.get(p.code)
        rows.append(
            {
                "point": p,
                "name": f"{point.pinyin} ({point.english})" if point else "",
                "location": point.location if point else "",
            }
        )
    return rows


def _edits(proposed: Plan, content: Plan) -> list[str]:
    """What the practitioner changed from the proposal, in words (no judgement, just a diff)."""
    before = {(p.code, p.side.value) for p in proposed.points}
    after = {(p.code, p.side.value) for p in content.points}
    lines = [f"Added {c} ({s})" for c, s in sorted(after - before)]
    lines += [f"Removed {c} ({s})" for c, s in sorted(before - after)]
    for name in ("method", "sessions_per_week", "number_of_sessions", "retention_minutes", "start"):
        old, new = getattr(proposed, name), getattr(content, name)
        if old != new:
            label = name.replace("_", " ")
            lines.append(f"Changed {label} from {_word(old)} to {_word(new)}")
    return lines


def _word(value: Any) -> str:
    return str(getattr(value, "value", value))


def rationale_parts(text: str, listed: list[Citation]) -> tuple[str, list[dict[str, Any]]]:
    """The rationale without its closing "Sources: id1, id2." sentence, and those sources as
    links to the page's numbered source list (short citation and number), so a practitioner
    never reads a raw source id. An id the knowledge base lacks is shown as it is."""
    rest, ids = split_sources(text)
    numbers = {c.id: n for n, c in enumerate(listed, start=1)}
    sources = load_knowledge().sources
    cites = []
    for sid in ids:
        source = sources.get(sid)
        short = short_citation(source) if source is not None else sid
        cites.append({"id": sid, "short": short, "number": numbers.get(sid)})
    return rest, cites


def plan_context(record: PlanRecord) -> dict[str, Any]:
    content = Plan.model_validate(record.content)
    sources = citations(content.sources)
    rationale, rationale_cites = rationale_parts(content.rationale or "", sources)
    proposed = Plan.model_validate(record.proposed)
    changes = [
        {
            "change": c,
            "action": c.action.replace("_", " ").capitalize(),
            "citations": citations(c.sources),
        }
        for c in content.changes
    ]
    return {
        "plan_record": record,
        "content": content,
        "points": _point_rows(content),
        "changes": changes,
        "edits": _edits(proposed, content),
        "sources": sources,
        "rationale": rationale,
        "rationale_cites": rationale_cites,
        "editable": record.status == PlanRecord.Status.DRAFT and not record.is_voided,
        "sessions": [v for v in content.schedule if v.kind == "session"],
    }


@clinic_view(roles=CLINICAL_ROLES)
def plan_detail(request: HttpRequest, patient: Patient, plan_id: int) -> HttpResponse:
    record = plan_shown(patient, plan_id)
    if record is None:
        raise Http404("no such plan")
    context = {
        "patient": patient,
        **plan_context(record),
        **diagram_context(record.content),
        "sign_form": VersionForm(initial={"version": record.version}),
        "void_form": VoidForm(initial={"version": record.version}),
    }
    return render(request, "pages/plan_detail.html", context)


@clinic_view(roles=CLINICAL_ROLES)
def plan_edit(request: HttpRequest, patient: Patient, plan_id: int) -> HttpResponse:
    record = plan_for(patient, plan_id)
    if record.status != PlanRecord.Status.DRAFT or record.is_voided:
        messages.error(request, "Only a draft plan can be edited; propose a new plan instead.")
        return _to_detail(record)
    content = Plan.model_validate(record.content)
    screening = screening_of(record.intake)
    side = affected_side(record.intake)
    status = 200
    if request.method == "POST":
        form = PlanEditForm(request.POST, content=content, screening=screening, side=side)
        if form.is_valid() and form.new_content is not None:
            try:
                services.edit_plan(
                    record,
                    content=form.new_content,
                    start=form.cleaned_data["start"],
                    overrides=form.overrides(by=request.user.get_username(), at=timezone.now()),
                    version=form.cleaned_data["version"],
                )
            except errors.CareError as exc:
                status = answers.on_form(form, exc)
            else:
                messages.success(request, "Plan saved.")
                return _to_detail(record)
        else:
            status = 400
    else:
        form = PlanEditForm(
            initial=PlanEditForm.initial_for(content, record.version),
            content=content,
            screening=screening,
            side=side,
        )
    context = {"patient": patient, "plan_record": record, "content": content, "form": form}
    return render(request, "pages/plan_edit.html", context, status=status)


@clinic_view(roles=CLINICAL_ROLES)
@require_POST
def plan_sign(request: HttpRequest, patient: Patient, plan_id: int) -> HttpResponse:
    record = plan_for(patient, plan_id)
    form = VersionForm(request.POST)
    if record.status != PlanRecord.Status.DRAFT or record.is_voided:
        messages.error(request, "Only a draft plan can be signed.")
    elif not form.is_valid():
        messages.error(request, "The plan could not be signed: reload the page and try again.")
    else:
        try:
            services.sign_plan(record, request.user, form.cleaned_data["version"])
        except errors.CareError as exc:
            answers.flash(request, exc)
        else:
            messages.success(request, "Plan signed.")
    return _to_detail(record)


@clinic_view(roles=CLINICAL_ROLES)
@require_POST
def plan_void(request: HttpRequest, patient: Patient, plan_id: int) -> HttpResponse:
    record = plan_for(patient, plan_id)
    form = VoidForm(request.POST)
    if record.is_voided:
        messages.error(request, "This plan is already voided.")
    elif not form.is_valid() or not form.cleaned_data["reason"].strip():
        messages.error(request, "Give a reason to void the plan.")
    else:
        try:
            services.void_plan(
                record, request.user, form.cleaned_data["reason"], form.cleaned_data.get("version")
            )
        except errors.CareError as exc:
            answers.flash(request, exc)
        else:
            messages.success(request, "Plan voided.")
    return _to_detail(record)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/intakes/<int:intake_id>/plan/", plan_new, name="plan-new"),
    path("patients/<int:patient_id>/plans/<int:plan_id>/", plan_detail, name="plan-detail"),
    path("patients/<int:patient_id>/plans/<int:plan_id>/edit/", plan_edit, name="plan-edit"),
    path("patients/<int:patient_id>/plans/<int:plan_id>/sign/", plan_sign, name="plan-sign"),
    path("patients/<int:patient_id>/plans/<int:plan_id>/void/", plan_void, name="plan-void"),
]
