"""Intake: the first-visit form, its immediate screening verdict, and a printable referral note.

A view parses the form (which validates through the core) and asks the care layer to store the
intake, its screening and assessment and one measurement per answered instrument
(``care.services.record_intake``), then shows the verdict.

The form is asked in steps (``forms.intake.STEPS``), one page each, server side: each step's
answers go into the practitioner's draft for this patient (``IntakeDraft``, through the care
layer), so the browser may be closed between steps and the intake resumed. "Next" checks the
whole form so far and stops on an error in this step or an earlier one; "Save intake" checks
everything and shows the first step in error. A POST without a ``step`` is the whole form at
once (``?step=all`` shows it on one page; scripts and tests post it), saved or refused as one.

Whether planning is allowed is the care layer's ``planning_refusals`` (the screening, a
referral still standing from any intake, unanswered red-flag questions); nothing here decides
it. A referral's outcome is recorded here too (``referral_outcome``), and a new intake starts
from the previous one's answers for review (red-flag questions asked again: HAZ-84).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.care.queries import (
    LatestIntakeRead,
    baseline_rows,
    intake_draft,
    intake_plans,
    intake_shown,
    latest_intake,
    latest_intake_read,
    planning_refusals,
    referral_cleared,
    referral_outcomes,
    screening_of,
    standing_referrals,
)
from acuknee.clinical import Assessment, Intake, Screening, load_knowledge
from acuknee.clinical.intake import UnansweredQuestion, unanswered_red_flags
from acuknee.clinical.knowledge import Source
from acuknee.clinical.numbers import format_number
from acuknee.forms.base import Form
from acuknee.forms.intake import (
    STEPS,
    IntakeForm,
    Step,
    as_query,
    initial_from_intake,
    label_for,
    previous_answers,
    step_named,
)
from acuknee.forms.plans import PlanStartForm, next_weekday
from acuknee.forms.voiding import VoidIntakeForm
from acuknee.forms.widgets import IsoDateInput
from acuknee.pages import answers
from acuknee.records.models import IntakeDraft, IntakeRecord, Patient


@dataclass
class Citation:
    id: str
    citation: str
    url: str | None


def citations(ids: list[str]) -> list[Citation]:
    """Source ids resolved to their citations in the knowledge base (unknown ids kept as is)."""
    sources: dict[str, Source] = load_knowledge().sources
    out = []
    for sid in dict.fromkeys(ids):
        src = sources.get(sid)
        out.append(Citation(sid, src.citation if src else sid, src.url if src else None))
    return out


def intake_for(patient: Patient, intake_id: int) -> IntakeRecord:
    """The patient's intake record, or 404 (the patient is already scoped to the clinic)."""
    record = intake_shown(patient, intake_id)
    if record is None:
        raise Http404("no such intake for this patient")
    return record


