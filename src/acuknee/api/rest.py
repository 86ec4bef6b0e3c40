"""The ``/api/v1`` resources: read and search everything a clinic records, and the few writes
whose meaning is clear (register a patient, record measurements, log a session).

Each operation is an adapter like a clinic view: check the role (``auth.require``), scope to the
caller's clinic, then reuse the clinic's forms and helpers and the core for every rule. Lists are
paged (``limit``/``offset``, with ``total``) and filtered by ``patient`` and a date range.
"""

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Query, Schema, Status
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema
from ninja.pagination import paginate
from ninja.params import Body
from ninja.parser import Parser

from acuknee.accounts.access import CLINICAL_ROLES, SCHEDULING_ROLES, staff_clinic
from acuknee.api import errors
from acuknee.api.auth import (
    ALL_ROLES,
    BearerToken,
    clinic_patient,
    clinic_patients,
    manageable_tokens,
    require,
)
from acuknee.api.errors import ApiError, UnsupportedMediaType
from acuknee.api.schemas import (
    AmendmentIn,
    ConsentOut,
    DuplicatesOut,
    ErrorOut,
    EvaluationOut,
    IntakeOut,
    Mapped,
    MeasurementIn,
    MeasurementOut,
    Paged,
    PatientFilters,
    PatientIn,
    PatientOut,
    PlanOut,
    RecordFilters,
    SessionOut,
    TokenOut,
)
from acuknee.api.text import text_problems
from acuknee.audit import capture
from acuknee.care import services
from acuknee.care.errors import LikelyDuplicate
from acuknee.care.patients import PatientDetails, register_patient
from acuknee.care.queries import build_course, live
from acuknee.care.queries import search_patients as search
from acuknee.clinical import (
    InvalidInput,
    InvalidInputs,
    SessionRecord,
    evaluate,
    load_knowledge,
)
from acuknee.clinical.consent import Consent
from acuknee.clinical.knowledge import Point, Protocol
from acuknee.forms.measurements import MeasurementsForm, clinic_instruments, field_name
from acuknee.records.models import (
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    TreatmentSession,
)

Row = TypeVar("Row")

ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 413, 415, 422), ErrorOut)
"""Every operation documents the one error shape for each 4xx it may answer."""


class JsonParser(Parser):
    """Bodies are JSON only: another content type is refused (415), not guessed at. Text with
    lone surrogates or control characters is refused (422) in bodies and query strings alike."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise UnsupportedMediaType(
                f"send the body as application/json, not {request.content_type or 'nothing'}"
            )
        data = super().parse_body(request)
        refuse_bad_text(data)
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        """Query strings (and forms) obey the same text rule as bodies."""
        for key in data:
            for value in data.getlist(key):
                refuse_bad_text(value, key)
        return super().parse_querydict(data, list_fields, request)


def refuse_bad_text(data: Any, path: str = "") -> None:
    """Lone surrogates and control characters are a 422 naming the field (``api.text``)."""
    problems = text_problems(data, path)
    if problems:
        raise ApiError(422, [(field, f"The text {why}.") for field, why in problems])


class LocalSwagger(Swagger):
    """Swagger UI from ninja's packaged assets (``ninja`` in INSTALLED_APPS), never a CDN:
    ninja falls back to a CDN page when it is not installed; this refuses to."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            "add_csrf": False,
        }
        return render(request, self.template, context)


