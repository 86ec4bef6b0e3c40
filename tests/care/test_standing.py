"""What stands of a plan and of an intake (``care.standing``), the facts the FHIR server and
the export read, held to the definitions the pages use: the visit states of the outcomes and
appointments sections, ``signed_plan``, ``latest_intake`` and ``open_referrals``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from acuknee.care import queries, services
from acuknee.care.chart import chart_of
from acuknee.care.standing import (
    ReferralCleared,
    intake_standing,
    plan_standing,
    with_intake_standing,
    with_plan_standing,
)
from acuknee.care.status import visit_states
from acuknee.clinical import Plan
from acuknee.records.models import IntakeRecord, Patient, PlanRecord

from .builders import (
    course_with_voided_records,
    days_ago,
    intake,
    log,
    oa_intake,
    pain_answers,
    septic_intake,
    signed_plan,
)

pytestmark = pytest.mark.django_db


def _done(plan: PlanRecord) -> list[tuple[str, int]]:
    return [(v.kind, v.number) for v in plan_standing(plan).visits if v.state == "done"]


def test_a_plans_visits_stand_as_the_pages_count_them(patient: Patient, alice: User) -> None:
    """Three sessions logged, the second voided: the first two planned sessions are done, as
    the outcomes and appointments sections say, whatever the sessions' own numbers."""
    plan = course_with_voided_records(patient, alice)
    chart = chart_of(patient)
    today = queries.today()
    on_plan = [s for s in chart.sessions_until(today) if s.plan_id == plan.pk]
    pages = visit_states(
        Plan.model_validate(plan.content),
        plan.start_date,
        sessions_done=len(on_plan),
        last_measured=chart.last_measured(until=today),
        today=today,
    )
    standing = plan_standing(plan)
    assert standing.visits == tuple(pages)
    assert standing.current
    assert not standing.completed
    assert [n for kind, n in _done(plan) if kind == "session"] == [1, 2]
    assert sorted(s.number for s in on_plan) == [1, 3]


def test_a_later_signed_plan_supersedes_and_counts_only_its_own_sessions(
    patient: Patient, alice: User
) -> None:
    first = signed_plan(patient, alice, days_ago(60))
    for day in (days_ago(58), days_ago(55), days_ago(51)):
        log(first, alice, day)
    second = signed_plan(patient, alice, days_ago(20))
    session = log(second, alice, days_ago(18))
    assert session.number == 4  # numbered across the patient's plans
    assert queries.signed_plan(patient) == second
    assert (plan_standing(first).current, plan_standing(second).current) == (False, True)
    assert [n for kind, n in _done(second) if kind == "session"] == [1]
    assert [n for kind, n in _done(first) if kind == "session"] == [1, 2, 3]


def _signed_on(patient: Patient, user: User, start: dt.date, signed: dt.date) -> PlanRecord:
    """An OA intake on the day ``signed`` and its plan from ``start``, signed that day at noon."""
    record = intake(patient, user, oa_intake(), signed)
    plan = services.propose_plan(record, user, start)
    noon = timezone.make_aware(dt.datetime.combine(signed, dt.time(12)))
    services.sign_plan(plan, user, plan.version, at=noon)
    plan.refresh_from_db()
    return plan


def test_a_superseded_plan_stands_as_it_did_the_day_it_was_superseded(
    patient: Patient, alice: User
) -> None:
    """A measurement taken under the later plan answers its reassessments, not the earlier
    plan's, which the patient never came back for."""
    first = _signed_on(patient, alice, days_ago(120), days_ago(127))
    reassessment = next(
        v for v in Plan.model_validate(first.content).schedule if v.kind == "reassessment"
    )
    assert reassessment.date < days_ago(37)
    services.record_measurements(patient, alice, days_ago(5), {"pain_nrs": pain_answers(0.3)})
    assert ("reassessment", reassessment.number) in _done(first)
    _signed_on(patient, alice, days_ago(30), days_ago(37))
    assert not plan_standing(first).current
    assert ("reassessment", reassessment.number) not in _done(first)


def test_a_plan_whose_every_visit_is_done_is_completed(patient: Patient, alice: User) -> None:
    plan = signed_plan(patient, alice, days_ago(400))
    content = Plan.model_validate(plan.content)
    assert content.schedule[-1].date < queries.today()
    for visit in content.schedule:
        if visit.kind == "session":
            log(plan, alice, visit.date)
        else:
            answers = {"pain_nrs": pain_answers(0.3)}
            services.record_measurements(patient, alice, visit.date, answers)
    standing = plan_standing(plan)
    assert all(v.state == "done" for v in standing.visits)
    assert standing.completed
    assert standing.current


def test_plans_read_with_their_facts_stand_as_a_plan_read_alone(
    patient: Patient, alice: User
) -> None:
    first = course_with_voided_records(patient, alice)
    second = signed_plan(patient, alice, days_ago(3))
    rows = with_plan_standing(PlanRecord.objects.filter(patient=patient), queries.today())
    for row in rows.order_by("pk"):
        alone = PlanRecord.objects.get(pk=row.pk)
        assert plan_standing(row) == plan_standing(alone)
    assert {p.pk for p in rows if plan_standing(p).current} == {second.pk} != {first.pk}


# --- intakes --------------------------------------------------------------------------------------


def test_only_the_latest_live_intake_stands_and_each_other_ends_at_the_next(
    patient: Patient, alice: User
) -> None:
    """The intake the banner reads (``latest_intake``: the latest visit, then the latest stored)
    is the one no other supersedes; a voided intake supersedes nothing."""
    first = intake(patient, alice, oa_intake(), days_ago(40))
    same_day = intake(patient, alice, oa_intake(), days_ago(40))
    later = intake(patient, alice, oa_intake(), days_ago(20))
    voided = intake(patient, alice, oa_intake(), days_ago(10))
    services.void(voided, alice, "wrong patient", voided.version)
    assert queries.latest_intake(patient) == later
    assert intake_standing(later).superseded_on is None
    assert intake_standing(same_day).superseded_on == later.visit_date
    assert intake_standing(first).superseded_on == same_day.visit_date
    rows = with_intake_standing(IntakeRecord.objects.filter(patient=patient))
    assert {r.pk: intake_standing(r) for r in rows} == {
        r.pk: intake_standing(IntakeRecord.objects.get(pk=r.pk)) for r in rows
    }


def test_a_referral_cleared_by_an_outcome_no_longer_stands(patient: Patient, alice: User) -> None:
    septic = intake(patient, alice, septic_intake(), days_ago(30))
    assert intake_standing(septic).cleared is None
    services.resolve_referral(
        septic, alice, seen_by="Dr Synthetic", seen_on=days_ago(29), cleared=False
    )
    assert intake_standing(septic).cleared is None  # seen, not cleared: it stands
    assert list(queries.open_referrals(patient)) == [septic]
    outcome = services.resolve_referral(
        septic, alice, seen_by="Dr Synthetic", seen_on=days_ago(27), cleared=True, note="clear"
    )
    assert intake_standing(septic).cleared == ReferralCleared("Dr Synthetic", days_ago(27), "clear")
    assert list(queries.open_referrals(patient)) == []
    services.void(outcome, alice, "recorded for the wrong intake", outcome.version)
    assert intake_standing(septic).cleared is None
    assert list(queries.open_referrals(patient)) == [septic]
