"""The record's invariants, at the care layer (each is also checked through an adapter in
``test_adapters.py``)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from acuknee.care import errors, services
from acuknee.care.queries import (
    affected_side,
    course_of,
    open_referrals,
    planning_refusals,
    today,
)
from acuknee.care.status import patient_status
from acuknee.clinical import Intake, Plan
from acuknee.clinical.vocabulary import Side
from acuknee.fhir import bulk
from acuknee.records.models import Measurement, Patient, StaleEdit, TreatmentSession

from .builders import (
    consent_on,
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

REFERRED = Patient.Status("referred")
INTAKE = Patient.Status("intake")


# --- a referral stands until its outcome is recorded ---------------------------------------------


def test_a_blank_second_intake_does_not_lift_an_emergency_referral(
    alice: User, patient: Patient
) -> None:
    septic = intake(patient, alice, septic_intake(), days_ago(1))
    later = intake(patient, alice, oa_intake(), today())
    assert patient_status(patient, today()) == REFERRED
    assert list(open_referrals(patient)) == [septic]
    with pytest.raises(errors.PlanningNotAllowed, match="stands until its outcome is recorded"):
        services.propose_plan(later, alice, today())


def test_a_clearing_outcome_lifts_the_referral(alice: User, patient: Patient) -> None:
    septic = intake(patient, alice, septic_intake(), days_ago(3))
    later = intake(patient, alice, oa_intake(), today())
    services.resolve_referral(
        septic, alice, seen_by="Dr Synthetic, ED", seen_on=days_ago(2), cleared=True
    )
    assert patient_status(patient, today()) == INTAKE
    assert services.propose_plan(later, alice, today()).status == "draft"


def test_an_outcome_that_does_not_clear_keeps_the_referral(alice: User, patient: Patient) -> None:
    septic = intake(patient, alice, septic_intake(), days_ago(3))
    services.resolve_referral(septic, alice, seen_by="ED", seen_on=days_ago(2), cleared=False)
    assert patient_status(patient, today()) == REFERRED


def test_a_referral_outcome_cannot_predate_the_referring_intake(
    alice: User, patient: Patient
) -> None:
    septic = intake(patient, alice, septic_intake(), days_ago(1))
    with pytest.raises(errors.InvalidDate, match="before the referring intake"):
        services.resolve_referral(septic, alice, seen_by="ED", seen_on=days_ago(2), cleared=True)


def test_unanswered_red_flag_questions_block_planning(alice: User, patient: Patient) -> None:
    """Against the three-valued red flags (yes / no / not asked): a question left unanswered is
    "not asked", and planning waits for it, naming it in words."""
    data = oa_intake().model_dump(mode="json")
    data["red_flags"]["fever"] = None
    record = intake(patient, alice, Intake.model_validate(data), today())
    assert any("Fever" in r for r in planning_refusals(patient, record))
    with pytest.raises(errors.PlanningNotAllowed, match="Fever"):
        services.propose_plan(record, alice, today())


# --- no clinical record in the future, or before what it depends on -------------------------------


def test_a_session_dated_tomorrow_is_refused_naming_the_date(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    tomorrow = today() + dt.timedelta(days=1)
    with pytest.raises(errors.InvalidDate, match=f"{tomorrow.isoformat()} is after today") as exc:
        log(plan_record, alice, tomorrow)
    assert exc.value.field == "date"


def test_a_session_before_the_plan_starts_is_refused(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    with pytest.raises(errors.InvalidDate, match="before the start of the signed plan"):
        log(plan_record, alice, days_ago(12))


def test_a_measurement_or_intake_dated_tomorrow_is_refused(alice: User, patient: Patient) -> None:
    tomorrow = today() + dt.timedelta(days=1)
    with pytest.raises(errors.InvalidDate, match="after today"):
        services.record_measurements(patient, alice, tomorrow, {"pain_nrs": pain_answers(0.5)})
    with pytest.raises(errors.InvalidDate, match="after today"):
        intake(patient, alice, oa_intake(), tomorrow)


def test_the_course_never_reads_a_future_dated_measurement(alice: User, patient: Patient) -> None:
    intake(patient, alice, oa_intake(baseline={"pain_nrs": pain_answers(0.6)}), days_ago(30))
    Measurement.objects.create(  # stored before the check existed
        patient=patient,
        measured_on=today() + dt.timedelta(days=300),
        instrument="pain_nrs",
        answers=pain_answers(0.1),
        scores={},
    )
    found = course_of(patient)
    assert found is not None
    assert found.course.follow_ups == []


# --- the baseline ---------------------------------------------------------------------------------


def test_a_same_day_self_report_does_not_replace_the_intakes_baseline(
    alice: User, patient: Patient
) -> None:
    clinic_answers = pain_answers(0.7)
    record = intake(patient, alice, oa_intake(baseline={"pain_nrs": clinic_answers}), days_ago(1))
    services.record_measurements(
        patient, None, record.visit_date, {"pain_nrs": pain_answers(0.1)}, origin="self_report"
    )
    found = course_of(patient)
    assert found is not None
    assert found.course.baseline.measurements["pain_nrs"] == clinic_answers
    assert found.baseline.from_intake
    assert not found.baseline.chosen


def test_the_practitioner_may_choose_another_baseline(alice: User, patient: Patient) -> None:
    record = intake(
        patient, alice, oa_intake(baseline={"pain_nrs": pain_answers(0.7)}), days_ago(9)
    )
    services.record_measurements(patient, alice, days_ago(5), {"pain_nrs": pain_answers(0.6)})
    services.choose_baseline(record, days_ago(5), record.version)
    found = course_of(patient)
    assert found is not None
    assert found.course.baseline.date == days_ago(5)
    assert "chosen by the practitioner" in found.baseline.words


def test_a_baseline_is_chosen_only_on_the_latest_live_intake(alice: User, patient: Patient) -> None:
    older = intake(patient, alice, oa_intake(baseline={"pain_nrs": pain_answers(0.7)}), days_ago(9))
    services.record_measurements(patient, alice, days_ago(5), {"pain_nrs": pain_answers(0.6)})
    intake(patient, alice, oa_intake(), days_ago(7))
    with pytest.raises(errors.StaleEdit, match="A later intake"):
        services.choose_baseline(older, days_ago(5), older.version)


# --- the affected side ----------------------------------------------------------------------------


def test_the_affected_side_is_the_intakes_side(alice: User, patient: Patient) -> None:
    record = intake(patient, alice, oa_intake(side="both"), today())
    assert affected_side(record) is Side.BOTH


# --- session numbers and repeated submits ---------------------------------------------------------


def test_two_live_sessions_cannot_share_a_number(alice: User, patient: Patient) -> None:
    first = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(5))
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentSession.objects.create(
            patient=patient, plan=first.plan, number=1, session_date=days_ago(4), data=first.data
        )


def test_a_voided_sessions_number_is_free_again(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    first = log(plan_record, alice, days_ago(5))
    services.void(first, alice, "entered in error", first.version)
    assert log(plan_record, alice, days_ago(5)).number == 1


def test_a_repeated_submission_key_is_answered_once(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    stored = log(plan_record, alice, days_ago(5), submission_key="form-1")
    with pytest.raises(errors.DuplicateSubmission, match="already saved as session 1") as exc:
        log(plan_record, alice, days_ago(5), submission_key="form-1")
    assert exc.value.existing_id == stored.pk
    assert patient.sessions.count() == 1


def test_the_session_number_is_the_services_not_the_callers(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    record = session_on(plan_record, days_ago(5), number=7)
    assert services.record_session(patient, alice, record).number == 1


# --- every void and edit checks its version -------------------------------------------------------


def test_voiding_a_plan_at_a_stale_version_is_refused(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    with pytest.raises(errors.StaleEdit):
        services.void_plan(plan_record, alice, "wrong plan", plan_record.version - 1)
    plan_record.refresh_from_db()
    assert not plan_record.is_voided


def test_voiding_a_patient_at_a_stale_version_is_refused(alice: User, patient: Patient) -> None:
    with pytest.raises(errors.StaleEdit):
        services.void(patient, alice, "duplicate", patient.version + 1)
    patient.refresh_from_db()
    assert not patient.is_voided


def test_editing_a_session_at_a_stale_version_is_refused(alice: User, patient: Patient) -> None:
    session = log(signed_plan(patient, alice, days_ago(10)), alice, days_ago(5))
    record = session_on(session.plan, days_ago(4))
    with pytest.raises(errors.StaleEdit):
        services.amend_session(session, alice, record, "wrong date", session.version + 1)


def test_voiding_an_intake_at_a_stale_version_is_refused(alice: User, patient: Patient) -> None:
    record = intake(patient, alice, oa_intake(), today())
    with pytest.raises(errors.StaleEdit):
        services.void_intake(record, alice, "wrong patient", record.version + 1, baseline=False)


def test_a_stale_edit_is_refused_in_a_sentence_that_says_what_to_do(
    alice: User, patient: Patient
) -> None:
    """Shown as is above the form a second tab sent (the referral letter's, say)."""
    record = intake(patient, alice, septic_intake(), days_ago(1))
    services.save_referral_letter(record, alice, recipient="Dr Jones", body="First.", version=None)
    with pytest.raises(errors.StaleEdit) as refused:
        services.save_referral_letter(
            record, alice, recipient="Dr Jones", body="From a stale tab.", version=None
        )
    ((_, message),) = refused.value.problems
    assert message.startswith("This referral letter text was changed by someone else")
    assert "reload" in message


def test_a_save_raced_by_another_is_refused_in_a_sentence(alice: User, patient: Patient) -> None:
    """The row's own check (two saves at once): the same capitalised sentence."""
    record = intake(patient, alice, oa_intake(), today())
    with pytest.raises(StaleEdit) as refused:
        record.save_versioned(record.version + 1)
    assert str(refused.value).startswith("This intake record was changed by someone else")


# --- FHIR lines are stored by the care layer, failures logged ------------------------------------


def test_a_measurements_fhir_lines_are_stored_when_recorded(alice: User, patient: Patient) -> None:
    (m,) = services.record_measurements(patient, alice, today(), {"pain_nrs": pain_answers(0.5)})
    m.refresh_from_db()
    assert m.fhir_version == bulk.render_version()
    assert bytes(m.fhir_response)


def test_a_line_the_mapping_cannot_render_is_logged_not_swallowed(
    alice: User, patient: Patient, monkeypatch: Any, caplog: Any
) -> None:
    def broken(self: Measurement) -> None:
        raise ValueError("no template")

    monkeypatch.setattr(Measurement, "render_fhir", broken)
    with caplog.at_level(logging.ERROR, logger="acuknee.care.fhir_lines"):
        (m,) = services.record_measurements(
            patient, alice, today(), {"pain_nrs": pain_answers(0.5)}
        )
    m.refresh_from_db()
    assert m.fhir_version == ""
    assert f"Measurement {m.pk} could not be rendered" in caplog.text


def test_a_save_outside_the_care_layer_marks_the_lines_stale(alice: User, patient: Patient) -> None:
    (m,) = services.record_measurements(patient, alice, today(), {"pain_nrs": pain_answers(0.5)})
    m.refresh_from_db()
    m.save()
    m.refresh_from_db()
    assert m.fhir_version == ""


# --- sessions are checked against the patient's current screening ---------------------------------


def test_a_later_intake_that_blocks_treatment_refuses_the_next_session(
    alice: User, patient: Patient
) -> None:
    """Chemotherapy started after the plan was signed: the treating team's agreement is not yet
    recorded (OncoLink 2011, Liao 2013), so the next session is refused under the old plan."""
    plan_record = signed_plan(patient, alice, days_ago(20))
    log(plan_record, alice, days_ago(10))
    intake(patient, alice, oa_intake(health={"immunosuppression": "chemotherapy"}), days_ago(5))
    with pytest.raises(errors.SessionRefused, match="treating team"):
        services.record_session(patient, alice, session_on(plan_record, days_ago(2), number=2))


def test_the_next_session_is_allowed_once_the_later_intake_records_the_teams_agreement(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(20))
    agreed = {"immunosuppression": "chemotherapy", "treating_team_agrees": True}
    intake(patient, alice, oa_intake(health=agreed), days_ago(5))
    session = services.record_session(patient, alice, session_on(plan_record, days_ago(2)))
    assert session.number == 1


def test_a_pacemaker_recorded_after_an_electro_plan_was_signed_refuses_electro_sessions(
    alice: User, patient: Patient
) -> None:
    """The plan holding electroacupuncture is not an override of a block that came later:
    no electroacupuncture with an implanted device (BAcC; BMAS 2023)."""
    record = intake(patient, alice, oa_intake(preferences={"method": "electro"}), days_ago(27))
    plan_record = services.propose_plan(record, alice, days_ago(20))
    services.sign_plan(plan_record, alice, plan_record.version)
    plan_record.refresh_from_db()
    services.record_consent(patient, alice, consent_on(days_ago(27)))
    assert Plan.model_validate(plan_record.content).method.value == "electro"
    intake(patient, alice, oa_intake(health={"implanted_electronic_device": True}), days_ago(5))
    with pytest.raises(errors.SessionRefused, match="recorded no override"):
        services.record_session(patient, alice, session_on(plan_record, days_ago(2)))


def test_a_knee_replacement_recorded_after_the_plan_was_signed_refuses_its_local_points(
    alice: User, patient: Patient
) -> None:
    """Points around a replaced knee are blocked (BMAS 2021); the plan holding them from before
    the operation is no override: the session names the rule and asks for the plan's review."""
    plan_record = signed_plan(patient, alice, days_ago(20))
    intake(patient, alice, oa_intake(health={"knee_prosthesis": "left"}), days_ago(5))
    with pytest.raises(errors.SessionRefused, match="recorded no override"):
        services.record_session(patient, alice, session_on(plan_record, days_ago(2)))


@pytest.mark.parametrize("ahead", [367, None])
def test_a_plan_starting_more_than_a_year_ahead_is_refused_on_its_start(
    alice: User, patient: Patient, ahead: int | None
) -> None:
    """A mistyped year, not a course about to begin (9999 once overflowed the schedule)."""
    record = intake(patient, alice, oa_intake(), today())
    start = dt.date(9999, 12, 31) if ahead is None else today() + dt.timedelta(days=ahead)
    with pytest.raises(errors.InvalidDate) as refused:
        services.propose_plan(record, alice, start)
    assert refused.value.field == "start"
    assert "more than a year after today" in str(refused.value)
    assert services.propose_plan(record, alice, today() + dt.timedelta(days=366)).status == "draft"