class KeptSchemaAPI(NinjaAPI):
    """The OpenAPI document built once per path prefix and kept: ninja builds it again from
    every operation's pydantic models for each request (about 170 ms here), and the operations are
    fixed once the URLs are loaded. The kept document is shared: read it, never change it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._schemas: dict[str, OpenAPISchema] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        if path_prefix not in self._schemas:
            self._schemas[path_prefix] = super().get_openapi_schema(path_prefix=path_prefix)
        return self._schemas[path_prefix]


api = KeptSchemaAPI(
    title="acuknee API",
    version="1",
    description=(
        "Read and search a clinic's patients and clinical records, record measurements and "
        "sessions. Authenticate with `Authorization: Bearer <token>` (create tokens at "
        '/account/tokens/). Every error is `{"errors": [{"field": ..., "message": ...}]}`.'
    ),
    urls_namespace="api-v1",
    auth=BearerToken(),
    parser=JsonParser(),
    docs=LocalSwagger(),
)
errors.install(api)


# --- helpers -------------------------------------------------------------------------------------


def form_errors(form: forms.Form, rename: Callable[[str], str | None]) -> list[Any]:
    return [
        (None if name == "__all__" else rename(name), str(message))
        for name, messages in form.errors.items()
        for message in messages
    ]


def _dated(request: HttpRequest, model: Any, day: str, filters: RecordFilters) -> QuerySet[Any]:
    """A clinical model's records in the caller's clinic, filtered as asked. Unless voided
    records are asked for, neither a voided record nor any record of a voided patient is
    listed."""
    require(request, CLINICAL_ROLES)
    rows = model.objects.filter(patient__clinic=staff_clinic(request))
    if filters.patient is not None:
        rows = rows.filter(patient=clinic_patient(request, filters.patient))
    if not filters.include_voided:
        rows = live(rows).filter(patient__voided_at__isnull=True)
    if filters.date_from is not None:
        rows = rows.filter(**{f"{day}__gte": filters.date_from})
    if filters.date_to is not None:
        rows = rows.filter(**{f"{day}__lte": filters.date_to})
    return rows.order_by(day, "id")


def _one(request: HttpRequest, model: Any, pk: int) -> Any:
    require(request, CLINICAL_ROLES)
    return get_object_or_404(model, pk=pk, patient__clinic=staff_clinic(request))


def _refuse_voided(patient: Patient) -> None:
    if patient.is_voided:
        raise ApiError(409, [(None, "This patient record is voided: nothing can be recorded.")])


# --- patients ------------------------------------------------------------------------------------


@api.get("/patients", response={200: list[PatientOut], **ERRORS}, tags=["patients"])
@paginate(Paged)
def patient_list(request: HttpRequest, filters: Query[PatientFilters]) -> Any:
    """The clinic's patients; ``q`` searches as the patient list page does."""
    require(request, SCHEDULING_ROLES)
    rows = clinic_patients(request)
    if filters.patient is not None:
        rows = rows.filter(pk=clinic_patient(request, filters.patient).pk)
    if not filters.include_voided:
        rows = live(rows)
    return search(rows, filters.q).order_by("family_name", "given_name", "id")


@api.get("/patients/{patient_id}", response={200: PatientOut, **ERRORS}, tags=["patients"])
def patient_detail(request: HttpRequest, patient_id: int) -> Any:
    require(request, SCHEDULING_ROLES)
    return clinic_patient(request, patient_id)


@api.post(
    "/patients",
    response={201: PatientOut, **ERRORS, 409: DuplicatesOut},
    tags=["patients"],
)
def patient_create(request: HttpRequest, payload: PatientIn) -> Any:
    """Register a patient through the care layer (``care.patients.register_patient``). Likely
    duplicates are a 409 listing them in ``matches``; send ``confirm_duplicates: true`` to
    register anyway."""
    require(request, SCHEDULING_ROLES)
    details = PatientDetails(**payload.dict(exclude={"confirm_duplicates"}))
    try:
        patient = register_patient(
            staff_clinic(request),
            request.user,
            details,
            confirm_duplicates=payload.confirm_duplicates,
        )
    except LikelyDuplicate as exc:
        answer = errors.body([(None, exc.message)])
        return Status(409, {**answer, "matches": exc.matches})
    return Status(201, patient)


# --- intakes and plans ---------------------------------------------------------------------------


@api.get("/intakes", response={200: list[IntakeOut], **ERRORS}, tags=["intakes"])
@paginate(Paged)
def intake_list(request: HttpRequest, filters: Query[RecordFilters]) -> Any:
    """Intakes with their screening and assessment; dates are visit dates."""
    return _dated(request, IntakeRecord, "visit_date", filters)


@api.get("/intakes/{intake_id}", response={200: IntakeOut, **ERRORS}, tags=["intakes"])
def intake_detail(request: HttpRequest, intake_id: int) -> Any:
    return _one(request, IntakeRecord, intake_id)


