"""acuknee.fhir: pure mapping from the clinical core's models to FHIR R4 resources (README.md).

Every mapping takes core models (``acuknee.clinical``) and the inputs of ``inputs.py`` and comes
in two forms: ``*_data`` builds the resource as plain FHIR JSON (what the ``/fhir`` read path
serves: validating every resource served cost most of a search), and ``*_resource`` returns it
validated by fhir.resources (R4B models), for callers that want a checked model and for the tests
that prove each ``*_data`` dict is exactly its validated resource's JSON. Errors are the core's:
bad answers or an unusable input raise ``InvalidInput`` / ``InvalidInputs`` naming the field or
item; a resource fhir.resources rejects raises pydantic's ``ValidationError`` (a mapping bug).
"""

from acuknee.fhir.bundle import collection_bundle
from acuknee.fhir.condition import condition_data, condition_resource
from acuknee.fhir.inputs import (
    PatientInfo,
    PractitionerInfo,
    RecordIdentifier,
    ReferralOutcomeInfo,
)
from acuknee.fhir.observation import observation_data, observation_resources
from acuknee.fhir.patient import patient_data, patient_resource, practitioner_resource
from acuknee.fhir.questionnaire import (
    answers_from_questionnaire_response,
    questionnaire_data,
    questionnaire_resource,
    questionnaire_response_data,
    questionnaire_response_resource,
)
from acuknee.fhir.safety import (
    flag_data,
    flag_resource,
    service_request_data,
    service_request_resource,
)
from acuknee.fhir.treatment import (
    adverse_event_data,
    adverse_event_resources,
    care_plan_data,
    care_plan_period,
    care_plan_resource,
    care_plan_status,
    procedure_data,
    procedure_resource,
)

__all__ = [
    "PatientInfo",
    "PractitionerInfo",
    "RecordIdentifier",
    "ReferralOutcomeInfo",
    "adverse_event_data",
    "adverse_event_resources",
    "answers_from_questionnaire_response",
    "care_plan_data",
    "care_plan_period",
    "care_plan_resource",
    "care_plan_status",
    "collection_bundle",
    "condition_data",
    "condition_resource",
    "flag_data",
    "flag_resource",
    "observation_data",
    "observation_resources",
    "patient_data",
    "patient_resource",
    "practitioner_resource",
    "procedure_data",
    "procedure_resource",
    "questionnaire_data",
    "questionnaire_resource",
    "questionnaire_response_data",
    "questionnaire_response_resource",
    "service_request_data",
    "service_request_resource",
]
