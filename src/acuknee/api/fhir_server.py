"""``/fhir``: a FHIR R4 server (read, search, and ``POST QuestionnaireResponse``) over the clinic.

Plain Django views rather than ninja: FHIR negotiates ``application/fhir+json`` and answers every
error as an OperationOutcome, which fits ninja's JSON-schema API poorly. The views are adapters:
the Bearer token, roles and clinic scoping are ``api.auth``'s (the REST API's rules), resources
are built by the pure mapping ``acuknee.fhir`` from the stored core models, and a posted response
is scored and stored by the clinic's own ``MeasurementsForm`` (origin ``self_report``).

FHIR version: the resources are built and validated with fhir.resources' R4B models, and the
CapabilityStatement declares ``fhirVersion`` 4.0.1 (R4), because R4 endpoints are what clients and
EHRs expect. For the resource types served here R4B changed no element that acuknee emits, so the
JSON is wire-compatible with R4 (the offline validators in tests/fhir check it against R4).

Resource ids are stable and derived from the database rows: ``Patient/<pk>``,
``Condition/intake-<pk>``, ``CarePlan/plan-<pk>``, ``Procedure/session-<pk>``,
``AdverseEvent/session-<pk>-<n>``, ``QuestionnaireResponse/meas-<pk>``,
``Observation/meas-<pk>-<subscale>``, ``Questionnaire/<instrument>``, and from each intake's
stored screening ``Flag/intake-<pk>-<rule>`` (a contraindication or precaution) and
``ServiceRequest/intake-<pk>-<rule>`` (a referral), the rule id with ``-`` for ``_``. Voided
records (and every record of a voided patient) are not served. Searches filter, count and page
in SQL and map only the page's rows (``search_page``); ``search_resources``, which maps every row
and filters in Python, is the reference they are tested against and the path of CarePlan, Flag,
ServiceRequest and Questionnaire.

Search follows FHIR R4's parameter names per type (``date`` where R4 defines it, ``authored`` on
QuestionnaireResponse, ``recorded-date`` on Condition, ``subject`` only on AdverseEvent); an
unknown parameter is a 400 rather than silently ignored. Pages are ``_count`` and ``_offset`` with
``next``/``previous`` links. Responses are JSON only (XML asked for: 406).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import pydantic
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db.models import CharField, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from acuknee.api.auth import ALL_ROLES, BearerToken, InsufficientScope, clinic_patients, require
from acuknee.api.errors import CARE_STATUS
from acuknee.api.schemas import DB_INT_MAX
from acuknee.api.text import text_problems
from acuknee.care import errors as care_errors
from acuknee.care import services
from acuknee.care.queries import live
from acuknee.clinic.access import CLINICAL_ROLES, SCHEDULING_ROLES
from acuknee.clinic.forms.measurements import (
    SELF_REPORT_INSTRUMENTS,
    MeasurementsForm,
    field_name,
)
from acuknee.clinic.models import IntakeRecord, Measurement, Patient, PlanRecord, TreatmentSession
from acuknee.clinical import InvalidInput, InvalidInputs, load_knowledge
from acuknee.clinical.assessment import Assessment
from acuknee.clinical.instruments import Scores
from acuknee.clinical.intake import Intake
from acuknee.clinical.planning import Plan
from acuknee.clinical.screening import Screening
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.vocabulary import Sex
from acuknee.fhir import (
    PatientInfo,
    RecordIdentifier,
    adverse_event_resources,
    answers_from_questionnaire_response,
    care_plan_resource,
    condition_resource,
    flag_resource,
    observation_resources,
    patient_resource,
    procedure_resource,
    questionnaire_resource,
    questionnaire_response_resource,
    service_request_resource,
)
from acuknee.fhir import codes as fhir_codes

Json = dict[str, Any]
logger = logging.getLogger(__name__)

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json; charset=utf-8"
ACCEPTED_BODY_TYPES = ("application/fhir+json", "application/json")
DEFAULT_COUNT = 20
MAX_COUNT = 500
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class FhirError(Exception):
    """An error answered as an OperationOutcome with ``status``."""

    def __init__(
        self, status: int, message: str, code: str = "invalid", expression: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.issues: list[tuple[str, str, str | None]] = [(code, message, expression)]


def outcome(issues: Iterable[tuple[str, str, str | None]], severity: str = "error") -> Json:
    out: list[Json] = []
    for code, message, expression in issues:
        issue: Json = {"severity": severity, "code": code, "diagnostics": message}
        if expression:
            issue["expression"] = [expression]
        out.append(issue)
    return {"resourceType": "OperationOutcome", "issue": out}


def fhir_response(data: Json, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    return response


def error_response(status: int, issues: Iterable[tuple[str, str, str | None]]) -> HttpResponse:
    response = fhir_response(outcome(issues), status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="acuknee"'
    return response


def _authenticate(request: HttpRequest) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        found = BearerToken().authenticate(request, token) if scheme.lower() == "bearer" else None
    except InsufficientScope as exc:
        raise FhirError(403, str(exc), "forbidden") from None
    if found is None:
        raise FhirError(401, "a valid API token is required (Authorization: Bearer)", "login")


def fhir_view(
    view: Callable[..., HttpResponse], *, public: bool = False
) -> Callable[..., HttpResponse]:
    """Token authentication (unless ``public``), JSON negotiation, and every failure as an
    OperationOutcome. Token auth needs no CSRF check: no cookie authenticates here."""

    @csrf_exempt  # type: ignore[untyped-decorator]
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            _negotiate(request)
            if not public:
                _authenticate(request)
            return view(request, *args, **kwargs)
        except FhirError as exc:
            return error_response(exc.status, exc.issues)
        except PermissionDenied:
            return error_response(403, [("forbidden", "your role may not use this resource", None)])
        except Http404:
            return error_response(404, [("not-found", "no such resource", None)])
        except RequestDataTooBig:
            return error_response(413, [("too-costly", "the request body is too large", None)])
        except Exception:  # a bug or bad stored data: logged, and still an OperationOutcome
            logger.exception("FHIR request failed: %s %s", request.method, request.path)
            return error_response(500, [("exception", "the server could not answer", None)])

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return cast(Callable[..., HttpResponse], wrapper)


def _negotiate(request: HttpRequest) -> None:
    """JSON only: ``_format`` or an Accept header asking for XML alone is a 406."""
    wanted = request.GET.get("_format", "")
    if wanted and "json" not in wanted:
        raise FhirError(406, "only JSON is served (_format=json)", "not-supported")
    accept = request.headers.get("Accept", "")
    if accept and not any(kind in accept for kind in ("json", "*/*", "application/*")):
        raise FhirError(406, "only application/fhir+json is served", "not-supported")


# --- dates ---------------------------------------------------------------------------------------

PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge", "sa", "eb")
Span = tuple[dt.date, dt.date]
"""A day range, end exclusive."""


def _parse_date_param(raw: str) -> tuple[str, Span]:
    """``[prefix]YYYY[-MM[-DD[Thh:mm...]]]`` as (prefix, day range). A time of day is ignored:
    acuknee records visits to the day."""
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    value = raw[2:] if raw[:2] in PREFIXES else raw
    try:
        if re.fullmatch(r"\d{4}", value):
            year = int(value)
            return prefix, (dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
        if re.fullmatch(r"\d{4}-\d{2}", value):
            start = dt.date(int(value[:4]), int(value[5:]), 1)
            end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
            return prefix, (start, end)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", value):
            day = dt.date.fromisoformat(value[:10])
            if len(value) > 10:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return prefix, (day, day + dt.timedelta(days=1))
    except ValueError:
        pass
    raise FhirError(400, f"not a FHIR date: {raw!r}", "invalid")


def _date_matches(prefix: str, param: Span, value: Span) -> bool:
    """FHIR R4 search date prefixes on ranges (3.1.1.4.4 / 3.1.1.5.8)."""
    ps, pe = param
    vs, ve = value
    checks: dict[str, bool] = {
        "eq": ps <= vs and ve <= pe,
        "ne": not (ps <= vs and ve <= pe),
        "lt": vs < ps,
        "le": vs < pe,
        "gt": ve > pe,
        "ge": ve > ps,
        "sa": vs >= pe,
        "eb": ve <= ps,
    }
    return checks[prefix]


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def _span(resource: Json) -> Span | None:
    """The resource's own date as a day range (the element its ``date`` parameter searches)."""
    kind = resource["resourceType"]
    if kind in ("CarePlan", "Flag"):
        period = resource.get("period")
        if not period:
            return None
        return _day(period["start"]), _day(period.get("end", period["start"])) + dt.timedelta(1)
    element = {
        "Observation": "effectiveDateTime",
        "Procedure": "performedDateTime",
        "AdverseEvent": "date",
        "QuestionnaireResponse": "authored",
        "Condition": "recordedDate",
        "ServiceRequest": "authoredOn",
    }.get(kind)
    if element is None or element not in resource:
        return None
    day = _day(resource[element])
    return day, day + dt.timedelta(days=1)