class ReferralOutcomeForm(Form):
    """What came of a referral: who saw the patient, when, and whether acupuncture may go on."""

    seen_by = forms.CharField(label="Seen by (name and service)", max_length=200)
    seen_on = forms.DateField(label="Seen on", widget=IsoDateInput())
    cleared = forms.TypedChoiceField(
        label="Outcome",
        choices=[
            ("no", "Not cleared: no acupuncture for now"),
            ("yes", "Cleared: acupuncture may go ahead"),
        ],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


ALL = "all"
"""``?step=all``: every step on one page, saved at once."""


def _fresh_form(patient: Patient, previous: IntakeRecord | None) -> IntakeForm:
    """The form as first opened: today's date, and a repeat intake's carried answers."""
    form = IntakeForm(patient=patient, initial={"visit_date": timezone.localdate()})
    if previous is not None:  # the previous answers, for the practitioner to review
        history = {name: getattr(previous, name) for name in services.HISTORY_FIELDS}
        elapsed = (timezone.localdate() - previous.visit_date).days
        form.initial.update(
            initial_from_intake(form, previous.data, history, elapsed_days=max(elapsed, 0))
        )
    return form


def _hint_previous(form: IntakeForm, previous: IntakeRecord | None) -> None:
    """Beside each question not carried over, what the previous intake recorded."""
    if previous is None:
        return
    for name, hint in previous_answers(form, previous.data, previous.visit_date).items():
        form.fields[name].help_text = hint


def _step_url(patient: Patient, step: str) -> str:
    return f"{reverse('intake-new', kwargs={'patient_id': patient.pk})}?step={step}"


def _render(
    request: HttpRequest,
    patient: Patient,
    form: IntakeForm,
    step: Step | None,
    *,
    previous: IntakeRecord | None,
    draft: IntakeDraft | None,
    status: int = 200,
) -> HttpResponse:
    """One step of the intake (``step``), or every step on one page (``None``)."""
    _hint_previous(form, previous)
    index = STEPS.index(step) if step is not None else None
    shown = [step] if step is not None else list(STEPS)
    context = {
        "patient": patient,
        "form": form,
        "previous": previous,
        "draft": draft,
        "step": step,
        "steps": STEPS,
        "step_number": (index or 0) + 1,
        "is_first": index == 0,
        "is_last": index is None or index == len(STEPS) - 1,
        "step_after": STEPS[index + 1] if index is not None and index + 1 < len(STEPS) else None,
        "pages": [
            {
                "step": s,
                "sections": form.step_sections(s),
                "measures": form.measure_fields() if "measures" in s.sections else [],
            }
            for s in shown
        ],
        "summary": form.error_summary(step) if form.is_bound else [],
        "all_url": _step_url(patient, ALL),
        "chart": LatestIntakeRead(patient, previous),  # the banner's latest intake, read here
    }
    return render(request, "pages/intake_form.html", context, status=status)


class _Earlier:
    """The patient's latest intake and the user's intake draft, each read when first needed:
    a whole form that is saved needs neither (the care service reads what it needs)."""

    def __init__(self, patient: Patient, user: Any) -> None:
        self.patient, self.user = patient, user

    @cached_property
    def previous(self) -> IntakeRecord | None:
        return latest_intake(self.patient)

    @cached_property
    def draft(self) -> IntakeDraft | None:
        return intake_draft(self.patient, self.user)


@clinic_view(roles=CLINICAL_ROLES)
def intake_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The intake form, one step per page with a saved draft (or all at once: ``?step=all``)."""
    if patient.is_voided:
        raise Http404("this patient record is voided")
    earlier = _Earlier(patient, request.user)
    if request.method == "POST":
        return _intake_post(request, patient, earlier)
    previous, draft = earlier.previous, earlier.draft
    wanted = request.GET.get("step") or (draft.step if draft else STEPS[0].slug)
    step = None if wanted == ALL else (step_named(wanted) or STEPS[0])
    if draft is not None and request.GET.get("check"):
        form = IntakeForm(as_query(draft.data), patient=patient)
        form.is_valid()
        return _render(request, patient, form, step, previous=previous, draft=draft)
    form = _fresh_form(patient, previous)
    if draft is not None:
        form.initial.update(form.initial_from_data(draft.data))
    return _render(request, patient, form, step, previous=previous, draft=draft)


def _intake_post(request: HttpRequest, patient: Patient, earlier: _Earlier) -> HttpResponse:
    """One step's answers into the draft, then next, back, later, or save; or the whole form."""
    slug = request.POST.get("step")
    action = request.POST.get("action", "")
    if slug is None:  # the whole form at once
        form = IntakeForm(request.POST, patient=patient)
        return _save(request, patient, form, None, earlier=earlier)
    step = step_named(slug)
    if step is None:
        return HttpResponse(f"Unknown intake step {slug!r}.", status=400)
    if action == "discard":
        services.discard_intake_draft(patient, request.user)
        messages.success(request, "The intake draft was discarded.")
        return redirect("patient-detail", patient_id=patient.pk)
    draft = earlier.draft
    data = (
        dict(draft.data)
        if draft is not None
        else _fresh_form(patient, earlier.previous).data_of_initial()
    )
    shape = IntakeForm(patient=patient)
    for name in shape.fields_of(step):
        data[name] = request.POST.getlist(name)
    form = IntakeForm(as_query(data), patient=patient)
    index = STEPS.index(step)
    goto = step_named(request.POST.get("goto"))
    if action == "back" or goto is not None:
        target = goto or STEPS[max(index - 1, 0)]
        services.save_intake_draft(patient, request.user, target.slug, data)
        return redirect(_step_url(patient, target.slug))
    if action == "later":
        services.save_intake_draft(patient, request.user, step.slug, data)
        messages.success(
            request,
            f"Intake draft saved at step {index + 1} ({step.title}): resume it within "
            f"{settings.ACUKNEE_INTAKE_DRAFT_DAYS} days; after that it is deleted.",
        )
        return redirect("patient-detail", patient_id=patient.pk)
    if action == "save" or index == len(STEPS) - 1:
        return _save(request, patient, form, step, earlier=earlier, data=data)
    form.is_valid()
    blocking = [s for s in form.error_steps() if STEPS.index(s) <= index]
    if blocking:
        services.save_intake_draft(patient, request.user, step.slug, data)
        shown = blocking[0]
        return _render(request, patient, form, shown, previous=earlier.previous, draft=draft)
    following = STEPS[index + 1]
    services.save_intake_draft(patient, request.user, following.slug, data)
    return redirect(_step_url(patient, following.slug))


def _save(
    request: HttpRequest,
    patient: Patient,
    form: IntakeForm,
    step: Step | None,
    *,
    earlier: _Earlier,
    data: dict[str, list[str]] | None = None,
) -> HttpResponse:
    """Record the intake if the whole form is valid; else show the first step in error (or
    the whole form again), the error summary listing every error."""
    status = 200
    if form.is_valid() and form.result is not None:
        result = form.result
        try:
            record = services.record_intake(
                patient,
                request.user,
                visit=form.cleaned_data["visit_date"],
                intake=result.intake,
                screening=result.screening,
                assessment=result.assessment,
                answers=result.answers,
                scores=result.scores,
                history={name: form.cleaned_data[name] for name in services.HISTORY_FIELDS},
            )
        except errors.CareError as exc:
            status = answers.on_form(form, exc)
        else:
            return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)
    previous, draft = earlier.previous, earlier.draft
    if step is None:
        return _render(request, patient, form, None, previous=previous, draft=draft, status=status)
    shown = next(iter(form.error_steps()), step)
    if data is not None:
        draft = services.save_intake_draft(patient, request.user, shown.slug, data)
    return _render(request, patient, form, shown, previous=previous, draft=draft, status=status)


