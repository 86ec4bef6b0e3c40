"""Patient and Practitioner: who the care is for and who gives it."""

from __future__ import annotations

from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner

from acuknee.clinical.vocabulary import Sex
from acuknee.fhir._build import Json, date_text, validated, validating, with_id
from acuknee.fhir.inputs import PatientInfo, PractitionerInfo, RecordIdentifier

# FHIR administrative-gender has exactly acuknee's four values (male | female | other | unknown);
# the map is spelled out so a new Sex member fails here instead of emitting an invalid code.
GENDER: dict[Sex, str] = {
    Sex.FEMALE: "female",
    Sex.MALE: "male",
    Sex.OTHER: "other",
    Sex.UNKNOWN: "unknown",
}


def _identifier(identifier: RecordIdentifier) -> Json:
    return {"system": identifier.system, "value": identifier.value}


def patient_data(info: PatientInfo) -> Json:
    """A Patient with the clinic's record number (its own identifier system), name, birth date
    and administrative gender."""
    data: Json = {
        "resourceType": "Patient",
        "identifier": [{"use": "usual", **_identifier(info.record_number)}],
        "active": True,
        "name": [{"use": "official", "family": info.family_name, "given": [info.given_name]}],
        "gender": GENDER[info.sex],
        "birthDate": date_text(info.birth_date),
    }
    return with_id(data, info.id)


patient_resource = validating(Patient, patient_data)


def practitioner_resource(info: PractitionerInfo) -> Practitioner:
    """A Practitioner: name and, when recorded, the professional registration number."""
    data: Json = {
        "resourceType": "Practitioner",
        "active": True,
        "name": [{"family": info.family_name, "given": [info.given_name]}],
    }
    if info.registration is not None:
        data["identifier"] = [_identifier(info.registration)]
    return validated(Practitioner, with_id(data, info.id))