# --- the resources of the clinic -----------------------------------------------------------------


def _clinic_system(patient: Patient) -> str:
    return f"urn:acuknee:clinic:{patient.clinic.slug}:record-number"


def _dump(resource: Any) -> Json:
    data: Json = resource.model_dump(mode="json", exclude_none=True)
    return data


def patient_json(patient: Patient) -> Json:
    info = PatientInfo(
        record_number=RecordIdentifier(system=_clinic_system(patient), value=patient.record_number),
        given_name=patient.given_name,
        family_name=patient.family_name,
        birth_date=patient.date_of_birth,
        sex=Sex(patient.sex),
        id=str(patient.pk),
    )
    return _dump(patient_resource(info))


def condition_json(record: IntakeRecord) -> Json:
    return _dump(
        condition_resource(
            Assessment.model_validate(record.assessment),
            Intake.model_validate(record.data),
            f"Patient/{record.patient_id}",
            recorded=record.visit_date,
            resource_id=f"intake-{record.pk}",
        )
    )


def flag_jsons(record: IntakeRecord) -> list[Json]:
    """One Flag per contraindication or precaution of the intake's stored screening."""
    screening = Screening.model_validate(record.screening)
    return [
        _dump(
            flag_resource(
                finding,
                f"Patient/{record.patient_id}",
                recorded=record.visit_date,
                resource_id=f"intake-{record.pk}-{_fhir_id(finding.rule)}",
            )
        )
        for finding in screening.findings
    ]


def service_request_jsons(record: IntakeRecord) -> list[Json]:
    """One proposed ServiceRequest per referral of the intake's stored screening."""
    screening = Screening.model_validate(record.screening)
    return [
        _dump(
            service_request_resource(
                referral,
                f"Patient/{record.patient_id}",
                authored=record.visit_date,
                resource_id=f"intake-{record.pk}-{_fhir_id(referral.rule)}",
            )
        )
        for referral in screening.referrals
    ]


def _done_sessions(plan: PlanRecord) -> set[int]:
    return set(live(TreatmentSession).filter(plan=plan).values_list("number", flat=True))


