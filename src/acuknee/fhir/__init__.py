"""acuknee.fhir: pure mapping from the clinical core's models to FHIR R4 resources (README.md).

Every function takes core models (``acuknee.clinical``) and the inputs of ``inputs.py`` and
returns a resource validated by fhir.resources (R4B models). Errors are the core's: bad answers
or an unusable input raise ``InvalidInput`` / ``InvalidInputs`` naming the field or item; a
resource fhir.resources rejects raises pydantic's ``ValidationError`` (a mapping bug).
"""

from acuknee.fhir.bundle import collection_bundle
from acuknee.fhir.condition import condition_resource
from acuknee.fhir.inputs import PatientInfo, PractitionerInfo, RecordIdentifier
from acuknee.fhir.observation import observation_resources
from acuknee.fhir.patient import patient_resource, practitioner_resource
from acuknee.fhir.questionnaire import (
    answers_from_questionnaire_response,
    questionnaire_resource,
    questionnaire_response_resource,
)
from acuknee.fhir.safety import flag_resource, service_request_resource
from acuknee.fhir.treatment import (
    adverse_event_resources,
    care_plan_period,
    care_plan_resource,
    procedure_resource,
)

__all__ = [
    "PatientInfo",
    "PractitionerInfo",
    "RecordIdentifier",
    "adverse_event_resources",
    "answers_from_questionnaire_response",
    "care_plan_period",
    "care_plan_resource",
    "collection_bundle",
    "condition_resource",
    "flag_resource",
    "observation_resources",
    "patient_resource",
    "practitioner_resource",
    "procedure_resource",
    "questionnaire_resource",
    "questionnaire_response_resource",
    "service_request_resource",
]