def _recorded(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The findings that differ from the defaults, as (label, value) lines for the page."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _recorded(value, f"{path}.")
        elif isinstance(value, list):
            items = [
                f"{v['region']} ({v['side']})" if isinstance(v, dict) else str(v) for v in value
            ]
            out.append((label_for(path), ", ".join(items)))
        elif isinstance(value, bool):
            out.append((label_for(path), "yes" if value else "no"))
        else:
            out.append((label_for(path), str(value)))
    return out


def unanswered_questions(
    record: IntakeRecord, screening: Screening, intake: Intake | None = None
) -> list[UnansweredQuestion]:
    """The red-flag questions not asked at this intake. A screening stored before the list was
    kept has no ``unanswered_red_flags`` key: the list is then read from the intake itself (the
    core's ``unanswered_red_flags``), so questions added since show as not recorded, never as
    answered."""
    if "unanswered_red_flags" in record.screening:
        return list(screening.unanswered_red_flags)
    return unanswered_red_flags(intake or Intake.model_validate(record.data))


def verdict_context(record: IntakeRecord, intake: Intake | None = None) -> dict[str, Any]:
    """What the intake page shows of the screening, the assessment, whether planning is
    allowed (``planning_refusals``) and the referral's recorded outcomes. ``intake``: the
    record's, when the caller has read it already."""
    kb = load_knowledge()
    screening = screening_of(record)
    intake = intake or Intake.model_validate(record.data)
    assessment = Assessment.model_validate(record.assessment)
    referrals = [
        {
            "referral": r,
            "findings": [label_for(f) for f in r.findings],
            "citations": citations(r.sources),
            "blocks": r.urgency.blocks_plan,
        }
        for r in screening.referrals
    ]
    findings = [
        {
            "finding": f,
            "findings": [label_for(x) for x in f.findings],
            "citations": citations(f.sources),
            "warn_points": f.warn_points,
            "blocked_points": [
                f"{b.code} ({b.side.value})" for b in f.blocked_points if b.code in kb.points
            ],
        }
        for f in screening.findings
    ]
    unanswered = [q.question for q in unanswered_questions(record, screening, intake)]
    outcomes = referral_outcomes(record)
    standing = standing_referrals(record.patient)  # the banner shows them too
    refusals = planning_refusals(
        record.patient, record, intake=intake, screening=screening, referrals=standing
    )
    return {
        "chart": latest_intake_read(record.patient, standing),
        "screening": screening,
        "assessment": assessment,
        "referrals": referrals,
        "safety_findings": findings,
        "plan_allowed": not refusals,
        "refusal_reasons": refusals,
        "referral_outcomes": outcomes,
        "referral_open": record.refers and not referral_cleared(outcomes),
        "unanswered_red_flags": unanswered,
        "planning_waits": bool(unanswered),
        "assessment_citations": citations(assessment.sources),
    }


def story(record: IntakeRecord) -> list[tuple[str, str]]:
    """The intake's free-text history, (label, text) for each field filled in."""
    return [
        (label, text)
        for name, label in services.HISTORY_FIELDS.items()
        if (text := getattr(record, name))
    ]


def _baseline(measurements: Any) -> list[dict[str, Any]]:
    """Each measurement's instrument and subscale names with the stored scores."""
    kb = load_knowledge()
    out = []
    for m in measurements:
        inst = kb.instruments.get(m.instrument)
        known = {s.id: s for s in inst.subscales} if inst else {}
        scores = [
            {
                "name": known[sid].name if sid in known else sid,
                "value": format_number(
                    sub.get("value"), known[sid].decimals if sid in known else 1
                ),
                "note": sub.get("note"),
            }
            for sid, sub in m.scores.get("subscales", {}).items()
        ]
        out.append(
            {"name": inst.name if inst else m.instrument, "scores": scores, "measurement": m}
        )
    return out


def intake_page(
    request: HttpRequest,
    patient: Patient,
    record: IntakeRecord,
    *,
    plan_form: PlanStartForm | None = None,
    void_form: VoidIntakeForm | None = None,
    outcome_form: ReferralOutcomeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The intake page: recorded findings, the screening verdict, the assessment, the baseline
    measurements and this intake's plans, with the form to propose a plan when allowed and the
    form to void the intake."""
    intake = Intake.model_validate(record.data)
    measurements = baseline_rows(record)
    plans = intake_plans(record)
    if plan_form is None:
        plan_form = PlanStartForm(initial={"start": next_weekday(timezone.localdate())})
    context = {
        "patient": patient,
        "record": record,
        "intake": intake,
        "recorded": _recorded(
            intake.model_dump(mode="json", exclude_defaults=True, exclude={"baseline"})
        ),
        "baseline": _baseline(measurements),
        "story": story(record),
        "plans": plans,
        "signed_plans": [p for p in plans if p.status == "signed" and not p.is_voided],
        "plan_form": plan_form,
        "void_form": void_form or VoidIntakeForm(initial={"version": record.version}),
        "outcome_form": outcome_form
        or ReferralOutcomeForm(initial={"seen_on": timezone.localdate()}),
        **verdict_context(record, intake),
    }
    return render(request, "pages/intake_detail.html", context, status=status)


@clinic_view(roles=CLINICAL_ROLES)
def intake_detail(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    return intake_page(request, patient, intake_for(patient, intake_id))


@clinic_view(roles=CLINICAL_ROLES)
def referral_letter(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    """The intake's referral letter: the one letter acuknee writes (``acuknee.reports.referral``,
    also ``/patients/ID/referral/`` and its PDF), led by the urgency picture."""
    from acuknee.pages.views.patient_reports import intake_referral_html

    intake_for(patient, intake_id)  # 404 for another patient's intake
    return HttpResponse(intake_referral_html(request, patient, intake_id))


@require_POST
@clinic_view(roles=CLINICAL_ROLES)
def referral_outcome(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    """Record what came of the intake's referral; a clearing outcome lifts it."""
    record = intake_for(patient, intake_id)
    form = ReferralOutcomeForm(request.POST)
    if not form.is_valid():
        return intake_page(request, patient, record, outcome_form=form, status=400)
    try:
        outcome = services.resolve_referral(record, request.user, **form.cleaned_data)
    except errors.CareError as exc:
        status = answers.on_form(form, exc)
        return intake_page(request, patient, record, outcome_form=form, status=status)
    messages.success(
        request,
        "Referral outcome recorded: "
        + ("acupuncture may go ahead." if outcome.cleared else "the referral still stands."),
    )
    return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/intake/new/", intake_new, name="intake-new"),
    path("patients/<int:patient_id>/intakes/<int:intake_id>/", intake_detail, name="intake-detail"),
    path(
        "patients/<int:patient_id>/intakes/<int:intake_id>/referral-outcome/",
        referral_outcome,
        name="referral-outcome",
    ),
    path(
        "patients/<int:patient_id>/intakes/<int:intake_id>/referral/",
        referral_letter,
        name="intake-referral",
    ),
]