def care_plan_json(plan: PlanRecord) -> Json:
    return _dump(
        care_plan_resource(
            Plan.model_validate(plan.content),
            f"Patient/{plan.patient_id}",
            condition_ref=f"Condition/intake-{plan.intake_id}",
            status="active",
            completed_sessions=_done_sessions(plan),
            resource_id=f"plan-{plan.pk}",
        )
    )


def _performer(session: TreatmentSession) -> Json:
    user = session.created_by
    if user is None:
        return {"display": "Unknown practitioner"}
    return {"display": user.get_full_name() or user.get_username()}


def procedure_json(session: TreatmentSession) -> Json:
    plan = session.plan
    signed = plan.status == "signed" and not plan.is_voided
    data = _dump(
        procedure_resource(
            SessionRecord.model_validate(session.data),
            Plan.model_validate(plan.content),
            f"Patient/{session.patient_id}",
            "Practitioner/unknown",
            condition_ref=f"Condition/intake-{plan.intake_id}",
            care_plan_ref=f"CarePlan/plan-{plan.pk}" if signed else None,
            resource_id=f"session-{session.pk}",
        )
    )
    # Practitioners are not served: the performer is named (display), not referenced.
    data["performer"] = [{"actor": _performer(session)}]
    return data


def adverse_event_jsons(session: TreatmentSession) -> list[Json]:
    out = []
    events = adverse_event_resources(
        SessionRecord.model_validate(session.data),
        f"Patient/{session.patient_id}",
        procedure_ref=f"Procedure/session-{session.pk}",
    )
    for number, event in enumerate(events, start=1):
        data = _dump(event)
        data["id"] = f"session-{session.pk}-{number}"
        out.append(data)
    return out


def _answers(measurement: Measurement) -> dict[str, float | None]:
    return {k: (None if v is None else float(v)) for k, v in measurement.answers.items()}


def questionnaire_response_json(measurement: Measurement) -> Json:
    return _dump(
        questionnaire_response_resource(
            measurement.instrument,
            _answers(measurement),
            measurement.measured_on,
            f"Patient/{measurement.patient_id}",
            resource_id=f"meas-{measurement.pk}",
        )
    )


def _fhir_id(text: str) -> str:
    return text.replace("_", "-")


def observation_jsons(measurement: Measurement) -> list[Json]:
    scores = Scores.model_validate(measurement.scores)
    kb = load_knowledge()
    subscales = [s.id for s in kb.instruments[measurement.instrument].subscales]
    scored = [
        s for s in subscales if s in scores.subscales and scores.subscales[s].value is not None
    ]
    resources = observation_resources(
        scores,
        measurement.instrument,
        measurement.measured_on,
        f"Patient/{measurement.patient_id}",
        f"QuestionnaireResponse/meas-{measurement.pk}",
        kb=kb,
    )
    out = []
    for subscale, resource in zip(scored, resources, strict=True):
        data = _dump(resource)
        data["id"] = f"meas-{measurement.pk}-{_fhir_id(subscale)}"
        out.append(data)
    return out


def questionnaire_jsons() -> list[Json]:
    return [_dump(questionnaire_resource(i)) for i in sorted(load_knowledge().instruments)]


# --- sources: the clinic's rows for one resource type --------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a search or read may see: the caller's clinic, narrowed by patient or row."""

    request: HttpRequest
    patients: frozenset[int] | None = None
    pks: frozenset[int] | None = None


def _live_patients(scope: Scope) -> Any:
    rows = live(clinic_patients(scope.request))
    if scope.patients is not None:
        rows = rows.filter(pk__in=scope.patients)
    return rows


def _records(model: Any, scope: Scope) -> Any:
    rows = live(model).filter(patient__in=_live_patients(scope))
    if scope.pks is not None:
        rows = rows.filter(pk__in=scope.pks)
    return rows.order_by("pk")


def _source_patients(scope: Scope) -> list[Json]:
    rows = _live_patients(scope).select_related("clinic").order_by("pk")
    if scope.pks is not None:
        rows = rows.filter(pk__in=scope.pks)
    return [patient_json(p) for p in rows]


def _source_conditions(scope: Scope) -> list[Json]:
    return [condition_json(r) for r in _records(IntakeRecord, scope)]


def _source_flags(scope: Scope) -> list[Json]:
    return [f for r in _records(IntakeRecord, scope) for f in flag_jsons(r)]


def _source_service_requests(scope: Scope) -> list[Json]:
    return [s for r in _records(IntakeRecord, scope) for s in service_request_jsons(r)]


def _source_care_plans(scope: Scope) -> list[Json]:
    rows = _records(PlanRecord, scope).filter(status="signed")
    return [care_plan_json(p) for p in rows]


def _sessions(scope: Scope) -> Any:
    return _records(TreatmentSession, scope).select_related("plan", "created_by")


def _source_procedures(scope: Scope) -> list[Json]:
    return [procedure_json(s) for s in _sessions(scope)]


def _source_adverse_events(scope: Scope) -> list[Json]:
    return [e for s in _sessions(scope) for e in adverse_event_jsons(s)]


def _source_questionnaire_responses(scope: Scope) -> list[Json]:
    return [questionnaire_response_json(m) for m in _records(Measurement, scope)]


def _source_observations(scope: Scope) -> list[Json]:
    return [o for m in _records(Measurement, scope) for o in observation_jsons(m)]


def _source_questionnaires(scope: Scope) -> list[Json]:
    return questionnaire_jsons()


