"""Voiding an intake or a measurement entered in error: never deleted, kept visible as voided.

Both views take a POST with the record's ``version`` (read when the page was opened) and a
required reason; a record changed since then is refused (``StaleEdit``), as for plans and
sessions. Voided records stay on their pages, marked with who voided them, when and why, and
every computation that reads "current" records skips them: the patient's status
(``care/status.py``), the outcomes course (``care.queries.course_of``), and the baseline date.
The acts themselves are the care layer's (``care.services.void_intake``, ``care.services.void``).

An intake that a signed plan was built on is not voided while that plan stands: the plan, and
the sessions logged against it, would then rest on a screening nobody vouches for. The
practitioner voids the plan first (with its own reason; its sessions stay recorded), then the
intake. Draft and refused proposals of the intake are voided with it, in the same transaction,
because they could otherwise still be signed from a screening that is no longer current. The
intake's baseline measurements (same day, recorded in clinic) are voided only when asked: they
may be right even when the intake form was not.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from acuknee.accounts.access import CLINICAL_ROLES, clinic_view
from acuknee.care import errors, services
from acuknee.clinical import load_knowledge
from acuknee.forms.voiding import VoidIntakeForm, VoidRecordForm
from acuknee.pages import answers
from acuknee.pages.views.intake import intake_for, intake_page
from acuknee.records.models import Measurement, Patient

# --- intake ---------------------------------------------------------------------------------------


@require_POST
@clinic_view(roles=CLINICAL_ROLES)
def intake_void(request: HttpRequest, patient: Patient, intake_id: int) -> HttpResponse:
    record = intake_for(patient, intake_id)
    if record.is_voided:
        messages.info(request, "This intake was already voided.")
        return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)
    form = VoidIntakeForm(request.POST)
    if not form.is_valid():
        return intake_page(request, patient, record, void_form=form, status=400)
    try:
        drafts, baseline = services.void_intake(
            record,
            request.user,
            form.cleaned_data["reason"],
            form.cleaned_data["version"],
            baseline=form.cleaned_data["void_baseline"],
        )
    except errors.CareError as exc:
        record.refresh_from_db()
        status = answers.on_form(form, exc)
        return intake_page(request, patient, record, void_form=form, status=status)
    done = ["Intake voided; it stays visible, marked as voided."]
    if drafts:
        done.append(f"Unsigned plans voided with it: {drafts}.")
    if baseline:
        done.append(f"Baseline measurements voided: {baseline}.")
    messages.success(request, " ".join(done))
    return redirect("intake-detail", patient_id=patient.pk, intake_id=record.pk)


# --- measurement ----------------------------------------------------------------------------------


def measurement_for(patient: Patient, measurement_id: int) -> Measurement:
    return get_object_or_404(
        Measurement.objects.select_related("voided_by", "created_by"),
        pk=measurement_id,
        patient=patient,
    )


def _measurement_page(
    request: HttpRequest,
    patient: Patient,
    record: Measurement,
    *,
    void_form: VoidRecordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """One measurement: its answers and scores, who recorded it, and its void form or void
    mark."""
    inst = load_knowledge().instruments.get(record.instrument)
    items = {i.code: i.label for i in inst.items} if inst else {}
    names = {s.id: s.name for s in inst.subscales} if inst else {}
    decimals = {s.id: s.decimals for s in inst.subscales} if inst else {}
    context = {
        "patient": patient,
        "record": record,
        "instrument_name": inst.name if inst else record.instrument,
        "answers": [(items.get(code, code), value) for code, value in record.answers.items()],
        "scores": [
            {
                "name": names.get(sid, sid),
                "value": sub.get("value"),
                "decimals": decimals.get(sid, 1),
                "note": sub.get("note"),
            }
            for sid, sub in record.scores.get("subscales", {}).items()
        ],
        "void_form": void_form or VoidRecordForm(initial={"version": record.version}),
    }
    return render(request, "pages/measurement_detail.html", context, status=status)


@clinic_view(roles=CLINICAL_ROLES)
def measurement_detail(request: HttpRequest, patient: Patient, measurement_id: int) -> HttpResponse:
    return _measurement_page(request, patient, measurement_for(patient, measurement_id))


@require_POST
@clinic_view(roles=CLINICAL_ROLES)
def measurement_void(request: HttpRequest, patient: Patient, measurement_id: int) -> HttpResponse:
    record = measurement_for(patient, measurement_id)
    if record.is_voided:
        messages.info(request, "This measurement was already voided.")
        return redirect("measurement-detail", patient_id=patient.pk, measurement_id=record.pk)
    form = VoidRecordForm(request.POST)
    if not form.is_valid():
        return _measurement_page(request, patient, record, void_form=form, status=400)
    try:
        services.void(
            record, request.user, form.cleaned_data["reason"], form.cleaned_data["version"]
        )
    except errors.CareError as exc:
        record = measurement_for(patient, measurement_id)
        status = answers.on_form(form, exc)
        return _measurement_page(request, patient, record, void_form=form, status=status)
    messages.success(
        request,
        "Measurement voided; it stays visible, marked as voided, and no longer counts in the "
        "outcomes or the patient's status.",
    )
    return redirect("measurement-detail", patient_id=patient.pk, measurement_id=record.pk)


urlpatterns: list[URLPattern] = [
    path(
        "patients/<int:patient_id>/intakes/<int:intake_id>/void/", intake_void, name="intake-void"
    ),
    path(
        "patients/<int:patient_id>/measurements/<int:measurement_id>/",
        measurement_detail,
        name="measurement-detail",
    ),
    path(
        "patients/<int:patient_id>/measurements/<int:measurement_id>/void/",
        measurement_void,
        name="measurement-void",
    ),
]