@api.get("/plans", response={200: list[PlanOut], **ERRORS}, tags=["plans"])
@paginate(Paged)
def plan_list(request: HttpRequest, filters: Query[RecordFilters]) -> Any:
    """Plans; dates are start dates."""
    return _dated(request, PlanRecord, "start_date", filters)


@api.get("/plans/{plan_id}", response={200: PlanOut, **ERRORS}, tags=["plans"])
def plan_detail(request: HttpRequest, plan_id: int) -> Any:
    return _one(request, PlanRecord, plan_id)


# --- sessions ------------------------------------------------------------------------------------


@api.get("/sessions", response={200: list[SessionOut], **ERRORS}, tags=["sessions"])
@paginate(Paged)
def session_list(request: HttpRequest, filters: Query[RecordFilters]) -> Any:
    rows = _dated(request, TreatmentSession, "session_date", filters)
    return rows.prefetch_related("amendments__amended_by")


@api.get("/sessions/{session_id}", response={200: SessionOut, **ERRORS}, tags=["sessions"])
def session_detail(request: HttpRequest, session_id: int) -> Any:
    return _one(request, TreatmentSession, session_id)


@api.post(
    "/patients/{patient_id}/sessions", response={201: SessionOut, **ERRORS}, tags=["sessions"]
)
def session_create(request: HttpRequest, patient_id: int, payload: Body[dict[str, Any]]) -> Any:
    """Log a session under the patient's signed plan. The body is an
    ``acuknee.clinical.SessionRecord`` (date, points, needle, electro, pain, adverse events with
    a coded ``kind`` such as ``bruising`` or ``fainting``...), validated by the core; ``number``
    and ``practitioner_id`` are set here; the session is numbered in date order and signed.
    The first session needs informed consent on record (409 naming what is missing): record it
    at ``/patients/{id}/consent`` or send it here as ``consent``. Send an ``Idempotency-Key``
    header to make a retry safe: a repeat is refused (409) and names the stored session
    (``X-Existing-Id``)."""
    require(request, CLINICAL_ROLES)
    patient = clinic_patient(request, patient_id)
    _refuse_voided(patient)
    body = dict(payload)
    consent = _consent(body.pop("consent")) if body.get("consent") is not None else None
    body.pop("consent", None)
    data = {**body, "number": 1, "practitioner_id": request.user.get_username()}
    try:
        record = SessionRecord.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ApiError(422, errors.pydantic_errors(exc.errors())) from exc
    key = request.headers.get("Idempotency-Key")
    session = services.record_session(
        patient, request.user, record, submission_key=key, consent=consent
    )
    return Status(201, session)


def _consent(body: Any) -> Consent:
    try:
        return Consent.model_validate(body)
    except pydantic.ValidationError as exc:
        problems = errors.pydantic_errors(exc.errors())
        raise ApiError(422, [(f"consent.{f}" if f else "consent", m) for f, m in problems]) from exc


@api.post(
    "/sessions/{session_id}/amendments",
    response={200: SessionOut, **ERRORS},
    tags=["sessions"],
)
def session_amend(request: HttpRequest, session_id: int, payload: AmendmentIn) -> Any:
    """Amend a signed session: the whole corrected ``SessionRecord`` in ``record``, the
    ``version`` it was based on (409 when someone saved since) and the ``reason``. The change is
    kept with who, when, why and what changed; the number stays the session's place in date
    order."""
    require(request, CLINICAL_ROLES)
    session = _one(request, TreatmentSession, session_id)
    stored = SessionRecord.model_validate(session.data)
    data = {
        **payload.record,
        "number": session.number,
        "practitioner_id": stored.practitioner_id or request.user.get_username(),
    }
    try:
        record = SessionRecord.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = errors.pydantic_errors(exc.errors())
        raise ApiError(422, [(f"record.{f}" if f else "record", m) for f, m in problems]) from exc
    services.amend_session(session, request.user, record, payload.reason, payload.version)
    session.refresh_from_db()
    return session


@api.post(
    "/patients/{patient_id}/consent",
    response={201: ConsentOut, **ERRORS},
    tags=["sessions"],
)
def consent_create(request: HttpRequest, patient_id: int, payload: Body[dict[str, Any]]) -> Any:
    """Record the patient's informed consent (``acuknee.clinical.consent.Consent``: given_on,
    given_by ``patient`` or ``parent_or_guardian`` with ``guardian_name``, risks_explained as
    adverse event kinds, other_explained); the first session needs one (409 otherwise)."""
    require(request, CLINICAL_ROLES)
    patient = clinic_patient(request, patient_id)
    _refuse_voided(patient)
    row = services.record_consent(patient, request.user, _consent(payload))
    return Status(201, row)