@dataclass(frozen=True)
class ResourceType:
    name: str
    roles: Collection[Any]
    source: Callable[[Scope], list[Json]]
    id_pattern: str | None
    """How an id names its row (group 1 is the primary key); None when not patient data."""
    patient_params: tuple[str, ...] = ()
    date_param: str | None = None
    code_param: bool = False
    extra_params: tuple[tuple[str, str, str], ...] = ()
    """(name, type, documentation) of further search parameters, listed in metadata."""
    doc: str = ""


RESOURCE_TYPES: dict[str, ResourceType] = {
    t.name: t
    for t in (
        ResourceType(
            "Patient",
            SCHEDULING_ROLES,
            _source_patients,
            r"^(\d+)$",
            doc="The clinic's patients (voided registrations are not served).",
        ),
        ResourceType(
            "Condition",
            CLINICAL_ROLES,
            _source_conditions,
            r"^intake-(\d+)$",
            ("patient", "subject"),
            "recorded-date",
            code_param=True,
            doc="The likely cause of the knee pain assessed at each intake (provisional).",
        ),
        ResourceType(
            "CarePlan",
            CLINICAL_ROLES,
            _source_care_plans,
            r"^plan-(\d+)$",
            ("patient", "subject"),
            "date",
            doc="Signed plans, one activity per scheduled visit.",
        ),
        ResourceType(
            "Procedure",
            CLINICAL_ROLES,
            _source_procedures,
            r"^session-(\d+)$",
            ("patient", "subject"),
            "date",
            doc="Each acupuncture session as delivered (STRICTA items in notes).",
        ),
        ResourceType(
            "AdverseEvent",
            CLINICAL_ROLES,
            _source_adverse_events,
            r"^session-(\d+)-\d+$",
            ("subject",),
            "date",
            doc="Adverse events recorded in sessions.",
        ),
        ResourceType(
            "QuestionnaireResponse",
            CLINICAL_ROLES,
            _source_questionnaire_responses,
            r"^meas-(\d+)$",
            ("patient", "subject"),
            "authored",
            doc="Each measurement's answers; create one with POST (a patient app's self-report).",
        ),
        ResourceType(
            "Observation",
            CLINICAL_ROLES,
            _source_observations,
            r"^meas-(\d+)-[A-Za-z0-9\-.]+$",
            ("patient", "subject"),
            "date",
            code_param=True,
            doc="One Observation per scored subscale, derived from its QuestionnaireResponse.",
        ),
        ResourceType(
            "Flag",
            CLINICAL_ROLES,
            _source_flags,
            r"^intake-(\d+)-[a-z0-9\-]+$",
            ("patient", "subject"),
            "date",
            doc="Each contraindication or precaution the intake's screening found (code.text: "
            "the rule's name), active from the intake's date.",
        ),
        ResourceType(
            "ServiceRequest",
            CLINICAL_ROLES,
            _source_service_requests,
            r"^intake-(\d+)-[a-z0-9\-]+$",
            ("patient", "subject"),
            "authored",
            doc="Each referral the intake's screening proposed (intent proposal; priority from "
            "its urgency; the next step in a note).",
        ),
        ResourceType(
            "Questionnaire",
            ALL_ROLES,
            _source_questionnaires,
            None,
            extra_params=(("url", "uri", "The Questionnaire's canonical URL."),),
            doc="Each instrument: item codes and paraphrased text only (no patient data).",
        ),
    )
}

COMMON_PARAMS = {"_id", "_count", "_offset", "_format", "_total", "_sort"}
PARAM_DOCS: dict[str, tuple[str, str]] = {
    "patient": ("reference", "The patient: Patient/<id> or <id>."),
    "subject": ("reference", "The patient: Patient/<id> or <id> (the only subject type)."),
    "code": ("token", "system|code, |code or code; comma-separated values match any."),
}


def _kind(name: str) -> ResourceType:
    found = RESOURCE_TYPES.get(name)
    if found is None:
        raise FhirError(404, f"resource type {name!r} is not served here", "not-supported")
    return found


# --- search --------------------------------------------------------------------------------------


def _storable(digits: str) -> int | None:
    """The row id written in ``digits``, or None when it is beyond the database's BIGINT (no
    row can have it: comparing it would overflow the driver and answer 500)."""
    number = int(digits)
    return number if number <= DB_INT_MAX else None


def _patient_ids(values: list[str]) -> frozenset[int]:
    out: set[int] = set()
    for value in ",".join(values).split(","):
        parts = value.strip().rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] != "Patient":
            raise FhirError(400, f"patient/subject must reference a Patient, not {value!r}")
        pk = _storable(parts[-1]) if parts[-1].isdigit() else None
        out.add(-1 if pk is None else pk)  # -1: no such patient, matches nothing
    return frozenset(out)


def _code_matches(resource: Json, values: list[str]) -> bool:
    codings = resource.get("code", {}).get("coding", [])
    for token in values:
        system, bar, code = token.rpartition("|")
        for coded in codings:
            if code and coded.get("code") != code:
                continue
            if bar and system and coded.get("system") != system:
                continue
            if bar and not system and coded.get("system"):
                continue
            return True
    return False


