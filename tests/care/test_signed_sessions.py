"""Sessions are numbered in date order, signed when stored and changed only by an amendment with
a reason; the first one needs informed consent on record (care.services)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from acuknee.care import errors, services
from acuknee.care.queries import current_consent, live_sessions
from acuknee.clinical import SessionRecord
from acuknee.clinical.consent import Consent
from acuknee.clinical.vocabulary import AdverseEventKind, ConsentBy
from acuknee.records.models import Patient, TreatmentSession

from .builders import consent_on, days_ago, log, session_on, signed_plan

pytestmark = pytest.mark.django_db


def _numbers(patient: Patient) -> list[tuple[dt.date, int]]:
    return [(s.session_date, s.number) for s in live_sessions(patient)]


def test_a_session_entered_for_an_earlier_date_takes_its_place_and_later_ones_move_up(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(20))
    log(plan_record, alice, days_ago(10))
    log(plan_record, alice, days_ago(4))
    late = log(plan_record, alice, days_ago(7))  # entered last, given in between
    assert late.number == 2
    assert _numbers(patient) == [(days_ago(10), 1), (days_ago(7), 2), (days_ago(4), 3)]
    moved = TreatmentSession.objects.get(session_date=days_ago(4))
    assert moved.data["number"] == 3  # the record itself carries its number
    assert moved.history.count() == 2  # the renumbering is in the session's history


def test_sessions_on_the_same_day_keep_the_order_they_were_entered(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(20))
    first = log(plan_record, alice, days_ago(5))
    second = log(plan_record, alice, days_ago(5))
    assert (first.number, second.number) == (1, 2)


def test_renumbering_keeps_live_numbers_unique_per_patient_around_a_voided_one(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(30))
    for n in (20, 15, 10):
        log(plan_record, alice, days_ago(n))
    middle = TreatmentSession.objects.get(number=2)
    services.void(middle, alice, "entered in error", middle.version)
    for n in (25, 12, 2):
        log(plan_record, alice, days_ago(n))
    numbers = [n for _, n in _numbers(patient)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)
    assert [d for d, _ in _numbers(patient)] == sorted(d for d, _ in _numbers(patient))


def test_a_stored_session_is_signed_by_who_saved_it(alice: User, patient: Patient) -> None:
    session = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(2))
    assert session.signed_by == alice
    assert session.signed_at is not None


def test_an_amendment_needs_a_reason(alice: User, patient: Patient) -> None:
    session = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(2))
    record = session_on(session.plan, days_ago(2)).model_copy(update={"pain_after": 2})
    with pytest.raises(errors.InvalidRecord, match="reason") as caught:
        services.amend_session(session, alice, record, "  ", session.version)
    assert caught.value.field == "reason"
    session.refresh_from_db()
    assert session.data["pain_after"] == 4
    assert not session.amendments.exists()


def test_an_amendment_keeps_who_when_why_what_changed_and_the_original(
    alice: User, bob: User, patient: Patient
) -> None:
    session = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(2))
    original = dict(session.data)
    record = session_on(session.plan, days_ago(2)).model_copy(
        update={"pain_after": 2, "note": "Pain after re-rated at the desk."}
    )
    amendment = services.amend_session(session, bob, record, "pain re-rated", session.version)
    assert (amendment.amended_by, amendment.reason) == (bob, "pain re-rated")
    assert {"field": "Pain after", "before": "4", "after": "2"} in amendment.changes
    assert amendment.before == original
    session.refresh_from_db()
    assert session.data["pain_after"] == 2
    assert session.signed_by == alice
    assert SessionRecord.model_validate(amendment.before).pain_after == 4


def test_an_amendment_that_changes_nothing_is_refused(alice: User, patient: Patient) -> None:
    session = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(2))
    same = SessionRecord.model_validate(session.data)
    with pytest.raises(errors.InvalidRecord, match="Nothing was changed"):
        services.amend_session(session, alice, same, "no reason", session.version)


def test_an_amendment_moving_the_date_renumbers_in_date_order(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(20))
    first = log(plan_record, alice, days_ago(10))
    log(plan_record, alice, days_ago(6))
    record = session_on(plan_record, days_ago(3))
    services.amend_session(first, alice, record, "wrong date typed", first.version)
    first.refresh_from_db()
    assert first.number == 2
    assert first.data["number"] == 2
    assert _numbers(patient) == [(days_ago(6), 1), (days_ago(3), 2)]


def test_a_voided_session_cannot_be_amended(alice: User, patient: Patient) -> None:
    session = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(2))
    services.void(session, alice, "entered in error", session.version)
    record = session_on(session.plan, days_ago(2)).model_copy(update={"pain_after": 1})
    with pytest.raises(errors.AlreadyVoided):
        services.amend_session(session, alice, record, "late fix", session.version)


# --- informed consent ----------------------------------------------------------------------------


def test_the_first_session_is_refused_without_consent_naming_what_is_missing(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10), consent=False)
    with pytest.raises(errors.ConsentMissing) as caught:
        log(plan_record, alice, days_ago(2))
    message = caught.value.message
    assert "informed consent" in message
    assert all(word in message for word in ("who gave", "when", "which risks were explained"))
    assert not TreatmentSession.objects.exists()


def test_consent_given_with_the_first_session_is_recorded_with_it(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10), consent=False)
    log(plan_record, alice, days_ago(2), consent=consent_on(days_ago(2)))
    consent = current_consent(patient)
    assert consent is not None
    assert consent.created_by == alice
    assert consent.data["risks_explained"] == ["bruising", "fainting"]


def test_a_session_dated_before_the_consent_is_refused(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10), consent=False)
    services.record_consent(patient, alice, consent_on(days_ago(3)))
    with pytest.raises(errors.InvalidDate, match="before the informed consent"):
        log(plan_record, alice, days_ago(5))


def test_a_childs_consent_must_come_from_a_parent_or_guardian(
    alice: User, patient: Patient
) -> None:
    """Under 16 a parent or guardian consents (minor_consent, BAcC minimum age)."""
    patient.date_of_birth = days_ago(365 * 12)
    patient.save()
    with pytest.raises(errors.InvalidRecord, match="parent or guardian must give consent"):
        services.record_consent(patient, alice, consent_on(days_ago(1)))
    guardian = Consent(
        given_on=days_ago(1),
        given_by=ConsentBy.PARENT_OR_GUARDIAN,
        guardian_name="Synthetic Parent",
        risks_explained=[AdverseEventKind.BRUISING],
    )
    assert services.record_consent(patient, alice, guardian).data["guardian_name"] == (
        "Synthetic Parent"
    )


def test_consent_cannot_be_dated_in_the_future(alice: User, patient: Patient) -> None:
    with pytest.raises(errors.InvalidDate):
        services.record_consent(patient, alice, consent_on(days_ago(-1)))
