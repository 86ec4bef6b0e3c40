"""Procedure (a session as delivered), CarePlan (the signed plan) and AdverseEvent.

Everything STRICTA asks of a session (points and sides, depth, angle, de qi, stimulation,
retention, needle type; MacPherson et al. 2010, PLoS Med 7:e1000261) is carried in standard
fields, without extensions: each point is a ``bodySite`` and the rest is written in ``note``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Literal

from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.procedure import Procedure

from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.clinical.planning import Plan, ScheduledVisit
from acuknee.clinical.sessions import AdverseEvent as SessionAdverseEvent
from acuknee.clinical.sessions import NeedledPoint, SessionRecord
from acuknee.clinical.vocabulary import Method, Side
from acuknee.fhir import codes
from acuknee.fhir._build import (
    SIDE_TEXT,
    Json,
    coding,
    concept,
    date_text,
    knowledge,
    reference,
    validating,
    validating_each,
    with_id,
)

CarePlanStatus = Literal["draft", "active", "on-hold", "revoked", "completed", "unknown"]
Visit = tuple[str, int]
"""A scheduled visit by its kind (``session`` or ``reassessment``) and its number among them."""


def care_plan_status(*, current: bool, completed: bool) -> CarePlanStatus:
    """A signed plan's ``CarePlan.status``, by FHIR R4's request-status definitions.

    ``completed`` once every visit is done ("the activity described by the request has been
    fully performed; no further activity will occur"), whether or not a later plan followed;
    else ``active`` for the patient's current plan ("in force and ready to be acted upon"); else
    ``revoked``: a later plan superseded it before it was done ("terminated prior to the known
    full completion of the intended actions; no further activity should occur"), and its
    remaining visits will not take place. Not ``on-hold`` (that expects the plan to resume) nor
    ``entered-in-error`` (the plan was real; a voided plan is not served at all).
    """
    if completed:
        return "completed"
    return "active" if current else "revoked"


def _point_name(code: str, kb: KnowledgeBase) -> str:
    if code.lower() == "ashi":
        return "Ashi point"
    point = kb.points.get(code)
    return f"{code} {point.pinyin}" if point is not None else code


def _point_site(code: str, side: Side, kb: KnowledgeBase) -> Json:
    """A needled point as a body site: the WHO point code in acuknee's point namespace (no SNOMED
    CT point codes were verified), and its name and side as text."""
    text = f"{_point_name(code, kb)}, {SIDE_TEXT[side]}"
    if code.lower() == "ashi":
        return {"text": text}
    return {"coding": [coding(codes.POINT_SYSTEM, code)], "text": text}


def _point_detail(point: NeedledPoint, session: SessionRecord) -> str:
    parts = [f"{point.code} {SIDE_TEXT[point.side]}", point.stimulation.value]
    if point.depth is not None:
        parts.append(f"depth {point.depth.text()}")
    if point.angle is not None:
        parts.append(point.angle)
    if point.de_qi is not None:
        parts.append("de qi obtained" if point.de_qi else "de qi sought, not obtained")
    retention = session.retention_for(point)
    if point.retention_minutes is not None and retention is not None:
        parts.append(f"retained {retention} min")
    return ", ".join(parts)


def _methods(session: SessionRecord, plan: Plan) -> list[Method]:
    found = list(dict.fromkeys(p.stimulation for p in session.points))
    if not found and plan.method is not None:
        found = [plan.method]
    return found


def procedure_data(
    session: SessionRecord,
    plan: Plan,
    patient_ref: str,
    performer_ref: str,
    *,
    condition_ref: str | None = None,
    care_plan_ref: str | None = None,
    resource_id: str | None = None,
    kb: KnowledgeBase | None = None,
) -> Json:
    """One session as a completed Procedure.

    ``code`` is text only ("Acupuncture" and the stimulation methods): SNOMED CT 44868003 could
    not be verified (see ``codes.PROCEDURE_TEXT``). Each needled point is a ``bodySite``; the
    STRICTA session items (2a-2g), the pain ratings before and after and the protocol are notes.
    Adverse events are listed as ``complication`` (their AdverseEvent resources come from
    ``adverse_event_resources``).
    """
    kb = knowledge(kb)
    methods = _methods(session, plan)
    method_text = ", ".join(m.value for m in methods)
    notes: list[str] = [f"Session {session.number}."]
    if plan.protocol_name:
        notes.append(f"Protocol: {plan.protocol_name} ({plan.protocol}).")
    if method_text:
        notes.append(f"Method: {method_text}.")
    if session.points:
        details = "; ".join(_point_detail(p, session) for p in session.points)
        notes.append(f"Points: {details}.")
    if session.insertions is not None:
        notes.append(f"Needle insertions: {session.insertions}.")
    if session.needle is not None:
        notes.append(f"Needles: {session.needle.text()}.")
    if session.retention_minutes is not None:
        notes.append(f"Retention: {session.retention_minutes} min.")
    for pair in session.electro:
        hz = "/".join(f"{f:g}" for f in pair.frequency_hz)
        line = (
            f"Electroacupuncture: {pair.points[0]}-{pair.points[1]} {SIDE_TEXT[pair.side]}, {hz} Hz"
        )
        notes.append(line + (f", {pair.intensity}." if pair.intensity else "."))
    if session.response_sought:
        notes.append(f"Response sought: {session.response_sought}.")
    if session.pain_before is not None or session.pain_after is not None:
        before = "-" if session.pain_before is None else session.pain_before
        after = "-" if session.pain_after is None else session.pain_after
        notes.append(f"Pain (0-10 NRS) before {before}, after {after}.")
    if session.note:
        notes.append(session.note)
    text = codes.PROCEDURE_TEXT + (f" ({method_text})" if method_text else "")
    data: Json = {"resourceType": "Procedure"}
    if care_plan_ref is not None:
        data["basedOn"] = [reference(care_plan_ref)]
    data |= {
        "status": "completed",
        "code": concept(text),
        "subject": reference(patient_ref),
        "performedDateTime": date_text(session.date),
        "performer": [{"actor": reference(performer_ref)}],
    }
    if condition_ref is not None:
        data["reasonReference"] = [reference(condition_ref)]
    if session.points:
        data["bodySite"] = [_point_site(p.code, p.side, kb) for p in session.points]
    if session.adverse_events:
        data["complication"] = [_event_kind(e) for e in session.adverse_events]
    data["note"] = [{"text": n} for n in notes]
    if session.needle is not None:
        data["usedCode"] = [concept(f"Acupuncture needle {session.needle.text()}")]
    return with_id(data, resource_id)


procedure_resource = validating(Procedure, procedure_data)


def _activity(visit: ScheduledVisit, plan: Plan, done: Collection[Visit], ended: bool) -> Json:
    """A visit as an activity: ``completed`` when done; a visit not done is ``scheduled`` while
    the plan is in force and ``cancelled`` once it has ended (R4 CarePlanActivityStatus: "the
    planned care plan activity has been withdrawn"; not ``stopped``, which is for an activity
    already started). Whether a visit is late does not change its status, so a CarePlan changes
    only when its records do (an incremental export can find it by them)."""
    if visit.kind == "session":
        total = f" of {plan.number_of_sessions}" if plan.number_of_sessions else ""
        text = f"Acupuncture session {visit.number}{total} (week {visit.week})"
    else:
        text = f"Reassessment {visit.number} (week {visit.week}): outcome measures"
    if (visit.kind, visit.number) in done:
        status = "completed"
    else:
        status = "cancelled" if ended else "scheduled"
    day = date_text(visit.date)
    return {
        "detail": {
            "kind": "Appointment",
            "code": concept(text),
            "status": status,
            "scheduledPeriod": {"start": day, "end": day},
        }
    }


def care_plan_period(plan: Plan) -> tuple[dt.date, dt.date] | None:
    """The CarePlan's ``period`` (first and last day, both inclusive): from the plan's start (or
    its first visit) to its last visit; None for a plan with no visit. Shared with the FHIR
    server's search, which filters plans by it without building them."""
    if not plan.schedule:
        return None
    return plan.start or plan.schedule[0].date, plan.schedule[-1].date


def care_plan_data(
    plan: Plan,
    patient_ref: str,
    *,
    author_ref: str | None = None,
    condition_ref: str | None = None,
    status: CarePlanStatus = "active",
    visits_done: Collection[Visit] = (),
    resource_id: str | None = None,
    kb: KnowledgeBase | None = None,
) -> Json:
    """A proposed (and, in the clinic, signed) plan as a CarePlan with one activity per visit.

    ``status``: ``draft`` before signing; a signed plan's from ``care_plan_status``. The visits
    in ``visits_done``, by kind and planned number (the clinic's visit states, never a session's
    own number, which runs across the patient's plans), are marked completed; the others are
    scheduled, or cancelled once the plan is ``revoked`` or ``completed``. A refused plan has no
    course to send and raises ``InvalidInput`` naming ``plan.status``.
    """
    kb = knowledge(kb)
    if plan.status != "proposed":
        raise InvalidInput(
            "plan.status", "a refused plan has no care plan: " + "; ".join(plan.refusal_reasons)
        )
    notes: list[str] = []
    if plan.method is not None:
        notes.append(f"Method: {plan.method.value}.")
    if plan.points:
        points = "; ".join(
            f"{_point_name(p.code, kb)} {SIDE_TEXT[p.side]} ({p.role})" for p in plan.points
        )
        notes.append(f"Points: {points}.")
    if plan.ashi_points:
        sides = ", ".join(SIDE_TEXT[s] for s in plan.ashi_sides)
        notes.append(f"Ashi points: {plan.ashi_points} ({sides}).")
    if plan.retention_minutes is not None:
        notes.append(f"Retention: {plan.retention_minutes} min.")
    if plan.sessions_per_week and plan.number_of_sessions:
        notes.append(f"{plan.number_of_sessions} sessions, {plan.sessions_per_week} a week.")
    notes += [f"Warning: {w}" for w in plan.warnings]
    data: Json = {
        "resourceType": "CarePlan",
        "status": status,
        "intent": "plan",
        "title": plan.protocol_name or "Acupuncture plan",
    }
    if plan.rationale:
        data["description"] = plan.rationale
    data["subject"] = reference(patient_ref)
    period = care_plan_period(plan)
    if period is not None:
        data["period"] = {"start": date_text(period[0]), "end": date_text(period[1])}
    if author_ref is not None:
        data["author"] = reference(author_ref)
    if condition_ref is not None:
        data["addresses"] = [reference(condition_ref)]
    if plan.schedule:
        ended = status in ("revoked", "completed")
        data["activity"] = [_activity(v, plan, visits_done, ended) for v in plan.schedule]
    if notes:
        data["note"] = [{"text": n} for n in notes]
    return with_id(data, resource_id)


care_plan_resource = validating(CarePlan, care_plan_data)


def _event_kind(event: SessionAdverseEvent, text: str | None = None) -> Json:
    """The event's kind as a CodeableConcept in acuknee's own code system."""
    kind = event.kind
    return concept(text or event.label, [(codes.ADVERSE_EVENT_KIND_SYSTEM, kind.value, kind.label)])


def adverse_event_data(
    session: SessionRecord,
    patient_ref: str,
    *,
    procedure_ref: str | None = None,
    recorder_ref: str | None = None,
) -> list[Json]:
    """One actual AdverseEvent per event recorded in the session.

    Severity uses FHIR's adverse-event-severity codes, which are acuknee's three bands. The kind
    is coded in acuknee's own system only (no SNOMED CT or MedDRA code was verified). R4
    AdverseEvent has no note or body site, so the point, the note and the action taken are written
    in the event's text; ``suspectEntity`` is the session's Procedure when given.
    """
    out: list[Json] = []
    for event in session.adverse_events:
        where = f" at {event.point}" if event.point else ""
        said = f": {event.note}" if event.note else ""
        text = f"{event.kind.label}{where}{said}. Action taken: {event.action_taken}"
        data: Json = {
            "resourceType": "AdverseEvent",
            "actuality": "actual",
            "event": _event_kind(event, text),
            "subject": reference(patient_ref),
            "date": date_text(session.date),
            "severity": {
                "coding": [
                    coding(
                        codes.ADVERSE_EVENT_SEVERITY,
                        codes.ADVERSE_EVENT_SEVERITY_CODES[event.severity],
                        event.severity.value.capitalize(),
                    )
                ]
            },
        }
        if recorder_ref is not None:
            data["recorder"] = reference(recorder_ref)
        if procedure_ref is not None:
            data["suspectEntity"] = [{"instance": reference(procedure_ref)}]
        out.append(data)
    return out


adverse_event_resources = validating_each(AdverseEvent, adverse_event_data)
