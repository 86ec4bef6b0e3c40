"""What logging a session reads (``care.queries.session_setting``) is read once: the session page
checks its form with it and ``services.record_session`` stores by it, but only in the
transaction it was read (and the patient locked) in; anywhere else the service reads again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from acuknee.care import queries, services
from acuknee.clinical import SessionRecord
from acuknee.records.models import Patient, PlanRecord, TreatmentSession

from .builders import days_ago, intake, log, oa_intake, septic_intake, session_on, signed_plan


@pytest.mark.django_db
def test_the_setting_answers_as_the_queries_do(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(30))
    for day in (days_ago(20), days_ago(10)):
        log(plan_record, alice, day)
    first = patient.sessions.get(number=1)
    services.void(first, alice, "entered twice", first.version)
    setting = queries.session_setting(patient)
    assert setting.plan == queries.signed_plan(patient)
    last = queries.last_session(patient)
    assert last is not None
    assert setting.last is not None
    assert setting.last.pk == last.pk
    assert setting.last_record == SessionRecord.model_validate(last.data)
    assert setting.next_number == queries.next_session_number(patient)
    assert setting.consent == queries.current_consent(patient)
    assert setting.latest_intake == queries.latest_intake(patient)
    assert setting.standing == queries.open_referrals(patient).first()
    record = session_on(plan_record, days_ago(1), setting.next_number)
    assert setting.problems(record) == queries.session_problems(plan_record, record)


@pytest.mark.django_db
def test_the_setting_s_banner_is_the_patient_s_safety_banner_without_reading_again(
    alice: User, patient: Patient
) -> None:
    """A cleared and a standing referral, a voided intake with a finding and a latest intake
    with two: the session page's banner, worked out from its setting, is the banner every
    other page of the patient shows."""
    cleared = intake(patient, alice, septic_intake(), days_ago(20))
    services.resolve_referral(
        cleared, alice, seen_by="Dr Synthetic", seen_on=days_ago(18), cleared=True
    )
    standing = intake(patient, alice, septic_intake(), days_ago(10))
    pregnant = intake(patient, alice, oa_intake(health={"pregnant": True}), days_ago(4))
    services.void_intake(
        pregnant, alice, "entered on the wrong patient", pregnant.version, baseline=True
    )
    findings = {"metal_allergy": True, "anticoagulant": "apixaban"}
    intake(patient, alice, oa_intake(health=findings), days_ago(2))
    setting = queries.session_setting(patient)
    assert setting.open_referrals == list(queries.open_referrals(patient))
    with CaptureQueriesContext(connection) as ctx:
        banner = setting.banner()
    assert ctx.captured_queries == []
    assert banner == queries.safety_banner(patient)
    referrals = [i for i in banner if i.kind == "referral"]
    assert referrals
    assert {i.intake_id for i in referrals} == {standing.pk}  # not the cleared one
    assert len(banner) - len(referrals) >= 2  # the latest intake's findings
    assert all(i.intake_id != pregnant.pk for i in banner)


@pytest.mark.django_db
def test_a_session_stored_with_the_setting_of_its_transaction_reads_nothing_again(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(30))
    log(plan_record, alice, days_ago(20))
    with transaction.atomic():
        setting = queries.session_setting(patient)
        record = session_on(plan_record, days_ago(5), setting.next_number)
        with CaptureQueriesContext(connection) as ctx:
            stored = services.record_session(patient, alice, record, setting=setting)
    reads = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    assert reads == []
    assert stored.number == 2


def _ratings(sessions: list[TreatmentSession]) -> list[queries.PainPoint]:
    """The pain trend worked out from the records themselves, as the page once decoded it."""
    out = []
    for row in sessions:
        before, after = row.data.get("pain_before"), row.data.get("pain_after")
        if before is not None or after is not None:
            out.append(queries.PainPoint(row.number, row.session_date, before, after))
    return out


def _rated(plan_record: PlanRecord, user: User, day: dt.date, before: Any, after: Any) -> None:
    record = session_on(plan_record, day).model_copy(
        update={"pain_before": before, "pain_after": after}
    )
    services.record_session(plan_record.patient, user, record)


@pytest.mark.django_db
def test_a_setting_reads_each_session_s_numbers_and_ratings_and_the_last_record_alone(
    alice: User, patient: Patient
) -> None:
    """The setting reads every session as a ``SessionBrief`` (date, number, key, voided), not as
    a model with its record: decoding every record cost each save and session page more with
    every session of the history. A page's setting also takes each session's pain ratings, and
    the latest live session's record, out of the records in the same query; a save's reads
    them only when its page is shown again with errors, each in one query. Ratings of 0 and 10,
    one rating alone and none at all, a voided session and a later one that is not the last by
    number all answer as the records themselves do."""
    plan_record = signed_plan(patient, alice, days_ago(30))
    _rated(plan_record, alice, days_ago(20), 0, 10)
    _rated(plan_record, alice, days_ago(15), None, None)
    _rated(plan_record, alice, days_ago(12), 7, None)
    _rated(plan_record, alice, days_ago(10), None, 3)
    _rated(plan_record, alice, days_ago(18), 5, 5)  # numbered in date order: moves the rest up
    voided = patient.sessions.get(number=4)
    services.void(voided, alice, "entered twice", voided.version)
    models = list(patient.sessions.order_by("session_date", "number", "id"))
    last = queries.last_session(patient)
    assert last is not None
    expected_trend = _ratings([s for s in models if not s.is_voided])
    assert [p.before for p in expected_trend] == [0, 5, None]  # 4 voided, 3 has no ratings
    assert expected_trend == queries.pain_trend(patient)

    with CaptureQueriesContext(connection) as ctx:
        shown = queries.session_setting(patient)
    sessions = [q for q in ctx.captured_queries if '"clinic_treatmentsession"' in q["sql"]]
    assert len(sessions) == 1
    with CaptureQueriesContext(connection) as ctx:
        assert shown.pain_trend == expected_trend
        assert shown.last is not None
        assert shown.last.pk == last.pk
        assert shown.last_record == SessionRecord.model_validate(last.data)
    assert ctx.captured_queries == []
    assert [s.data for s in shown.sessions if s.data is not None] == [last.data]

    with transaction.atomic():
        brief = queries.session_setting(patient, records=False)
        assert all(type(s) is queries.SessionBrief for s in brief.sessions)
        assert brief.sessions == [
            (s.pk, s.number, s.session_date, s.submission_key, s.is_voided, None, None, None)
            for s in models
        ]
        record = session_on(plan_record, days_ago(5), brief.next_number)
        with CaptureQueriesContext(connection) as ctx:
            stored = services.record_session(patient, alice, record, setting=brief)
        assert [q for q in ctx.captured_queries if q["sql"].lstrip().startswith("SELECT")] == []
    assert stored.number == 6  # after the highest live number, 5
    again = queries.session_setting(patient, records=False)
    with CaptureQueriesContext(connection) as ctx:
        again_last = again.last_record
        again_trend = again.pain_trend
        assert again.last_record is again_last
        assert again.pain_trend is again_trend
    assert len(ctx.captured_queries) == 2
    assert again_last == SessionRecord.model_validate(stored.data)
    assert again_trend == queries.pain_trend(patient) == [*expected_trend, again_trend[-1]]


@pytest.mark.django_db(transaction=True)
def test_a_setting_read_in_another_transaction_is_read_again(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(30))
    with transaction.atomic():
        stale = queries.session_setting(patient)
    log(plan_record, alice, days_ago(20))  # stored after the setting was read
    with transaction.atomic():
        assert not stale.read_in_this_transaction()
        record = session_on(plan_record, days_ago(5), stale.next_number)
        stored = services.record_session(patient, alice, record, setting=stale)
    assert stale.next_number == 1
    assert stored.number == 2  # numbered from what the service read, not the stale setting


@pytest.mark.django_db
def test_the_setting_decodes_only_the_intake_documents_it_shows(
    alice: User, patient: Patient
) -> None:
    """Of the patient's intakes, the setting decodes the latest's answers and screening and the
    screening of each whose referral stands, and no other document: the rest cost every save
    and session form more with every intake of the patient's history."""
    cleared = intake(patient, alice, septic_intake(), days_ago(30))
    services.resolve_referral(
        cleared, alice, seen_by="Dr Synthetic", seen_on=days_ago(28), cleared=True
    )
    standing = intake(patient, alice, septic_intake(), days_ago(20))
    earlier = intake(patient, alice, oa_intake(), days_ago(10))
    latest = intake(patient, alice, oa_intake(health={"anticoagulant": "apixaban"}), days_ago(2))
    setting = queries.session_setting(patient)
    loaded = {
        i.pk: {"data", "screening", "assessment"} - i.get_deferred_fields() for i in setting.intakes
    }
    assert loaded == {
        latest.pk: {"data", "screening"},
        earlier.pk: set(),
        standing.pk: {"screening"},
        cleared.pk: set(),
    }
    with CaptureQueriesContext(connection) as ctx:
        banner = setting.banner()
        assert setting.latest_intake is not None
        assert setting.latest_intake.data == latest.data
        assert setting.latest_intake.screening == latest.screening
    assert ctx.captured_queries == []
    assert banner == queries.safety_banner(patient)
    assert setting.standing == queries.open_referrals(patient).first() == standing