# --- measurements --------------------------------------------------------------------------------


@api.get("/measurements", response={200: list[MeasurementOut], **ERRORS}, tags=["measurements"])
@paginate(Paged)
def measurement_list(request: HttpRequest, filters: Query[RecordFilters]) -> Any:
    return _dated(request, Measurement, "measured_on", filters)


@api.get(
    "/measurements/{measurement_id}",
    response={200: MeasurementOut, **ERRORS},
    tags=["measurements"],
)
def measurement_detail(request: HttpRequest, measurement_id: int) -> Any:
    return _one(request, Measurement, measurement_id)


def _form_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@api.post(
    "/patients/{patient_id}/measurements",
    response={201: list[MeasurementOut], **ERRORS},
    tags=["measurements"],
)
def measurement_create(request: HttpRequest, patient_id: int, payload: MeasurementIn) -> Any:
    """Record one visit's answers through the reassessment form: each instrument is scored by
    ``acuknee.clinical.score``; an error names its item (``answers.koos.P3``). Send an
    ``Idempotency-Key`` header to make a retry safe: a repeat is refused (409) and names the
    first stored measurement (``X-Existing-Id``)."""
    require(request, CLINICAL_ROLES)
    patient = clinic_patient(request, patient_id)
    _refuse_voided(patient)
    kb = load_knowledge()
    instruments = clinic_instruments(kb)
    data: dict[str, str] = {"measured_on": payload.measured_on.isoformat()}
    unknown: list[tuple[str | None, str]] = []
    rename: dict[str, str] = {"measured_on": "measured_on"}
    for instrument, given in payload.answers.items():
        if instrument not in instruments:
            unknown.append((f"answers.{instrument}", "not an instrument recorded at a visit"))
            continue
        codes = {item.code for item in kb.instruments[instrument].items}
        for code, value in given.items():
            if code not in codes:
                unknown.append((f"answers.{instrument}.{code}", "no such item"))
            elif value is not None:
                name = field_name(instrument, code)
                data[name] = _form_value(value)
                rename[name] = f"answers.{instrument}.{code}"
    if unknown:
        raise ApiError(422, unknown)
    form = MeasurementsForm(data, instruments=instruments, kb=kb)
    if not form.is_valid():
        raise ApiError(422, form_errors(form, lambda name: rename.get(name, name)))
    stored = services.record_measurements(
        patient,
        request.user,
        form.visit_date,
        form.answers,
        scores=form.scores,
        origin=services.CLINIC,
        key=request.headers.get("Idempotency-Key"),
    )
    return Status(201, stored)


# --- evaluations ---------------------------------------------------------------------------------


def evaluation_out(patient: Patient) -> EvaluationOut:
    """The response over the course, built as the outcomes page builds it and judged by
    ``acuknee.clinical.evaluate``."""
    course = build_course(patient)
    if course is None:
        return EvaluationOut(
            patient=patient.pk, baseline_date=None, follow_up_dates=[], evaluation=None, error=None
        )
    evaluation, error = None, None
    if course.follow_ups:
        try:
            evaluation = evaluate(course, load_knowledge()).model_dump(mode="json")
        except (InvalidInput, InvalidInputs) as exc:
            error = f"The stored measurements could not be evaluated: {exc}"
    return EvaluationOut(
        patient=patient.pk,
        baseline_date=course.baseline.date,
        follow_up_dates=[v.date for v in course.follow_ups],
        evaluation=evaluation,
        error=error,
    )


