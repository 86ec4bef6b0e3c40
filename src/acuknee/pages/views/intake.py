"""Intake: the first-visit form, its immediate screening verdict, and a printable referral note.

A view parses the form (which validates through the core) and asks the care layer to store the
intake, its screening and assessment and one measurement per answered instrument
(``care.services.record_intake``), then shows the verdict. Whether planning is allowed is the
care layer's ``planning_refusals`` (the screening, a referral still standing from any intake,
unanswered red-flag questions); nothing here decides it. A referral's outcome is recorded here
too (``referral_outcome``), and a new intake starts from the previous one's answers for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.care.queries import (
    baseline_measurements,
    latest_intake,
    live,
    planning_refusals,
    screening_of,
)
from acuknee.clinical import Assessment, Intake, Screening, load_knowledge
from acuknee.clinical.intake import UnansweredQuestion, unanswered_red_flags
from acuknee.clinical.knowledge import Source
from acuknee.forms.intake import IntakeForm, initial_from_intake, label_for
from acuknee.forms.plans import PlanStartForm, next_weekday
from acuknee.forms.voiding import VoidIntakeForm
from acuknee.pages import answers
from acuknee.records.models import IntakeRecord, Patient


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
    return get_object_or_404(IntakeRecord, pk=intake_id, patient=patient)


class ReferralOutcomeForm(forms.Form):
    """What came of a referral: who saw the patient, when, and whether acupuncture may go on."""

    seen_by = forms.CharField(label="Seen by (name and service)", max_length=200)
    seen_on = forms.DateField(
        label="Seen on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
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


@clinic_view(roles=CLINICAL_ROLES)
def intake_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    if patient.is_voided:
        raise Http404("this patient record is voided")
    status = 200
    previous = latest_intake(patient)
    if request.method == "POST":
        form = IntakeForm(request.POST, patient=patient)
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
                )
            except errors.CareError as exc:
                status = answers.on_form(form, exc)
            else:
                return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)
    else:
        form = IntakeForm(patient=patient, initial={"visit_date": timezone.localdate()})
        if previous is not None:  # the previous answers, for the practitioner to review
            form.initial.update(initial_from_intake(form, previous.data))
    context = {"patient": patient, "form": form, "previous": previous}
    return render(request, "pages/intake_form.html", context, status=status)


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


def unanswered_questions(record: IntakeRecord, screening: Screening) -> list[UnansweredQuestion]:
    """The red-flag questions not asked at this intake. A screening stored before the list was
    kept has no ``unanswered_red_flags`` key: the list is then read from the intake itself (the
    core's ``unanswered_red_flags``), so questions added since show as not recorded, never as
    answered."""
    if "unanswered_red_flags" in record.screening:
        return list(screening.unanswered_red_flags)
    return unanswered_red_flags(Intake.model_validate(record.data))


def verdict_context(record: IntakeRecord) -> dict[str, Any]:
    """What the intake page shows of the screening, the assessment, whether planning is
    allowed (``planning_refusals``) and the referral's recorded outcomes."""
    kb = load_knowledge()
    screening = screening_of(record)
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
    unanswered = [q.question for q in unanswered_questions(record, screening)]
    return {
        "screening": screening,
        "assessment": assessment,
        "referrals": referrals,
        "safety_findings": findings,
        "plan_allowed": not (refusals := planning_refusals(record.patient, record)),
        "refusal_reasons": refusals,
        "referral_outcomes": list(record.referral_outcomes.select_related("created_by")),
        "referral_open": record.refers
        and not live(record.referral_outcomes.all()).filter(cleared=True).exists(),
        "unanswered_red_flags": unanswered,
        "planning_waits": bool(unanswered),
        "assessment_citations": citations(assessment.sources),
    }


def _baseline(measurements: Any) -> list[dict[str, Any]]:
    """Each measurement's instrument and subscale names with the stored scores."""
    kb = load_knowledge()
    out = []
    for m in measurements:
        inst = kb.instruments.get(m.instrument)
        names = {s.id: s.name for s in inst.subscales} if inst else {}
        scores = [
            {"name": names.get(sid, sid), "value": sub.get("value"), "note": sub.get("note")}
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
    measurements = baseline_measurements(record)
    plans = list(record.plans.all())
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
        "plans": plans,
        "signed_plans": [p for p in plans if p.status == "signed" and not p.is_voided],
        "plan_form": plan_form,
        "void_form": void_form or VoidIntakeForm(initial={"version": record.version}),
        "outcome_form": outcome_form
        or ReferralOutcomeForm(initial={"seen_on": timezone.localdate()}),
        **verdict_context(record),
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