def _int_param(request: HttpRequest, name: str, default: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise FhirError(400, f"{name} must be a whole number, not {raw!r}", expression=name)
    return min(int(raw), high)


def _check_params(request: HttpRequest, kind: ResourceType) -> None:
    allowed = set(COMMON_PARAMS) | set(kind.patient_params)
    allowed |= {kind.date_param} if kind.date_param else set()
    allowed |= {"code"} if kind.code_param else set()
    allowed |= {name for name, _, _ in kind.extra_params}
    for name in request.GET:
        if name not in allowed:
            listed = ", ".join(sorted(allowed))
            raise FhirError(
                400,
                f"unknown search parameter {name!r} for {kind.name}; supported: {listed}",
                "not-supported",
                name,
            )


def _id_scope(kind: ResourceType, ids: list[str]) -> frozenset[int] | None:
    if kind.id_pattern is None:
        return None
    pks: set[int] = set()
    for resource_id in ids:
        found = re.match(kind.id_pattern, resource_id)
        pk = _storable(found.group(1)) if found is not None else None
        if pk is not None:
            pks.add(pk)
    return frozenset(pks)


def search_resources(request: HttpRequest, kind: ResourceType) -> list[Json]:
    """Every resource of ``kind`` the caller may see that matches the request's parameters,
    filtered in Python over every resource of the clinic.

    This is the reference semantics of search (``search_page`` must answer the same, which
    tests/fhir/test_search_sql.py checks on random data) and the path of the types with no SQL
    plan (CarePlan, whose period lives in the plan's JSON, Flag and ServiceRequest, read from an
    intake's screening JSON, and Questionnaire, which is no row)."""
    _check_params(request, kind)
    require(request, kind.roles)
    ids = [i.strip() for v in request.GET.getlist("_id") for i in v.split(",") if i.strip()]
    patients: frozenset[int] | None = None
    for name in kind.patient_params:
        if name in request.GET:
            chosen = _patient_ids(request.GET.getlist(name))
            patients = chosen if patients is None else patients & chosen
    scope = Scope(request, patients, _id_scope(kind, ids) if ids else None)
    resources = kind.source(scope)
    if ids:
        resources = [r for r in resources if r.get("id") in ids]
    if kind.date_param:
        for raw in request.GET.getlist(kind.date_param):
            prefix, span = _parse_date_param(raw)
            resources = [
                r
                for r in resources
                if (value := _span(r)) is not None and _date_matches(prefix, span, value)
            ]
    if kind.code_param and "code" in request.GET:
        for value in request.GET.getlist("code"):
            tokens = [t for t in value.split(",") if t]
            resources = [r for r in resources if _code_matches(r, tokens)]
    for url in request.GET.getlist("url"):
        resources = [r for r in resources if r.get("url") == url.split("|", 1)[0]]
    return resources


# --- search in SQL -------------------------------------------------------------------------------
#
# ``search_page`` answers what ``search_resources`` answers (same resources, same order, same
# total) while building only the page's resources: patient, _id and date are SQL filters, a Bundle's
# total is a COUNT, and the page is an OFFSET/LIMIT over the rows in primary-key order (the order
# ``search_resources`` builds them in). Observations (one per scored subscale of a Measurement)
# cannot be counted in SQL portably (it would mean reading score JSON in SQL), so the matching
# Measurements are read as light tuples (pk, instrument, scores), the Observation ids listed from
# them without building anything, and only the page's Measurements fetched in full and mapped.
# AdverseEvents (one per event of a session) are mapped from the matching sessions that record an
# event, which are few; Condition's code filter, read from the assessment, runs on the built
# Conditions after the SQL date filter.


@dataclass(frozen=True)
class Query:
    """A search request's parameters, parsed and checked once."""

    ids: tuple[str, ...]
    patients: frozenset[int] | None
    dates: tuple[tuple[str, Span], ...]
    codes: tuple[tuple[str, ...], ...]
    """Each ``code`` parameter's tokens: a resource must match one token of every parameter."""
    sort: tuple[str, ...]
    """``("date",)``, ``("-date",)`` (by the type's date parameter) or ``()``."""


@dataclass(frozen=True)
class Found:
    """A search's exact total and the resources of the asked page."""

    total: int
    page: list[Json]


def _parse_query(request: HttpRequest, kind: ResourceType) -> Query:
    _check_params(request, kind)
    require(request, kind.roles)
    ids = [i.strip() for v in request.GET.getlist("_id") for i in v.split(",") if i.strip()]
    patients: frozenset[int] | None = None
    for name in kind.patient_params:
        if name in request.GET:
            chosen = _patient_ids(request.GET.getlist(name))
            patients = chosen if patients is None else patients & chosen
    dates: tuple[tuple[str, Span], ...] = ()
    if kind.date_param:
        dates = tuple(_parse_date_param(raw) for raw in request.GET.getlist(kind.date_param))
    codes: tuple[tuple[str, ...], ...] = ()
    if kind.code_param:
        codes = tuple(tuple(t for t in v.split(",") if t) for v in request.GET.getlist("code"))
    # _sort: by the type's date parameter (``-`` descending), ties in the default (id) order.
    sorts = (kind.date_param, f"-{kind.date_param}") if kind.date_param else ()
    sort = tuple(s.strip() for v in request.GET.getlist("_sort") for s in v.split(",") if s)
    for key in sort:
        if key not in sorts:
            allowed = ", ".join(sorts) or "none"
            raise FhirError(
                400,
                f"cannot sort {kind.name} by {key!r}; supported: {allowed}",
                "not-supported",
                "_sort",
            )
    return Query(
        tuple(ids),
        patients,
        dates,
        codes,
        tuple("-date" if k[0] == "-" else "date" for k in sort[:1]),
    )


def _date_q(column: str, prefix: str, span: Span, text: bool = False) -> Q:
    """The rows whose one-day ``column`` matches ``prefix`` and ``span`` as ``_date_matches``
    matches the day's range [d, d+1): exact, since a stored day is whole (``text``: the column is
    an ISO date string, as in JSON, which orders as the dates do)."""
    start: dt.date | str = span[0].isoformat() if text else span[0]
    end: dt.date | str = span[1].isoformat() if text else span[1]
    before_start = Q(**{f"{column}__lt": start})
    before_end = Q(**{f"{column}__lt": end})
    from_start = Q(**{f"{column}__gte": start})
    from_end = Q(**{f"{column}__gte": end})
    lookups = {
        "eq": from_start & before_end,  # ps <= d and d + 1 <= pe
        "ne": before_start | from_end,
        "lt": before_start,  # d < ps
        "le": before_end,  # d < pe
        "gt": from_end,  # d + 1 > pe
        "ge": from_start,  # d + 1 > ps
        "sa": from_end,  # d >= pe
        "eb": before_start,  # d + 1 <= ps
    }
    return lookups[prefix]


def _dated(rows: Any, column: str, query: Query, text: bool = False) -> Any:
    for prefix, span in query.dates:
        rows = rows.filter(_date_q(column, prefix, span, text))
    return rows


def _exact_pks(kind: ResourceType, ids: Iterable[str], render: Callable[[int], str]) -> set[int]:
    """The rows named by ``ids`` whose id is written exactly as served (``meas-07`` names no
    row, as in ``search_resources``, which compares the ids as text)."""
    assert kind.id_pattern is not None
    pks: set[int] = set()
    for resource_id in ids:
        found = re.match(kind.id_pattern, resource_id)
        pk = _storable(found.group(1)) if found is not None else None
        if pk is not None and render(pk) == resource_id:
            pks.add(pk)
    return pks


def _ordered(rows: Any, column: str, query: Query) -> Any:
    """Primary-key order (``search_resources``'s), or by the date column for ``_sort``, ties in
    primary-key order (as a stable sort of ``search_resources``'s list keeps them)."""
    if query.sort == ("date",):
        return rows.order_by(column, "pk")
    if query.sort == ("-date",):
        return rows.order_by(F(column).desc(), "pk")
    return rows.order_by("pk")


def _one_per_row(rows: Any, build: Callable[[Any], Json], offset: int, count: int) -> Found:
    """Types with one resource per row: COUNT, then build only the page's rows."""
    total = rows.count()
    page = [build(row) for row in rows[offset : offset + count]] if count else []
    return Found(total, page)


def _sql_patients(scope: Scope, query: Query, kind: ResourceType, offset: int, count: int) -> Found:
    rows = _live_patients(scope).select_related("clinic")
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, str))
    return _one_per_row(rows.order_by("pk"), patient_json, offset, count)


