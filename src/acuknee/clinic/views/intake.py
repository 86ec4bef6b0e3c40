"""Intake: the first-visit form, its immediate screening verdict, and a printable referral note.

A view parses the form (which validates through the core), stores the intake, its screening and
assessment and one measurement per answered instrument in one transaction, and shows the verdict.
Whether planning is allowed is the core's ``Screening.plan_allowed``; nothing here decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone

from acuknee.care.errors import InvalidRecord
from acuknee.care.patients import check_intake_against_patient
from acuknee.clinic.access import CLINICAL_ROLES, clinic_view
from acuknee.clinic.forms.intake import IntakeForm, IntakeResult, field_name, label_for
from acuknee.clinic.forms.plans import PlanStartForm, next_weekday
from acuknee.clinic.forms.voiding import VoidIntakeForm
from acuknee.clinic.models import IntakeRecord, Measurement, Patient
from acuknee.clinical import Assessment, Intake, Screening, load_knowledge
from acuknee.clinical.intake import UnansweredQuestion, unanswered_red_flags
from acuknee.clinical.knowledge import Source


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


def screening_of(record: IntakeRecord) -> Screening:
    return Screening.model_validate(record.screening)


@transaction.atomic
def store_intake(patient: Patient, user: Any, result: IntakeResult, visit: Any) -> IntakeRecord:
    """The intake and one measurement per answered instrument: all stored, or nothing."""
    record = IntakeRecord.objects.create(
        patient=patient,
        visit_date=visit,
        data=result.intake.model_dump(mode="json"),
        screening=result.screening.model_dump(mode="json"),
        assessment=result.assessment.model_dump(mode="json"),
        created_by=user,
    )
    for instrument, answers in result.answers.items():
        Measurement.objects.create(
            patient=patient,
            measured_on=visit,
            instrument=instrument,
            answers=answers,
            scores=result.scores[instrument].model_dump(mode="json"),
            origin=Measurement.Origin.CLINIC,
            created_by=user,
        )
    return record


@clinic_view(roles=CLINICAL_ROLES)
def intake_new(request: HttpRequest, patient: Patient) -> HttpResponse:
    if patient.is_voided:
        raise Http404("this patient record is voided")
    if request.method == "POST":
        form = IntakeForm(request.POST, patient=patient)
        if form.is_valid() and form.result is not None:
            try:
                check_intake_against_patient(patient, form.result.intake)
            except InvalidRecord as exc:
                form.add_error(field_name(exc.field or "") or None, exc.message)
            else:
                record = store_intake(
                    patient, request.user, form.result, form.cleaned_data["visit_date"]
                )
                return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)
    else:
        form = IntakeForm(patient=patient, initial={"visit_date": timezone.localdate()})
    return render(request, "clinic/intake_form.html", {"patient": patient, "form": form})


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
    """What the intake page and the referral letter show of the screening and assessment."""
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
        "unanswered_red_flags": unanswered,
        "planning_waits": screening.plan_allowed and bool(unanswered),
        "plan_allowed": screening.plan_allowed,
        "refusal_reasons": screening.refusal_reasons,
        "assessment_citations": citations(assessment.sources),
    }


def baseline_measurements(patient: Patient, record: IntakeRecord) -> Any:
    """The measurements recorded in clinic on the intake's visit date (its baseline), voided
    ones included: the page shows them marked as voided."""
    return (
        Measurement.objects.filter(
            patient=patient, measured_on=record.visit_date, origin=Measurement.Origin.CLINIC
        )
        .select_related("voided_by")
        .order_by("instrument", "id")
    )


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
    status: int = 200,
) -> HttpResponse:
    """The intake page: recorded findings, the screening verdict, the assessment, the baseline
    measurements and this intake's plans, with the form to propose a plan when allowed and the
    form to void the intake."""
    intake = Intake.model_validate(record.data)
    measurements = baseline_measurements(patient, record)
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
        **verdict_context(record),
    }
    return render(request, "clinic/intake_detail.html", context, status=status)


@clinic_view(roles=CLINICAL_ROLES)
def intake_detail(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    return intake_page(request, patient, intake_for(patient, intake_id))


@clinic_view(roles=CLINICAL_ROLES)
def referral_letter(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    """The intake's referral letter: the one letter acuknee writes (``acuknee.reports.referral``,
    also ``/patients/ID/referral/`` and its PDF), led by the urgency picture."""
    from acuknee.clinic.views.patient_reports import intake_referral_html

    intake_for(patient, intake_id)  # 404 for another patient's intake
    return HttpResponse(intake_referral_html(request, patient, intake_id))


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/intake/new/", intake_new, name="intake-new"),
    path("patients/<int:patient_id>/intakes/<int:intake_id>/", intake_detail, name="intake-detail"),
    path(
        "patients/<int:patient_id>/intakes/<int:intake_id>/referral/",
        referral_letter,
        name="intake-referral",
    ),
]