@api.get("/evaluations", response={200: list[EvaluationOut], **ERRORS}, tags=["evaluations"])
@paginate(Paged)
def evaluation_list(request: HttpRequest, filters: Query[RecordFilters]) -> Any:
    """One evaluation per patient with measurements; the date range selects patients measured
    within it."""
    require(request, CLINICAL_ROLES)
    rows = clinic_patients(request)
    if filters.patient is not None:
        rows = rows.filter(pk=clinic_patient(request, filters.patient).pk)
    if not filters.include_voided:
        rows = live(rows)
    measured = live(Measurement)
    if filters.date_from is not None:
        measured = measured.filter(measured_on__gte=filters.date_from)
    if filters.date_to is not None:
        measured = measured.filter(measured_on__lte=filters.date_to)
    rows = rows.filter(pk__in=measured.values("patient_id")).order_by("id")
    return Mapped(rows, evaluation_out)


@api.get("/evaluations/{patient_id}", response={200: EvaluationOut, **ERRORS}, tags=["evaluations"])
def evaluation_detail(request: HttpRequest, patient_id: int) -> Any:
    require(request, CLINICAL_ROLES)
    return evaluation_out(clinic_patient(request, patient_id))


# --- the knowledge base --------------------------------------------------------------------------


class PointFilters(Schema):
    q: str = pydantic.Field("", max_length=100, description="Code, pinyin or English name.")
    region: str | None = None
    tag: str | None = None


class ProtocolFilters(Schema):
    q: str = pydantic.Field("", max_length=100, description="Name or id.")
    cause: str | None = None
    method: str | None = None


def _matches(query: str, *texts: str) -> bool:
    query = query.strip().casefold()
    return not query or any(query in t.casefold() for t in texts)


@api.get("/points", response={200: list[Point], **ERRORS}, tags=["knowledge"])
@paginate(Paged)
def point_list(request: HttpRequest, filters: Query[PointFilters]) -> Any:
    """Acupuncture points of the knowledge base, with their sources."""
    require(request, ALL_ROLES)
    rows = [
        p
        for p in sorted(load_knowledge().points.values(), key=lambda p: p.code)
        if _matches(filters.q, p.code, p.pinyin, p.english)
        and (filters.region is None or p.region == filters.region)
        and (filters.tag is None or filters.tag in p.tags)
    ]
    return rows


@api.get("/points/{code}", response={200: Point, **ERRORS}, tags=["knowledge"])
def point_detail(request: HttpRequest, code: str) -> Any:
    require(request, ALL_ROLES)
    point = load_knowledge().points.get(code)
    if point is None:
        raise Http404("no such point")
    return point


@api.get("/protocols", response={200: list[Protocol], **ERRORS}, tags=["knowledge"])
@paginate(Paged)
def protocol_list(request: HttpRequest, filters: Query[ProtocolFilters]) -> Any:
    """Treatment protocols of the knowledge base, with their sources."""
    require(request, ALL_ROLES)
    rows = [
        p
        for p in sorted(load_knowledge().protocols.values(), key=lambda p: p.id)
        if _matches(filters.q, p.id, p.name)
        and (filters.cause is None or p.cause.value == filters.cause)
        and (filters.method is None or p.method.value == filters.method)
    ]
    return rows


@api.get("/protocols/{protocol_id}", response={200: Protocol, **ERRORS}, tags=["knowledge"])
def protocol_detail(request: HttpRequest, protocol_id: str) -> Any:
    require(request, ALL_ROLES)
    protocol = load_knowledge().protocols.get(protocol_id)
    if protocol is None:
        raise Http404("no such protocol")
    return protocol


# --- tokens --------------------------------------------------------------------------------------
# Listed and revoked here; created only at /account/tokens/ by their owner, signed in (a token
# never mints a token, so there is no POST /tokens).


@api.get("/tokens", response={200: list[TokenOut], **ERRORS}, tags=["tokens"])
@paginate(Paged)
def token_list(request: HttpRequest) -> Any:
    """The caller's tokens (a clinic admin: also those of the clinic's staff)."""
    require(request, ALL_ROLES)
    return manageable_tokens(request.user).order_by("-created_at", "-id")


@api.post("/tokens/{token_id}/revoke", response={200: TokenOut, **ERRORS}, tags=["tokens"])
def token_revoke(request: HttpRequest, token_id: int) -> Any:
    """Revoke a token now; it stays listed, with the time it was revoked."""
    require(request, ALL_ROLES)
    token = get_object_or_404(manageable_tokens(request.user), pk=token_id)
    token.revoke()
    capture.note(request, object_type="api_token", object_id=str(token.pk), subject=token.user)
    return token