def _sql_conditions(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    rows = _dated(_records(IntakeRecord, scope), "visit_date", query)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"intake-{pk}"))
    rows = _ordered(rows, "visit_date", query)
    if not query.codes:
        return _one_per_row(rows, condition_json, offset, count)
    # The codes come from the assessment's JSON (a cause's ICD-10 and SNOMED CT codes): matched
    # on the built resources, a few per patient, after the SQL date filter.
    found = [condition_json(r) for r in rows]
    for tokens in query.codes:
        found = [r for r in found if _code_matches(r, list(tokens))]
    return Found(len(found), found[offset : offset + count])


def _session_rows(scope: Scope, query: Query) -> Any:
    """Sessions whose recorded day (``SessionRecord.date`` in ``data``, the day Procedure and
    AdverseEvent carry) matches the date parameters; ``session_date`` holds the same day but is
    written separately, so the filter reads the JSON the mapping reads."""
    rows = _records(TreatmentSession, scope).annotate(
        fhir_day=Cast(KeyTextTransform("date", "data"), CharField())
    )
    return _ordered(_dated(rows, "fhir_day", query, text=True), "fhir_day", query)


def _sql_procedures(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    rows = _session_rows(scope, query)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"session-{pk}"))
    return _one_per_row(rows.select_related("plan", "created_by"), procedure_json, offset, count)


