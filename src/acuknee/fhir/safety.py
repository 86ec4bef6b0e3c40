"""Flag and ServiceRequest: the screening's safety findings and referrals, for an EHR to show.

Each contraindication or precaution that applies is an active clinical ``Flag`` (R4 Flag: "a
prospective warning of potential issues when providing care to the patient"), and each referral
is a ``ServiceRequest`` with intent *proposal*: acuknee proposes the referral, the practitioner
makes it. Only standard elements are used. A Flag has no note element, so it carries the rule's
name as ``code.text`` (no verified SNOMED CT code exists for these rules: text only, as
``codes.py`` says); its sources stay in the knowledge base. A ServiceRequest carries the action
as ``code.text``, the reason as ``reasonCode.text`` and what the receiving service will do next
as a ``note``.
"""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.servicerequest import ServiceRequest

from acuknee.clinical.screening import Referral, SafetyFinding
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, concept, date_text, reference, validating, with_id


def flag_data(
    finding: SafetyFinding,
    patient_ref: str,
    *,
    recorded: dt.date,
    author_ref: str | None = None,
    resource_id: str | None = None,
) -> Json:
    """The finding as an active clinical Flag from the intake's date (``period.start``)."""
    data: Json = {
        "resourceType": "Flag",
        "status": "active",
        "category": [
            {"coding": [coding(codes.FLAG_CATEGORY, "clinical", "Clinical")]},
        ],
        "code": concept(finding.name),
        "subject": reference(patient_ref),
        "period": {"start": date_text(recorded)},
    }
    if author_ref is not None:
        data["author"] = reference(author_ref)
    return with_id(data, resource_id)


flag_resource = validating(Flag, flag_data)


def service_request_data(
    referral: Referral,
    patient_ref: str,
    *,
    authored: dt.date,
    requester_ref: str | None = None,
    resource_id: str | None = None,
) -> Json:
    """The referral as a proposed ServiceRequest; priority from its urgency
    (``codes.REQUEST_PRIORITY``)."""
    data: Json = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "proposal",
        "priority": codes.REQUEST_PRIORITY[referral.urgency],
        "code": concept(referral.action),
        "subject": reference(patient_ref),
        "authoredOn": date_text(authored),
    }
    if requester_ref is not None:
        data["requester"] = reference(requester_ref)
    data["reasonCode"] = [concept(referral.reason)]
    if referral.next_step:
        data["note"] = [{"text": referral.next_step}]
    return with_id(data, resource_id)


service_request_resource = validating(ServiceRequest, service_request_data)
