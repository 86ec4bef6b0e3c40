"""A CarePlan at /fhir says of its visits and its standing what the pages say (``care.standing``):
the first planned sessions are done as many as live sessions are logged on the plan, counted in
date order (never by a session's own number, which runs across the patient's plans and keeps
the gap a voided session leaves); a reassessment is done once measured; and only the current
plan is active, a superseded one revoked (or completed, had every visit been done)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.contrib.auth.models import User

from acuknee import demo
from acuknee.care import services
from acuknee.care.queries import today
from acuknee.care.status import visit_states
from acuknee.clinical import Intake, Plan
from acuknee.records.models import Patient, PlanRecord, TreatmentSession
from tests.fhir.server_course import OA_LEFT, Course, Fhir, build_course, fhir_for
from tests.pages import conftest as personas

alice, northside, patient = personas.alice, personas.northside, personas.patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(patient: Patient, alice: User) -> Course:
    """Ada's course (sessions on the plan's first three visits, then a reassessment), with a
    fourth session on the fourth visit's day and the second voided: sessions 1, 3 and 4 live."""
    built = build_course(patient, alice)
    content = Plan.model_validate(built.plan.content)
    fourth = next(v for v in content.schedule if v.kind == "session" and v.number == 4)
    record = demo.session_from_plan(
        content, 4, fourth.date, pain_before=5, pain_after=3, practitioner=alice.username
    )
    built.sessions.append(demo.record_session(built.plan, record, alice))
    second = built.sessions[1]
    services.void(second, alice, "entered for the wrong patient", second.version)
    return built


def care_plan(client: Fhir, plan: PlanRecord) -> dict[str, Any]:
    response = client.get(f"CarePlan/plan-{plan.pk}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def activities(plan: PlanRecord, resource: dict[str, Any]) -> dict[tuple[str, int], str]:
    """Each activity's status by its visit (kind, planned number): one activity per visit of
    the plan's schedule, in order."""
    schedule = Plan.model_validate(plan.content).schedule
    pairs = zip(schedule, resource["activity"], strict=True)
    return {(v.kind, v.number): a["detail"]["status"] for v, a in pairs}


def done(plan: PlanRecord, resource: dict[str, Any]) -> list[tuple[str, int]]:
    return [visit for visit, status in activities(plan, resource).items() if status == "completed"]


def second_plan(patient: Patient, alice: User, *, session: bool) -> PlanRecord:
    """A new intake a week ago and a plan signed from it that day; with ``session``, a session
    logged on it that day (numbered after every session of the patient)."""
    day = today() - dt.timedelta(days=7)
    data = Intake.model_validate(
        {"age": patient.age_on(day), "sex": patient.sex, "duration_weeks": 60.0, **OA_LEFT}
    )
    plan = demo.record_plan(demo.record_intake(patient, data, day, alice), day, alice)
    assert plan is not None
    if session:
        number = max(s.number for s in TreatmentSession.objects.filter(patient=patient)) + 1
        content = Plan.model_validate(plan.content)
        record = demo.session_from_plan(
            content, number, day, pain_before=5, pain_after=3, practitioner=alice.username
        )
        demo.record_session(plan, record, alice)
    return plan


def test_the_visits_done_are_the_first_as_many_as_live_sessions_on_the_plan(
    course: Course, alice: User
) -> None:
    """Sessions 1, 3 and 4 are live: the pages count three sessions, so planned visits 1-3 are
    done; the second is not left "scheduled" with its day past, nor the fourth "completed"."""
    plan = course.plan
    statuses = activities(plan, care_plan(fhir_for(alice), plan))
    assert [n for (kind, n), s in statuses.items() if kind == "session" and s == "completed"] == [
        1,
        2,
        3,
    ]
    assert statuses[("session", 4)] == "scheduled"
    pages = visit_states(
        Plan.model_validate(plan.content),
        plan.start_date,
        sessions_done=3,
        last_measured=course.reassessed_on,
        today=today(),
    )
    assert done(plan, care_plan(fhir_for(alice), plan)) == [
        (v.kind, v.number) for v in pages if v.state == "done"
    ]


def test_a_reassessment_measured_in_its_window_is_completed(
    course: Course, patient: Patient, alice: User
) -> None:
    plan = course.plan
    first = next(v for v in Plan.model_validate(plan.content).schedule if v.kind == "reassessment")
    client = fhir_for(alice)
    assert activities(plan, care_plan(client, plan))[("reassessment", 1)] == "scheduled"
    answers = demo.visit_answers(random.Random(5), 0.3)["pain_nrs"]
    demo.record_measurement(patient, "pain_nrs", answers, first.date, alice)
    assert activities(plan, care_plan(client, plan))[("reassessment", 1)] == "completed"


def test_a_later_plans_first_session_is_its_first_visit_not_the_patients_fifth(
    course: Course, patient: Patient, alice: User
) -> None:
    later = second_plan(patient, alice, session=True)
    resource = care_plan(fhir_for(alice), later)
    assert done(later, resource) == [("session", 1)]
    assert "session 1 of" in resource["activity"][0]["detail"]["code"]["text"]


def test_only_the_current_plan_is_active_and_a_superseded_one_is_revoked(
    course: Course, patient: Patient, alice: User
) -> None:
    """The pages treat the latest signed plan as the patient's plan; the earlier one was left
    before its visits were done: R4's ``revoked`` ("no further activity should occur"), its
    visits done still completed and the others cancelled."""
    client = fhir_for(alice)
    before = activities(course.plan, care_plan(client, course.plan))
    later = second_plan(patient, alice, session=True)
    response = client.get("CarePlan", patient=str(patient.pk))
    assert response.status_code == 200, response.content
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in response.json()["entry"]}
    assert statuses == {f"plan-{course.plan.pk}": "revoked", f"plan-{later.pk}": "active"}
    after = activities(course.plan, care_plan(client, course.plan))
    assert {v for v, s in after.items() if s == "completed"} == {
        v for v, s in before.items() if s == "completed"
    }
    assert {s for v, s in after.items() if before[v] == "scheduled"} == {"cancelled"}


def test_a_superseded_plan_whose_every_visit_was_done_is_completed(
    patient: Patient, alice: User
) -> None:
    built = build_course(patient, alice)
    content = Plan.model_validate(built.plan.content)
    answers = demo.visit_answers(random.Random(3), 0.2)["pain_nrs"]
    for visit in content.schedule:
        if visit.kind == "session" and visit.number > 3:
            record = demo.session_from_plan(
                content,
                visit.number,
                visit.date,
                pain_before=3,
                pain_after=2,
                practitioner=alice.username,
            )
            demo.record_session(built.plan, record, alice)
        elif visit.kind == "reassessment":
            demo.record_measurement(patient, "pain_nrs", answers, visit.date, alice)
    client = fhir_for(alice)
    assert care_plan(client, built.plan)["status"] == "completed"
    second_plan(patient, alice, session=False)
    resource = care_plan(client, built.plan)
    assert resource["status"] == "completed"
    assert {a["detail"]["status"] for a in resource["activity"]} == {"completed"}
