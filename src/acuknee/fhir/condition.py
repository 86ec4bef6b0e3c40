"""Condition: the likely cause of the knee pain, with verified codes and laterality as body site."""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.condition import Condition

from acuknee.clinical.assessment import Assessment
from acuknee.clinical.intake import Intake
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, concept, date_text, reference, validating, with_id


def condition_data(
    assessment: Assessment,
    intake: Intake,
    patient_ref: str,
    *,
    recorded: dt.date,
    asserter_ref: str | None = None,
    resource_id: str | None = None,
) -> Json:
    """The assessment's likely cause as a provisional encounter diagnosis.

    Codes come from ``codes.cause_codings`` (fact sheet section 10: SNOMED CT 239873007 and
    30989003; ICD-10-CM M17.9, M25.56x, M22.2Xx); causes without a verified code are text only.
    The side of the intake is the body site (SNOMED CT knee-region codes verified with the
    search tool, see ``codes.KNEE_BODY_SITE``). Verification status is *provisional*: the
    assessment is decision support, not a diagnosis. Severity, when banded, is sent as text,
    because no SNOMED CT severity code was verified.
    """
    cause = assessment.likely_cause
    site_code, site_display, site_text = codes.KNEE_BODY_SITE[intake.side]
    notes: list[Json] = [{"text": assessment.summary}, {"text": assessment.disclaimer}]
    data: Json = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [coding(codes.CONDITION_CLINICAL, "active", "Active")]},
        "verificationStatus": {
            "coding": [coding(codes.CONDITION_VERIFICATION, "provisional", "Provisional")]
        },
        "category": [
            {
                "coding": [
                    coding(codes.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
                ]
            }
        ],
    }
    if assessment.severity is not None:
        data["severity"] = {"text": assessment.severity.value}
        notes.append({"text": assessment.severity_basis})
    data["code"] = concept(
        f"{codes.CAUSE_TEXT[cause]}, {site_text.lower()}",
        codes.cause_codings(cause, intake.side),
    )
    data["bodySite"] = [concept(site_text, [(codes.SNOMED, site_code, site_display)])]
    data["subject"] = reference(patient_ref)
    data["recordedDate"] = date_text(recorded)
    if asserter_ref is not None:
        data["asserter"] = reference(asserter_ref)
    if assessment.reasons:
        data["evidence"] = [{"code": [{"text": reason}]} for reason in assessment.reasons]
    data["note"] = notes
    return with_id(data, resource_id)


condition_resource = validating(Condition, condition_data)
