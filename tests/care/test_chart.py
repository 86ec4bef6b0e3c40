"""A patient's chart (``care.chart``) answers every question the patient page asks by the same
definitions as ``care.queries`` and ``care.status``, from records it reads once: each answer is
checked against the query it replaces, on a history with voided records, a cleared and a
standing referral, several plans and a self-report."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acuknee.care import queries, services
from acuknee.care.chart import ChartSession, chart_of
from acuknee.care.status import overview_of, patient_status
from acuknee.clinical import Plan, SessionRecord
from acuknee.clinical.sessions import AdverseEvent
from acuknee.clinical.vocabulary import AdverseEventKind, Severity
from acuknee.records.models import Patient
from acuknee.reports.outcomes import outcomes_context

from .builders import (
    course_with_voided_records,
    days_ago,
    intake,
    log,
    oa_intake,
    pain_answers,
    septic_intake,
    session_on,
    signed_plan,
)

pytestmark = pytest.mark.django_db


def assert_agrees(patient: Patient) -> None:
    chart = chart_of(patient)
    today = queries.today()
    assert chart.signed_plan == queries.signed_plan(patient)
    assert chart.latest_intake == queries.latest_intake(patient)
    assert chart.open_referrals == list(queries.open_referrals(patient))
    assert chart.banner() == queries.safety_banner(patient)
    assert chart.consent == queries.current_consent(patient)
    assert chart.overview == overview_of(patient)
    assert chart.status(today) == patient_status(patient, today)
    for until in (today, days_ago(5), days_ago(40)):
        assert [
            (s.pk, s.number, s.session_date, s.plan_id, s.is_voided, s.void_reason)
            for s in chart.sessions_until(until)
        ] == [
            (s.pk, s.number, s.session_date, s.plan_id, s.is_voided, s.void_reason)
            for s in queries.live_sessions(patient, until)
        ]
        assert chart.course(until) == queries.course_of(patient, until)


def test_the_chart_agrees_with_the_queries_on_a_course_with_voided_records(
    alice: User, patient: Patient
) -> None:
    first = course_with_voided_records(patient, alice)
    services.record_measurements(
        patient, None, days_ago(8), {"pain_nrs": pain_answers(0.3)}, origin=services.SELF_REPORT
    )
    pregnant = intake(patient, alice, oa_intake(health={"pregnant": True}), days_ago(3))
    services.void_intake(
        pregnant, alice, "entered on the wrong patient", pregnant.version, baseline=True
    )
    latest = intake(patient, alice, oa_intake(health={"metal_allergy": True}), days_ago(2))
    draft = services.propose_plan(latest, alice, queries.today())  # newer, never signed
    assert_agrees(patient)
    third = patient.sessions.get(number=3)
    for pain_after, reason in ((2, "pain re-rated"), (1, "pain re-rated again")):
        third.refresh_from_db()
        record = session_on(first, third.session_date, 3).model_copy(
            update={"pain_after": pain_after}
        )
        services.amend_session(third, alice, record, reason, third.version)
    chart = chart_of(patient)
    assert [s.number for s in chart.sessions] == [1, 2, 3]
    assert [s.is_voided for s in chart.sessions] == [False, True, False]
    assert [s.amended for s in chart.sessions] == [0, 0, 2]
    assert [s.void_reason for s in chart.sessions] == ["", "entered on the wrong day", ""]
    assert chart.last_visit == days_ago(2)
    assert chart.plans[0] == draft
    assert chart.signed_plan == first


def test_the_chart_agrees_with_the_queries_on_a_cleared_and_a_standing_referral(
    alice: User, patient: Patient
) -> None:
    cleared = intake(patient, alice, septic_intake(), days_ago(20))
    services.resolve_referral(
        cleared, alice, seen_by="Dr Synthetic", seen_on=days_ago(18), cleared=True
    )
    intake(patient, alice, septic_intake(), days_ago(10))
    intake(patient, alice, oa_intake(), days_ago(5))
    assert_agrees(patient)
    assert [i.visit_date for i in chart_of(patient).open_referrals] == [days_ago(10)]


def test_a_page_s_latest_intake_gives_the_banner_every_page_shows(
    alice: User, patient: Patient
) -> None:
    """``LatestIntakeRead``: a page that read the latest live intake (the intake form) shows
    the same banner, reading only the standing referrals; before any intake, none."""
    assert queries.LatestIntakeRead(patient, queries.latest_intake(patient)).banner() == []
    cleared = intake(patient, alice, septic_intake(), days_ago(20))
    services.resolve_referral(
        cleared, alice, seen_by="Dr Synthetic", seen_on=days_ago(18), cleared=True
    )
    intake(patient, alice, septic_intake(), days_ago(10))
    intake(patient, alice, oa_intake(health={"metal_allergy": True}), days_ago(5))
    read = queries.LatestIntakeRead(patient, queries.latest_intake(patient))
    with CaptureQueriesContext(connection) as ctx:
        banner = read.banner()
    assert len(ctx.captured_queries) == 1  # the standing referrals
    assert banner == queries.safety_banner(patient)
    assert {i.kind for i in banner} >= {"referral", "precaution"}


def test_a_patient_without_records_has_an_empty_chart(patient: Patient) -> None:
    assert_agrees(patient)
    assert chart_of(patient).last_visit is None


def test_the_chart_costs_five_queries_however_long_the_history_and_one_more_for_the_records(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(30))
    log(plan_record, alice, days_ago(28))

    def counted(records: bool) -> int:
        with CaptureQueriesContext(connection) as ctx:
            chart = chart_of(patient)
            chart.banner(), chart.status(queries.today()), chart.course(queries.today())
            if records:
                [chart.session_record(s) for s in chart.sessions]
        return len(ctx.captured_queries)

    short = counted(False), counted(True)
    for day in (days_ago(21), days_ago(14), days_ago(7)):
        log(plan_record, alice, day)
        services.record_measurements(patient, alice, day, {"pain_nrs": pain_answers(0.4)})
    intake(patient, alice, oa_intake(), days_ago(40))
    assert (counted(False), counted(True)) == short == (5, 6)


def test_the_chart_reads_the_session_records_only_where_a_page_shows_them(
    alice: User, patient: Patient
) -> None:
    """The sessions section alone shows the sessions' records: every other page of the patient
    (the outcomes page, the banner of the plan and intake pages) read and decoded each one, more
    with every session of the history. Asked for, each record is the stored one, a voided
    session's too, all read in one query."""
    plan_record = course_with_voided_records(patient, alice)
    log(plan_record, alice, days_ago(3))
    chart = chart_of(patient)
    assert chart.sessions
    assert all(type(s) is ChartSession for s in chart.sessions)
    stored = {s.pk: s.data for s in patient.sessions.all()}
    assert any(s.is_voided for s in chart.sessions)
    with CaptureQueriesContext(connection) as ctx:
        records = [chart.session_record(s) for s in chart.sessions]
        assert [chart.session_record(s) for s in chart.sessions] == records
    assert len(ctx.captured_queries) == 1
    assert records == [SessionRecord.model_validate(stored[s.pk]) for s in chart.sessions]