def _sql_adverse_events(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    # Few sessions record an event: the rest are left out in SQL (a missing key stays in).
    rows = _session_rows(scope, query).exclude(data__adverse_events=[])
    found = [e for s in rows.select_related("plan") for e in adverse_event_jsons(s)]
    if query.ids:
        found = [e for e in found if e["id"] in query.ids]
    return Found(len(found), found[offset : offset + count])


def _measurement_rows(scope: Scope, query: Query) -> Any:
    return _dated(_records(Measurement, scope), "measured_on", query)


def _sql_questionnaire_responses(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    rows = _measurement_rows(scope, query)
    if query.ids:
        rows = rows.filter(pk__in=_exact_pks(kind, query.ids, lambda pk: f"meas-{pk}"))
    rows = _ordered(rows, "measured_on", query)
    return _one_per_row(rows, questionnaire_response_json, offset, count)


def _subscale_codes() -> dict[tuple[str, str], Json]:
    """Every Observation ``code`` the mapping writes, by (instrument, subscale): the LOINC code
    where the subscale has one, then acuknee's ``<instrument>.<subscale>``."""
    out: dict[tuple[str, str], Json] = {}
    for inst in load_knowledge().instruments.values():
        for sub in inst.subscales:
            listed = [{"system": fhir_codes.LOINC, "code": sub.loinc}] if sub.loinc else []
            listed.append({"system": fhir_codes.SUBSCALE_SYSTEM, "code": f"{inst.id}.{sub.id}"})
            out[(inst.id, sub.id)] = {"code": {"coding": listed}}
    return out


def _observation_keys(query: Query) -> frozenset[tuple[str, str]] | None:
    """The (instrument, subscale) pairs whose code matches every ``code`` parameter (by
    ``_code_matches`` itself), or None when no code was asked."""
    if not query.codes:
        return None
    chosen = _subscale_codes()
    keys = set(chosen)
    for tokens in query.codes:
        keys = {k for k in keys if _code_matches(chosen[k], list(tokens))}
    return frozenset(keys)


def _sql_observations(
    scope: Scope, query: Query, kind: ResourceType, offset: int, count: int
) -> Found:
    """Observations: the matching Measurements' (pk, instrument, scores) in order, each expanded
    to the ids of its scored subscales (as ``observation_resources`` skips an unscored one), the
    code and _id filters applied to those, and only the page's Measurements mapped."""
    rows = _measurement_rows(scope, query)
    wanted = _observation_keys(query)
    if wanted is not None:
        rows = rows.filter(instrument__in=sorted({i for i, _ in wanted}))
    if query.ids:
        found = (re.match(r"^meas-(\d+)-", i) for i in query.ids)
        pks = {pk for m in found if m is not None and (pk := _storable(m.group(1))) is not None}
        rows = rows.filter(pk__in=pks)
    kb = load_knowledge()
    order = {i.id: [s.id for s in i.subscales] for i in kb.instruments.values()}
    ids = set(query.ids)
    keys: list[tuple[int, str]] = []
    for pk, instrument, scores in _ordered(rows, "measured_on", query).values_list(
        "pk", "instrument", "scores"
    ):
        scored = scores.get("subscales", {})
        for subscale in order[instrument]:
            score = scored.get(subscale)
            if score is None or score.get("value") is None:
                continue
            if wanted is not None and (instrument, subscale) not in wanted:
                continue
            resource_id = f"meas-{pk}-{_fhir_id(subscale)}"
            if ids and resource_id not in ids:
                continue
            keys.append((pk, resource_id))
    chunk = keys[offset : offset + count]
    built: dict[str, Json] = {}
    for measurement in Measurement.objects.filter(pk__in={pk for pk, _ in chunk}):
        built |= {o["id"]: o for o in observation_jsons(measurement)}
    return Found(len(keys), [built[resource_id] for _, resource_id in chunk])


SqlPlan = Callable[[Scope, Query, ResourceType, int, int], Found]
SQL_PLANS: dict[str, SqlPlan] = {
    "Patient": _sql_patients,
    "Condition": _sql_conditions,
    "Procedure": _sql_procedures,
    "AdverseEvent": _sql_adverse_events,
    "QuestionnaireResponse": _sql_questionnaire_responses,
    "Observation": _sql_observations,
}
"""The types searched in SQL; the others (CarePlan, Flag, ServiceRequest, Questionnaire) by
``search_resources`` (Flags and ServiceRequests are a few per intake, read from its screening)."""


def search_page(request: HttpRequest, kind: ResourceType, offset: int, count: int) -> Found:
    """The page ``[offset, offset + count)`` of the resources ``search_resources`` would find
    (sorted by ``_sort`` when given), and their exact total."""
    query = _parse_query(request, kind)
    plan = SQL_PLANS.get(kind.name)
    if plan is None:
        found = search_resources(request, kind)
        if query.sort:
            found = _sorted(found, query.sort[0])
        return Found(len(found), found[offset : offset + count])
    scope = Scope(request, query.patients, _id_scope(kind, list(query.ids)) if query.ids else None)
    return plan(scope, query, kind, offset, count)


def _sorted(resources: list[Json], key: str) -> list[Json]:
    """``_sort`` in Python (a stable sort keeps the id order among equal dates; a resource with
    no date sorts last either way)."""
    dated = [r for r in resources if _span(r) is not None]
    undated = [r for r in resources if _span(r) is None]
    dated.sort(key=lambda r: cast(Span, _span(r))[0], reverse=key.startswith("-"))
    return dated + undated


def _base(request: HttpRequest) -> str:
    return str(request.build_absolute_uri("/fhir/")).rstrip("/")


def _page_link(request: HttpRequest, kind: str, relation: str, offset: int, count: int) -> Json:
    params = [(k, v) for k, values in request.GET.lists() for v in values]
    params = [(k, v) for k, v in params if k not in {"_offset", "_count"}]
    params += [("_count", str(count)), ("_offset", str(offset))]
    return {"relation": relation, "url": f"{_base(request)}/{kind}?{urlencode(params)}"}


@fhir_view
def search_view(request: HttpRequest, kind_name: str) -> HttpResponse:
    """``GET /fhir/<type>?...``: a searchset Bundle, paged by ``_count`` and ``_offset``."""
    if request.method == "POST":
        if kind_name == "QuestionnaireResponse":
            return create_questionnaire_response(request)
        raise FhirError(405, f"{kind_name} cannot be created here", "not-supported")
    if request.method != "GET":
        raise FhirError(405, f"{request.method} is not supported", "not-supported")
    kind = _kind(kind_name)
    count = _int_param(request, "_count", DEFAULT_COUNT, MAX_COUNT)
    offset = _int_param(request, "_offset", 0, 10**9)
    found = search_page(request, kind, offset, count)
    chunk = found.page
    links = [_page_link(request, kind.name, "self", offset, count)]
    if count and offset + count < found.total:
        links.append(_page_link(request, kind.name, "next", offset + count, count))
    if offset > 0 and count:
        links.append(_page_link(request, kind.name, "previous", max(0, offset - count), count))
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": found.total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{_base(request)}/{kind.name}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in chunk
        ],
    }
    if not bundle["entry"]:
        del bundle["entry"]
    return fhir_response(bundle)


