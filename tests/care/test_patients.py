"""The patient record's invariants at the service level (``acuknee.care.patients``): plausible
birth dates, likely duplicates before saving, edits and voids against the version they were based
on, history of who changed what and why, and sex consistent with pregnancy."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from acuknee.care.errors import InvalidRecord, LikelyDuplicate, PatientVoided, StaleEdit
from acuknee.care.patients import (
    MAX_AGE_YEARS,
    PatientDetails,
    check_intake_against_patient,
    edit_patient,
    patient_changes,
    register_patient,
    void_patient,
)
from acuknee.clinical import Intake
from acuknee.records.models import Clinic, IntakeRecord, Patient

pytestmark = pytest.mark.django_db

WREN = PatientDetails(
    given_name="Wren",
    family_name="Example",
    date_of_birth=dt.date(1958, 8, 8),
    sex="female",
    record_number="N-0100",
)


def _years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years)


def _fields(exc: InvalidRecord) -> list[str | None]:
    return [f for f, _ in exc.problems]


def _intake(**extra: Any) -> Intake:
    return Intake.model_validate({"age": 40, "side": "left", "duration_weeks": 10, **extra})


# --- birth dates ----------------------------------------------------------------------------------


def test_a_birth_date_in_the_future_is_refused_naming_the_field(
    northside: Clinic, alice: User
) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(InvalidRecord) as refused:
        register_patient(northside, alice, replace(WREN, date_of_birth=tomorrow))
    assert _fields(refused.value) == ["date_of_birth"]
    assert "in the future" in refused.value.message
    assert not Patient.objects.exists()


def test_a_birth_date_136_years_ago_is_refused_as_the_intake_would_refuse_it(
    northside: Clinic, alice: User
) -> None:
    born = _years_ago(136)
    with pytest.raises(InvalidRecord) as refused:
        register_patient(northside, alice, replace(WREN, date_of_birth=born))
    assert _fields(refused.value) == ["date_of_birth"]
    assert "136 years" in refused.value.message
    with pytest.raises(ValueError, match="less than or equal to 120"):
        _intake(age=136)  # the intake refuses it too: the record would be a dead end


def test_the_oldest_age_accepted_at_registration_is_one_the_intake_accepts(
    northside: Clinic, alice: User
) -> None:
    patient = register_patient(northside, alice, replace(WREN, date_of_birth=_years_ago(120)))
    assert MAX_AGE_YEARS == 120
    assert _intake(age=patient.age_on(timezone.localdate())).age == MAX_AGE_YEARS


# --- duplicates -----------------------------------------------------------------------------------


def test_same_name_ignoring_case_and_accents_and_birth_date_is_a_likely_duplicate(
    northside: Clinic, alice: User
) -> None:
    first = register_patient(northside, alice, replace(WREN, given_name="Zoë"))
    again = replace(WREN, given_name="  ZOE ", family_name="example", record_number="N-0200")
    with pytest.raises(LikelyDuplicate) as found:
        register_patient(northside, alice, again)
    assert found.value.matches == [first]
    assert Patient.objects.count() == 1


def test_a_record_number_differing_only_by_case_is_a_likely_duplicate(
    northside: Clinic, alice: User
) -> None:
    first = register_patient(northside, alice, replace(WREN, record_number="n-0100"))
    other = PatientDetails("Otto", "Other", dt.date(1970, 1, 1), "male", "N-0100")
    with pytest.raises(LikelyDuplicate) as found:
        register_patient(northside, alice, other)
    assert found.value.matches == [first]


def test_a_confirmed_likely_duplicate_is_registered(northside: Clinic, alice: User) -> None:
    register_patient(northside, alice, WREN)
    again = replace(WREN, record_number="N-0200")
    register_patient(northside, alice, again, confirm_duplicates=True)
    assert Patient.objects.filter(given_name="Wren").count() == 2


def test_the_same_person_in_another_clinic_is_not_a_duplicate(
    northside: Clinic, southside: Clinic, alice: User, carol: User
) -> None:
    register_patient(northside, alice, WREN)
    assert register_patient(southside, carol, WREN).clinic == southside


def test_a_voided_patient_is_not_offered_as_a_duplicate(northside: Clinic, alice: User) -> None:
    first = register_patient(northside, alice, WREN)
    void_patient(first, alice, "registered twice", version=first.version)
    register_patient(northside, alice, replace(WREN, record_number="N-0200"))


def test_a_taken_record_number_is_refused_naming_the_field(
    northside: Clinic, alice: User, patient: Patient
) -> None:
    with pytest.raises(InvalidRecord) as refused:
        register_patient(northside, alice, replace(WREN, record_number=patient.record_number))
    assert _fields(refused.value) == ["record_number"]


def test_every_missing_detail_is_named(northside: Clinic, alice: User) -> None:
    blank = replace(WREN, given_name=" ", family_name="", record_number="", sex="sometimes")
    with pytest.raises(InvalidRecord) as refused:
        register_patient(northside, alice, blank)
    assert set(_fields(refused.value)) == {"given_name", "family_name", "record_number", "sex"}


# --- edit, history and void -----------------------------------------------------------------------


def test_registration_is_in_the_history_with_who_registered(northside: Clinic, dana: User) -> None:
    patient = register_patient(northside, dana, WREN)
    [entry] = patient_changes(patient)
    assert (entry.kind, entry.who) == ("registered", "dana")


def test_an_edit_keeps_who_changed_what_and_why(northside: Clinic, alice: User, bob: User) -> None:
    patient = register_patient(northside, alice, WREN)
    changed = replace(WREN, date_of_birth=dt.date(1959, 8, 8), phone="0123")
    edit_patient(patient, bob, changed, version=patient.version, reason="year mistyped")
    patient.refresh_from_db()
    assert patient.date_of_birth == dt.date(1959, 8, 8)
    latest = patient_changes(patient)[0]
    assert (latest.who, latest.reason) == ("bob", "year mistyped")
    assert ("date of birth", "1958-08-08", "1959-08-08") in latest.changes
    assert ("phone", "", "0123") in latest.changes


def test_an_edit_based_on_a_stale_version_is_refused(
    northside: Clinic, alice: User, bob: User
) -> None:
    patient = register_patient(northside, alice, WREN)
    opened = patient.version
    edit_patient(patient, bob, replace(WREN, phone="1"), version=opened)
    with pytest.raises(StaleEdit):
        edit_patient(patient, alice, replace(WREN, phone="2"), version=opened)
    patient.refresh_from_db()
    assert patient.phone == "1"


def test_changing_an_identity_detail_needs_a_reason(northside: Clinic, alice: User) -> None:
    patient = register_patient(northside, alice, WREN)
    with pytest.raises(InvalidRecord) as refused:
        edit_patient(patient, alice, replace(WREN, family_name="Exemple"), version=1)
    assert _fields(refused.value) == ["reason"]
    edit_patient(patient, alice, replace(WREN, email="w@example.org"), version=1)  # contact: no


def test_an_edit_refuses_an_implausible_birth_date(northside: Clinic, alice: User) -> None:
    patient = register_patient(northside, alice, WREN)
    with pytest.raises(InvalidRecord) as refused:
        edit_patient(
            patient, alice, replace(WREN, date_of_birth=_years_ago(136)), version=1, reason="x"
        )
    assert _fields(refused.value) == ["date_of_birth"]


def test_a_voided_patient_cannot_be_edited(northside: Clinic, alice: User) -> None:
    patient = register_patient(northside, alice, WREN)
    void_patient(patient, alice, "registered twice", version=patient.version)
    with pytest.raises(PatientVoided):
        edit_patient(patient, alice, replace(WREN, phone="1"), version=patient.version)


def test_a_void_based_on_a_stale_version_is_refused(
    northside: Clinic, alice: User, bob: User
) -> None:
    patient = register_patient(northside, alice, WREN)
    opened = patient.version
    edit_patient(patient, bob, replace(WREN, phone="1"), version=opened)
    with pytest.raises(StaleEdit):
        void_patient(patient, alice, "registered twice", version=opened)
    patient.refresh_from_db()
    assert not patient.is_voided


def test_a_void_is_in_the_history_with_its_reason(northside: Clinic, alice: User) -> None:
    patient = register_patient(northside, alice, WREN)
    void_patient(patient, alice, "registered twice", version=patient.version)
    latest = patient_changes(patient)[0]
    assert latest.reason == "voided: registered twice"
    assert ("record", "live", "voided") in latest.changes


# --- sex and pregnancy ----------------------------------------------------------------------------


def test_a_patient_recorded_as_male_cannot_be_recorded_pregnant(
    northside: Clinic, alice: User
) -> None:
    patient = register_patient(northside, alice, replace(WREN, sex="male"))
    with pytest.raises(InvalidRecord) as refused:
        check_intake_against_patient(patient, _intake(health={"pregnant": True}))
    assert _fields(refused.value) == ["health.pregnant"]


def test_a_patient_recorded_as_female_may_be_recorded_pregnant(
    northside: Clinic, alice: User
) -> None:
    patient = register_patient(northside, alice, WREN)
    check_intake_against_patient(patient, _intake(sex="female", health={"pregnant": True}))


def test_sex_cannot_become_male_while_the_latest_intake_records_a_pregnancy(
    northside: Clinic, alice: User
) -> None:
    patient = register_patient(northside, alice, WREN)
    pregnant = _intake(sex="female", health={"pregnant": True})
    IntakeRecord.objects.create(
        patient=patient,
        visit_date=timezone.localdate(),
        data=pregnant.model_dump(mode="json"),
        screening={},
        assessment={},
        created_by=alice,
    )
    with pytest.raises(InvalidRecord) as refused:
        edit_patient(patient, alice, replace(WREN, sex="male"), version=1, reason="typo")
    assert _fields(refused.value) == ["sex"]
