"""Flag and ServiceRequest: the screening's safety findings and referrals, for an EHR to show.

Each contraindication or precaution that applies is a clinical ``Flag`` (R4 Flag: "a
prospective warning of potential issues when providing care to the patient"), active while its
intake is the patient's current one and ``inactive`` (R4: "the flag no longer needs to be
displayed"), with the end of its period, once a later intake supersedes it. Each referral is a
``ServiceRequest`` with intent *proposal* (acuknee proposes the referral, the practitioner makes
it), active while it stands and ``completed`` once an outcome that cleared it is recorded. The
caller says which (the care layer's ``care.standing``, the facts the safety banner reads).

Only standard elements are used. A Flag has no note element, so it carries the rule's name as
``code.text`` (no verified SNOMED CT code exists for these rules: text only, as ``codes.py``
says); its sources stay in the knowledge base. A ServiceRequest carries the action as
``code.text``, the reason as ``reasonCode.text``, what the receiving service will do next as a
``note``, and once cleared, who saw the patient and when as another.
"""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.servicerequest import ServiceRequest

from acuknee.clinical.screening import Referral, SafetyFinding
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, concept, date_text, reference, validating, with_id
from acuknee.fhir.inputs import ReferralOutcomeInfo


def flag_data(
    finding: SafetyFinding,
    patient_ref: str,
    *,
    recorded: dt.date,
    ended: dt.date | None = None,
    author_ref: str | None = None,
    resource_id: str | None = None,
) -> Json:
    """The finding as a clinical Flag from the intake's date (``period.start``): ``active``, or
    with ``ended`` (the visit date of the intake that superseded its intake) ``inactive`` with
    that day as ``period.end``."""
    period = {"start": date_text(recorded)}
    if ended is not None:
        period["end"] = date_text(ended)
    data: Json = {
        "resourceType": "Flag",
        "status": "active" if ended is None else "inactive",
        "category": [
            {"coding": [coding(codes.FLAG_CATEGORY, "clinical", "Clinical")]},
        ],
        "code": concept(finding.name),
        "subject": reference(patient_ref),
        "period": period,
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
    cleared: ReferralOutcomeInfo | None = None,
    requester_ref: str | None = None,
    resource_id: str | None = None,
) -> Json:
    """The referral as a proposed ServiceRequest; priority from its urgency
    (``codes.REQUEST_PRIORITY``).

    ``active`` ("in force and ready to be acted upon") while it stands; with ``cleared``, the
    recorded outcome that lifted it, ``completed`` (R4 request-status: "the activity described
    by the request has been fully performed"): the patient was seen, by whom and when a note
    says. Not ``revoked``, which is a request withdrawn before it was carried out: acuknee
    records no such act (a voided intake's resources are not served at all).
    """
    data: Json = {
        "resourceType": "ServiceRequest",
        "status": "active" if cleared is None else "completed",
        "intent": "proposal",
        "priority": codes.REQUEST_PRIORITY[referral.urgency],
        "code": concept(referral.action),
        "subject": reference(patient_ref),
        "authoredOn": date_text(authored),
    }
    if requester_ref is not None:
        data["requester"] = reference(requester_ref)
    data["reasonCode"] = [concept(referral.reason)]
    notes = [referral.next_step] if referral.next_step else []
    if cleared is not None:
        seen = f"Seen by {cleared.seen_by} on {date_text(cleared.seen_on)}: cleared, acupuncture "
        notes.append(seen + "may go ahead." + (f" {cleared.note}" if cleared.note else ""))
    if notes:
        data["note"] = [{"text": n} for n in notes]
    return with_id(data, resource_id)


service_request_resource = validating(ServiceRequest, service_request_data)
