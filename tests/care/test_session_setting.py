"""What logging a session reads (``care.queries.session_setting``) is read once: the session page
checks its form with it and ``services.record_session`` stores by it, but only in the
transaction it was read (and the patient locked) in; anywhere else the service reads again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from acuknee.care import queries, services
from acuknee.records.models import Patient

from .builders import days_ago, log, session_on, signed_plan


@pytest.mark.django_db
def test_the_setting_answers_as_the_queries_do(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(30))
    for day in (days_ago(20), days_ago(10)):
        log(plan_record, alice, day)
    first = patient.sessions.get(number=1)
    services.void(first, alice, "entered twice", first.version)
    setting = queries.session_setting(patient)
    assert setting.plan == queries.signed_plan(patient)
    assert setting.last == queries.last_session(patient)
    assert setting.next_number == queries.next_session_number(patient)
    assert setting.consent == queries.current_consent(patient)
    assert setting.latest_intake == queries.latest_intake(patient)
    assert setting.standing == queries.open_referrals(patient).first()
    record = session_on(plan_record, days_ago(1), setting.next_number)
    assert setting.problems(record) == queries.session_problems(plan_record, record)


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