def test_a_listed_patients_signed_plan_is_validated_once_from_its_stored_text(
    alice: User, patient: Patient
) -> None:
    record = signed_plan(patient, alice, days_ago(30))
    first, second = overview_of(patient), overview_of(patient)  # as two requests read it
    assert first.plan_content is None
    assert first.plan_json is not None
    assert first.plan is second.plan
    assert first.plan == Plan.model_validate(record.content)
    assert first == chart_of(patient).overview  # the same facts as the decoded content


@pytest.mark.django_db
def test_the_chart_decodes_the_answers_of_the_latest_live_intake_alone(
    alice: User, patient: Patient
) -> None:
    """Every intake comes with its screening (the intake list counts its referrals), but only
    the latest live intake with its answers: the others' cost each page of the patient more
    with every intake of the history. What the pages read answers as the queries do."""
    first = intake(patient, alice, oa_intake(), days_ago(30))
    second = intake(patient, alice, oa_intake(health={"metal_allergy": True}), days_ago(10))
    latest = intake(patient, alice, oa_intake(health={"anticoagulant": "apixaban"}), days_ago(5))
    voided = intake(patient, alice, oa_intake(), days_ago(2))
    services.void_intake(
        voided, alice, "entered on the wrong patient", voided.version, baseline=True
    )
    chart = chart_of(patient)
    loaded = {i.pk: "data" not in i.get_deferred_fields() for i in chart.intakes}
    assert loaded == {voided.pk: False, latest.pk: True, second.pk: False, first.pk: False}
    assert all("screening" not in i.get_deferred_fields() for i in chart.intakes)
    with CaptureQueriesContext(connection) as ctx:
        assert chart.latest_intake is not None
        assert chart.latest_intake.data == latest.data
        banner = chart.banner()
        screenings = [i.screening for i in chart.intakes]
    assert ctx.captured_queries == []
    assert banner == queries.safety_banner(patient)
    assert screenings == [i.screening for i in (voided, latest, second, first)]


def test_the_outcomes_section_reads_the_records_of_the_sessions_with_adverse_events_alone(
    alice: User, patient: Patient
) -> None:
    """The database counts each session's adverse events (``Chart.sessions``' ``adverse_events``,
    as many as its record lists, none for none), and the outcomes section reads and validates
    only the records that list one: the rest cost every outcomes page more with every session."""
    plan_record = signed_plan(patient, alice, days_ago(30))
    bruise = AdverseEvent(
        kind=AdverseEventKind.BRUISING, severity=Severity.MILD, action_taken="pressure"
    )
    faint = AdverseEvent(
        kind=AdverseEventKind.FAINTING, severity=Severity.MODERATE, action_taken="lay down"
    )
    for day, events in ((28, []), (21, [bruise]), (14, []), (7, [bruise, faint])):
        record = session_on(plan_record, days_ago(day)).model_copy(
            update={"adverse_events": events}
        )
        services.record_session(patient, alice, record)
    chart = chart_of(patient)
    stored = {s.pk: SessionRecord.model_validate(s.data) for s in patient.sessions.all()}
    assert [s.adverse_events for s in chart.sessions] == [0, 1, 0, 2]
    assert [s.adverse_events for s in chart.sessions] == [
        len(stored[s.pk].adverse_events) for s in chart.sessions
    ]
    with CaptureQueriesContext(connection) as ctx:
        shown = outcomes_context(patient, today=queries.today(), chart=chart)["outcomes"]
    records = [q["sql"] for q in ctx.captured_queries if '"clinic_treatmentsession"' in q["sql"]]
    assert len(records) == 1
    assert sorted(chart._session_records) == sorted(s.pk for s in chart.sessions[1::2])
    assert [(e.number, e.kind) for e in shown.adverse_events] == [
        (2, bruise.kind.label),
        (4, bruise.kind.label),
        (4, faint.kind.label),
    ]
    assert [chart.session_record(s) for s in chart.sessions] == [
        stored[s.pk] for s in chart.sessions
    ]