def read_resource(request: HttpRequest, kind: ResourceType, resource_id: str) -> Json:
    require(request, kind.roles)
    if not ID_PATTERN.match(resource_id):
        raise FhirError(404, "no such resource", "not-found")
    pks = _id_scope(kind, [resource_id])
    if pks is not None and not pks:
        raise FhirError(404, f"no {kind.name} with id {resource_id!r}", "not-found")
    for resource in kind.source(Scope(request, None, pks)):
        if resource.get("id") == resource_id:
            return resource
    raise FhirError(404, f"no {kind.name} with id {resource_id!r}", "not-found")


@fhir_view
def read_view(request: HttpRequest, kind_name: str, resource_id: str) -> HttpResponse:
    """``GET /fhir/<type>/<id>``."""
    if request.method != "GET":
        raise FhirError(405, "only read (GET) is supported on a resource", "not-supported")
    return fhir_response(read_resource(request, _kind(kind_name), resource_id))


# --- create a QuestionnaireResponse ---------------------------------------------------------------


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
    if len(parts) < 2 or parts[-2] != "Patient" or not parts[-1].isdigit():
        raise FhirError(422, "subject must reference Patient/<id>", "required", where)
    pk = _storable(parts[-1])
    rows = clinic_patients(request).filter(pk=pk, voided_at__isnull=True)
    found = rows.first() if pk is not None else None
    if found is None:
        raise FhirError(422, f"no such patient: {reference}", "not-found", where)
    return found  # type: ignore[no-any-return]


def _authored_day(resource: QuestionnaireResponse) -> dt.date:
    authored = resource.authored
    if authored is None:
        return cast(dt.date, timezone.localdate())
    if isinstance(authored, dt.datetime):
        return timezone.localtime(authored).date() if authored.tzinfo else authored.date()
    return authored if isinstance(authored, dt.date) else _day(str(authored))


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
    require(request, CLINICAL_ROLES)
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
        issues: list[tuple[str, str, str | None]] = [
            ("invalid", str(message), None)
            for messages in form.errors.values()
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
    response["Location"] = f"{_base(request)}/QuestionnaireResponse/{body['id']}"
    return response


# --- metadata ------------------------------------------------------------------------------------


def capability_statement(request: HttpRequest) -> Json:
    """What this server does, truthfully: types, interactions and search parameters."""
    resources = []
    for kind in RESOURCE_TYPES.values():
        params = [{"name": "_id", "type": "token", "documentation": "Resource id(s)."}]
        params += [
            {"name": n, "type": PARAM_DOCS[n][0], "documentation": PARAM_DOCS[n][1]}
            for n in kind.patient_params
        ]
        if kind.date_param:
            params.append(
                {
                    "name": kind.date_param,
                    "type": "date",
                    "documentation": "Prefixes eq, ne, lt, le, gt, ge, sa, eb; to the day.",
                }
            )
        if kind.code_param:
            params.append({"name": "code", "type": "token", "documentation": PARAM_DOCS["code"][1]})
        params += [{"name": n, "type": t, "documentation": d} for n, t, d in kind.extra_params]
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if kind.name == "QuestionnaireResponse":
            interactions.append({"code": "create"})
        entry: Json = {
            "type": kind.name,
            "documentation": kind.doc,
            "interaction": interactions,
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": params,
        }
        if kind.name == "Patient":
            entry["operation"] = [_export_operation("patient-export")]
        resources.append(entry)
    resources.append(
        {
            "type": "Group",
            "documentation": "Only for Bulk Data $export: a Group is a clinic's patients "
            "(its id is the clinic's); Groups are not read or searched.",
            "operation": [_export_operation("group-export")],
        }
    )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "publisher": "acuknee",
        "kind": "instance",
        "software": {"name": "acuknee"},
        "implementation": {
            "description": "acuknee FHIR R4 server (resources validated with R4B models, "
            "wire-compatible with R4 for these types)",
            "url": _base(request),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Bearer token (create at /account/tokens/). Paging: _count (at "
                f"most {MAX_COUNT}, default {DEFAULT_COUNT}) and _offset, with next/previous "
                "links. _sort by the type's date parameter (date, authored or recorded-date; "
                "-date descending), ties in id order. Unknown search parameters are refused (400).",
                "security": {
                    "service": [
                        {
                            "text": "Bearer token",
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                        }
                    ],
                    "description": "Authorization: Bearer <acuknee API token>; the token's user "
                    "sees only their clinic, with the clinic app's role rules.",
                },
                "resource": resources,
                "operation": [_export_operation("export")],
            }
        ],
    }


BULK_DATA_OPERATIONS = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
"""The FHIR Bulk Data Access IG's OperationDefinitions (export, patient-export, group-export)."""


def _export_operation(definition: str) -> Json:
    """A ``$export`` kick-off this server offers (``acuknee.api.bulk_export``), by the IG's
    OperationDefinition."""
    return {"name": "export", "definition": BULK_DATA_OPERATIONS + definition}


def _metadata(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        raise FhirError(405, "metadata is read with GET", "not-supported")
    return fhir_response(capability_statement(request))


metadata_view = fhir_view(_metadata, public=True)


@fhir_view
def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise FhirError(404, "no such FHIR path", "not-found")


urlpatterns: list[URLPattern] = [
    path("metadata", metadata_view, name="fhir-metadata"),
    re_path(r"^(?P<kind_name>[A-Z][A-Za-z]+)$", search_view, name="fhir-search"),
    re_path(r"^(?P<kind_name>[A-Z][A-Za-z]+)/(?P<resource_id>[^/]+)$", read_view, name="fhir-read"),
    re_path(r"^(?P<rest>.*)$", not_found_view),
]
