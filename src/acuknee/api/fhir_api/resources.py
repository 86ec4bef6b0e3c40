"""The resource types served at ``/fhir`` and how the clinic's rows become resources.

Each type is declared once in ``RESOURCE_TYPES``: its roles (one declaration per type, used by
search and read alike), its rows and its id pattern. Resource ids are stable and derived from the
database rows: ``Patient/<pk>``, ``Condition/intake-<pk>``, ``CarePlan/plan-<pk>``,
``Procedure/session-<pk>``, ``AdverseEvent/session-<pk>-<n>``, ``QuestionnaireResponse/meas-<pk>``,
``Observation/meas-<pk>-<subscale>``, ``Questionnaire/<instrument>``, and from each intake's
stored screening ``Flag/intake-<pk>-<rule>`` (a contraindication or precaution) and
``ServiceRequest/intake-<pk>-<rule>`` (a referral), the rule id with ``-`` for ``_``. Voided
records (and every record of a voided patient) are not served. The ``*_json`` mappers are shared
with bulk ``$export`` so both serve the same resources.

What stands is the care layer's (``care.standing``), as the pages read it: a CarePlan's
activities are its visit states and its status says whether it is the current plan; a Flag is
active while its intake is the latest, a ServiceRequest while its referral stands. A mapper
reads these facts from annotations its rows came with (``with_plan_standing``,
``with_intake_standing``: no query per row), or queries them for a bare row.

The mappers build plain JSON with the mapping's ``*_data`` functions, never a fhir.resources model
(validating every resource served cost most of a search page): tests/fhir/test_search_mapping.py
checks, for every served type, that what they build is byte for byte what the validated
``*_resource`` mappings make of the same records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.http import HttpRequest

from acuknee.accounts.access import CLINICAL_ROLES, SCHEDULING_ROLES
from acuknee.api.auth import ALL_ROLES, clinic_patients, require
from acuknee.api.fhir_api.responses import FhirError, Json
from acuknee.care.queries import live, today
from acuknee.care.standing import (
    intake_standing,
    plan_standing,
    with_intake_standing,
    with_plan_standing,
)
from acuknee.clinical import load_knowledge
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
    ReferralOutcomeInfo,
    adverse_event_data,
    care_plan_data,
    care_plan_status,
    condition_data,
    flag_data,
    observation_data,
    patient_data,
    procedure_data,
    questionnaire_data,
    questionnaire_response_data,
    service_request_data,
)
from acuknee.records.ids import storable_pk
from acuknee.records.models import IntakeRecord, Measurement, Patient, PlanRecord, TreatmentSession

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
logger = logging.getLogger(__name__)


def _clinic_system(patient: Patient) -> str:
    return f"urn:acuknee:clinic:{patient.clinic.slug}:record-number"


def patient_json(patient: Patient) -> Json:
    info = PatientInfo(
        record_number=RecordIdentifier(system=_clinic_system(patient), value=patient.record_number),
        given_name=patient.given_name,
        family_name=patient.family_name,
        birth_date=patient.date_of_birth,
        sex=Sex(patient.sex),
        id=str(patient.pk),
    )
    return patient_data(info)


def condition_json(record: IntakeRecord) -> Json:
    return condition_data(
        Assessment.model_validate(record.assessment),
        Intake.model_validate(record.data),
        f"Patient/{record.patient_id}",
        recorded=record.visit_date,
        resource_id=f"intake-{record.pk}",
    )


def flag_jsons(record: IntakeRecord) -> list[Json]:
    """One Flag per contraindication or precaution of the intake's stored screening: active
    while the intake is the patient's latest (the one the safety banner shows), inactive from the
    visit of the intake that superseded it."""
    screening = Screening.model_validate(record.screening)
    if not screening.findings:
        return []
    ended = intake_standing(record).superseded_on
    return [
        flag_data(
            finding,
            f"Patient/{record.patient_id}",
            recorded=record.visit_date,
            ended=ended,
            resource_id=f"intake-{record.pk}-{fhir_id(finding.rule)}",
        )
        for finding in screening.findings
    ]


def service_request_jsons(record: IntakeRecord) -> list[Json]:
    """One proposed ServiceRequest per referral of the intake's stored screening: active while
    the referral stands, completed once an outcome that cleared it is recorded."""
    screening = Screening.model_validate(record.screening)
    if not screening.referrals:
        return []
    found = intake_standing(record).cleared
    cleared = None
    if found is not None:
        cleared = ReferralOutcomeInfo(seen_by=found.seen_by, seen_on=found.seen_on, note=found.note)
    return [
        service_request_data(
            referral,
            f"Patient/{record.patient_id}",
            authored=record.visit_date,
            cleared=cleared,
            resource_id=f"intake-{record.pk}-{fhir_id(referral.rule)}",
        )
        for referral in screening.referrals
    ]


def intake_rows(rows: Any) -> Any:
    """Intake rows with what their Flags and ServiceRequests read (``with_intake_standing``)."""
    return with_intake_standing(rows)


def plan_rows(rows: Any) -> Any:
    """Plan rows with what their CarePlans read (``with_plan_standing``, as of today)."""
    return with_plan_standing(rows, today())


def care_plan_json(plan: PlanRecord) -> Json:
    """The signed plan as the pages show it: its visits' states (done, by the sessions logged on
    it in date order, never by a session's own number) and whether it is still the current plan
    (``care.standing.plan_standing``)."""
    content = Plan.model_validate(plan.content)
    standing = plan_standing(plan, content)
    return care_plan_data(
        content,
        f"Patient/{plan.patient_id}",
        condition_ref=f"Condition/intake-{plan.intake_id}",
        status=care_plan_status(current=standing.current, completed=standing.completed),
        visits_done={(v.kind, v.number) for v in standing.visits if v.state == "done"},
        resource_id=f"plan-{plan.pk}",
    )


def _performer(session: TreatmentSession) -> Json:
    user = session.created_by
    if user is None:
        return {"display": "Unknown practitioner"}
    return {"display": user.get_full_name() or user.get_username()}


def procedure_json(session: TreatmentSession) -> Json:
    plan = session.plan
    signed = plan.status == "signed" and not plan.is_voided
    data = procedure_data(
        SessionRecord.model_validate(session.data),
        Plan.model_validate(plan.content),
        f"Patient/{session.patient_id}",
        "Practitioner/unknown",
        condition_ref=f"Condition/intake-{plan.intake_id}",
        care_plan_ref=f"CarePlan/plan-{plan.pk}" if signed else None,
        resource_id=f"session-{session.pk}",
    )
    # Practitioners are not served: the performer is named (display), not referenced.
    data["performer"] = [{"actor": _performer(session)}]
    return data


def adverse_event_jsons(session: TreatmentSession) -> list[Json]:
    events = adverse_event_data(
        SessionRecord.model_validate(session.data),
        f"Patient/{session.patient_id}",
        procedure_ref=f"Procedure/session-{session.pk}",
    )
    # The id after resourceType, where FHIR JSON (and fhir.resources) has it.
    return [
        {"resourceType": "AdverseEvent", "id": f"session-{session.pk}-{number}", **data}
        for number, data in enumerate(events, start=1)
    ]


def _answers(measurement: Measurement) -> dict[str, float | None]:
    return {k: (None if v is None else float(v)) for k, v in measurement.answers.items()}


def questionnaire_response_json(measurement: Measurement) -> Json:
    return questionnaire_response_data(
        measurement.instrument,
        _answers(measurement),
        measurement.measured_on,
        f"Patient/{measurement.patient_id}",
        resource_id=f"meas-{measurement.pk}",
    )


def fhir_id(text: str) -> str:
    return text.replace("_", "-")


def observation_jsons(measurement: Measurement) -> list[Json]:
    scores = Scores.model_validate(measurement.scores)
    kb = load_knowledge()
    subscales = [s.id for s in kb.instruments[measurement.instrument].subscales]
    scored = [
        s for s in subscales if s in scores.subscales and scores.subscales[s].value is not None
    ]
    resources = observation_data(
        scores,
        measurement.instrument,
        measurement.measured_on,
        f"Patient/{measurement.patient_id}",
        f"QuestionnaireResponse/meas-{measurement.pk}",
        kb=kb,
    )
    # The id after resourceType, where a search page (``bulk.observation_dicts``) has it.
    return [
        {"resourceType": "Observation", "id": f"meas-{measurement.pk}-{fhir_id(subscale)}", **data}
        for subscale, data in zip(scored, resources, strict=True)
    ]


def questionnaire_jsons() -> list[Json]:
    return [questionnaire_data(i) for i in sorted(load_knowledge().instruments)]


@dataclass(frozen=True)
class Unmapped:
    """A stored record whose resources of a type could not be built (bad stored data): a search
    leaves it out and says so in an OperationOutcome entry."""

    resource_type: str
    table: str
    pk: Any

    def outcome(self) -> Json:
        """Names the record (table and id), never its content: that is what could not be read."""
        message = (
            f"a {self.resource_type} of {self.table} {self.pk} could not be built from the "
            "stored record and was left out"
        )
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "exception", "diagnostics": message}],
        }


@dataclass(frozen=True, eq=False)
class Scope:
    """What a search or read may see: the caller's clinic, narrowed by patient or row.

    ``unmapped`` (a search's) collects the records that could not be mapped, which are then left
    out; without it (a read) the error propagates."""

    request: HttpRequest
    patients: frozenset[int] | None = None
    pks: frozenset[int] | None = None
    unmapped: list[Unmapped] | None = None


R = TypeVar("R")


def mapped(
    scope: Scope,
    resource_type: str,
    records: Iterable[R],
    build: Callable[[R], list[Json]],
    *,
    table: str | None = None,
) -> list[Json]:
    """``build``'s resources of every record; with ``scope.unmapped``, one that raises is logged
    (table and id only), listed there and left out, so one bad record cannot fail a page.
    ``table`` names the table of ``.values()`` rows (dicts, their key ``id``)."""
    out: list[Json] = []
    for record in records:
        if scope.unmapped is None:
            out.extend(build(record))
            continue
        try:
            built = build(record)
        except Exception:
            if table is not None and isinstance(record, dict):
                name, pk = table, record.get("id")
            else:
                name, pk = type(record).__name__, getattr(record, "pk", None)
            logger.exception(
                "FHIR %s of %s %s could not be mapped; left out", resource_type, name, pk
            )
            scope.unmapped.append(Unmapped(resource_type, name, pk))
            continue
        out.extend(built)
    return out


def one(build: Callable[[R], Json]) -> Callable[[R], list[Json]]:
    """A one-resource builder as ``mapped`` takes it."""
    return lambda record: [build(record)]


def live_patients(scope: Scope) -> Any:
    rows = live(clinic_patients(scope.request))
    if scope.patients is not None:
        rows = rows.filter(pk__in=scope.patients)
    return rows


def live_records(model: Any, scope: Scope) -> Any:
    rows = live(model).filter(patient__in=live_patients(scope))
    if scope.pks is not None:
        rows = rows.filter(pk__in=scope.pks)
    return rows.order_by("pk")


def _source_patients(scope: Scope) -> list[Json]:
    rows = live_patients(scope).select_related("clinic").order_by("pk")
    if scope.pks is not None:
        rows = rows.filter(pk__in=scope.pks)
    return mapped(scope, "Patient", rows, one(patient_json))


def _source_conditions(scope: Scope) -> list[Json]:
    return mapped(scope, "Condition", live_records(IntakeRecord, scope), one(condition_json))


def _source_flags(scope: Scope) -> list[Json]:
    return mapped(scope, "Flag", intake_rows(live_records(IntakeRecord, scope)), flag_jsons)


def _source_service_requests(scope: Scope) -> list[Json]:
    rows = intake_rows(live_records(IntakeRecord, scope))
    return mapped(scope, "ServiceRequest", rows, service_request_jsons)


def _source_care_plans(scope: Scope) -> list[Json]:
    rows = plan_rows(live_records(PlanRecord, scope).filter(status="signed"))
    return mapped(scope, "CarePlan", rows, one(care_plan_json))


def _sessions(scope: Scope) -> Any:
    return live_records(TreatmentSession, scope).select_related("plan", "created_by")


def _source_procedures(scope: Scope) -> list[Json]:
    return mapped(scope, "Procedure", _sessions(scope), one(procedure_json))


def _source_adverse_events(scope: Scope) -> list[Json]:
    return mapped(scope, "AdverseEvent", _sessions(scope), adverse_event_jsons)


def _source_questionnaire_responses(scope: Scope) -> list[Json]:
    rows = live_records(Measurement, scope)
    return mapped(scope, "QuestionnaireResponse", rows, one(questionnaire_response_json))


def _source_observations(scope: Scope) -> list[Json]:
    return mapped(scope, "Observation", live_records(Measurement, scope), observation_jsons)


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
            doc="Signed plans, one activity per scheduled visit (completed when done, as the "
            "pages count it); active while current, revoked once a later plan superseded it, "
            "completed once every visit is done.",
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
            "the rule's name), active from the intake's date while the intake is the latest, "
            "inactive once a later intake supersedes it (period.end).",
        ),
        ResourceType(
            "ServiceRequest",
            CLINICAL_ROLES,
            _source_service_requests,
            r"^intake-(\d+)-[a-z0-9\-]+$",
            ("patient", "subject"),
            "authored",
            doc="Each referral the intake's screening proposed (intent proposal; priority from "
            "its urgency; the next step in a note): active while it stands, completed once an "
            "outcome that cleared it is recorded.",
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


def kind_named(name: str) -> ResourceType:
    found = RESOURCE_TYPES.get(name)
    if found is None:
        raise FhirError(404, f"resource type {name!r} is not served here", "not-supported")
    return found


def id_scope(kind: ResourceType, ids: list[str]) -> frozenset[int] | None:
    if kind.id_pattern is None:
        return None
    pks: set[int] = set()
    for resource_id in ids:
        found = re.match(kind.id_pattern, resource_id)
        pk = storable_pk(found.group(1)) if found is not None else None
        if pk is not None:
            pks.add(pk)
    return frozenset(pks)


def read_resource(request: HttpRequest, kind: ResourceType, resource_id: str) -> Json:
    require(request, kind.roles)
    if not ID_PATTERN.match(resource_id):
        raise FhirError(404, "no such resource", "not-found")
    pks = id_scope(kind, [resource_id])
    if pks is not None and not pks:
        raise FhirError(404, f"no {kind.name} with id {resource_id!r}", "not-found")
    try:
        resources = kind.source(Scope(request, None, pks))
    except FhirError:
        raise
    except Exception:
        # The id was asked for; the record's content is what failed, so it is not repeated.
        logger.exception(
            "FHIR read of %s/%s: the stored record could not be mapped", kind.name, resource_id
        )
        raise FhirError(
            500, f"{kind.name}/{resource_id} could not be built from its stored record", "exception"
        ) from None
    for resource in resources:
        if resource.get("id") == resource_id:
            return resource
    raise FhirError(404, f"no {kind.name} with id {resource_id!r}", "not-found")
