"""``POST /fhir/QuestionnaireResponse``: a patient app's self-report, checked and stored by the
clinic's own rules (the only FHIR write).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import cast

import pydantic
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from acuknee.api.auth import clinic_patients, require
from acuknee.api.errors import CARE_STATUS
from acuknee.api.fhir_api.resources import (
    RESOURCE_TYPES,
    questionnaire_response_json,
)
from acuknee.api.fhir_api.responses import FhirError, Json, base_url, fhir_response
from acuknee.api.text import text_problems
from acuknee.care import errors as care_errors
from acuknee.care import services
from acuknee.clinical import InvalidInput, InvalidInputs, load_knowledge
from acuknee.fhir import answers_from_questionnaire_response
from acuknee.forms.measurements import SELF_REPORT_INSTRUMENTS, MeasurementsForm, field_name
from acuknee.records.ids import storable_pk, whole_number
from acuknee.records.models import Patient

ACCEPTED_BODY_TYPES = ("application/fhir+json", "application/json")


def _json_body(request: HttpRequest) -> Json:
    content_type = (request.content_type or "").lower()
    if content_type not in ACCEPTED_BODY_TYPES:
        raise FhirError(
            415,
            f"send the resource as application/fhir+json, not {content_type or 'nothing'}",
            "not-supported",
        )
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: too deep
        raise FhirError(400, "the request body is not valid JSON", "structure") from exc
    if not isinstance(data, dict):
        raise FhirError(400, "the request body must be a JSON object (a resource)", "structure")
    refused = text_problems(data)
    if refused:
        error = FhirError(400, f"The text {refused[0][1]}.", "invalid", refused[0][0])
        error.issues = [("invalid", f"The text {why}.", where) for where, why in refused]
        raise error
    return data


def _unprocessable(issues: list[tuple[str, str, str | None]]) -> FhirError:
    error = FhirError(422, issues[0][1])
    error.issues = issues
    return error


def _posted_response(data: Json) -> QuestionnaireResponse:
    if data.get("resourceType") != "QuestionnaireResponse":
        raise FhirError(422, "the body must be a QuestionnaireResponse", "invalid", "resourceType")
    try:
        return QuestionnaireResponse.model_validate(data)
    except pydantic.ValidationError as exc:
        issues: list[tuple[str, str, str | None]] = [
            (
                "structure",
                str(e.get("msg", "invalid")),
                ".".join(["QuestionnaireResponse", *(str(p) for p in e.get("loc", ()))]),
            )
            for e in exc.errors()
        ]
        raise _unprocessable(issues or [("structure", "invalid resource", None)]) from exc


def _subject_patient(request: HttpRequest, resource: QuestionnaireResponse) -> Patient:
    reference = (resource.subject.reference or "") if resource.subject else ""
    parts = reference.rstrip("/").split("/")
    where = "QuestionnaireResponse.subject"
    if len(parts) < 2 or parts[-2] != "Patient" or whole_number(parts[-1], 1) is None:
        raise FhirError(
            422, "subject must reference Patient/<id>, the id in digits 0-9", "required", where
        )
    # None: beyond BIGINT, or not the id as served (ids compare as text: Patient/07 is not
    # Patient/7), so no patient has it.
    pk = storable_pk(parts[-1]) if parts[-1] == parts[-1].lstrip("0") else None
    rows = clinic_patients(request).filter(pk=pk, voided_at__isnull=True)
    found = rows.first() if pk is not None else None
    if found is None:
        raise FhirError(422, f"no such patient: {reference[:80]}", "not-found", where)
    return found  # type: ignore[no-any-return]


def _authored_day(resource: QuestionnaireResponse) -> dt.date:
    """The day the measurement is dated: ``authored`` in the clinic's time zone (today when
    absent).

    A year or a month alone (``2026``, ``2026-03``) is a valid FHIR R4 dateTime, but it is
    refused, not dated to its first day: a measurement is dated to the day, that day decides
    whether it is a baseline or a follow-up and what it is compared with, and a day the patient
    never gave would be an invented clinical fact. An instant whose day in clinic time is not
    in the calendar (year 1 at +14:00, 9999-12-31 late at -12:00) is refused too."""
    authored = resource.authored
    where = "QuestionnaireResponse.authored"
    if authored is None:
        return cast(dt.date, timezone.localdate())
    if isinstance(authored, dt.datetime):
        try:
            return timezone.localtime(authored).date() if authored.tzinfo else authored.date()
        except OverflowError:
            raise FhirError(
                422,
                f"authored {authored.isoformat()} is outside the calendar in clinic time",
                "invalid",
                where,
            ) from None
    if isinstance(authored, dt.date):
        return authored
    raise FhirError(
        422,
        f"authored must give the full date the answers were given (YYYY-MM-DD), not {authored!s}",
        "invalid",
        where,
    )


def _form_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def create_questionnaire_response(request: HttpRequest) -> HttpResponse:
    """``POST /fhir/QuestionnaireResponse``: validate, score and store a self-report.

    The answers are read by ``answers_from_questionnaire_response``, checked by the clinic's
    ``MeasurementsForm`` (the core scores them) and stored by ``care.services``
    (``record_measurements``: all or nothing, never dated in the future), origin ``self_report``,
    so they show on the patient page like a self-report from a link. Only the self-report
    instruments are accepted (a patient app asks no examination).
    """
    require(request, RESOURCE_TYPES["QuestionnaireResponse"].roles)  # the type's own roles
    data = _json_body(request)
    resource = _posted_response(data)
    kb = load_knowledge()
    try:
        instrument, answers = answers_from_questionnaire_response(resource, kb=kb)
    except InvalidInputs as exc:
        raise _unprocessable([("invalid", e.problem, e.field) for e in exc.errors]) from exc
    except InvalidInput as exc:
        raise FhirError(422, exc.problem, "invalid", exc.field) from exc
    if instrument not in SELF_REPORT_INSTRUMENTS:
        allowed = ", ".join(SELF_REPORT_INSTRUMENTS)
        raise FhirError(
            422,
            f"{instrument} is not a self-report instrument; accepted: {allowed}",
            "business-rule",
            "QuestionnaireResponse.questionnaire",
        )
    patient = _subject_patient(request, resource)
    form_data = {"measured_on": _authored_day(resource).isoformat()}
    for code, value in answers.items():
        if value is not None:
            form_data[field_name(instrument, code)] = _form_value(value)
    form = MeasurementsForm(form_data, instruments=[instrument], kb=kb)
    if not form.is_valid():
        issues: list[tuple[str, str, str | None]] = [  # the item's path, as the core names it
            ("invalid", str(message), None if name == "__all__" else name.replace("__", ".", 1))
            for name, messages in form.errors.items()
            for message in messages
        ]
        raise _unprocessable(issues)
    try:
        (stored,) = services.record_measurements(
            patient,
            request.user,
            form.visit_date,
            form.answers,
            scores=form.scores,
            origin=services.SELF_REPORT,
        )
    except care_errors.CareError as exc:
        status = next(code for cls, code in CARE_STATUS if isinstance(exc, cls))
        kind = "invalid" if status == 422 else "conflict"
        raise FhirError(status, exc.message, kind, exc.field) from exc
    body = questionnaire_response_json(stored)
    response = fhir_response(body, 201)
    response["Location"] = f"{base_url(request)}/QuestionnaireResponse/{body['id']}"
    return response
