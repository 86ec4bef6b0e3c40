"""Vignettes for the hazard log's controls that had no test of their own (docs/clinical-safety.md).

Each test is one patient: an intake, the referral the red flag must give (its urgency, whether
planning may go on), and a source the rule cites. The hazard log names these tests, and
``test_clinical_safety_case.py`` checks that every test it names exists.
"""

from __future__ import annotations

from typing import Any

import pytest

from acuknee.clinical.intake import Intake
from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.screening import Referral, Screening, screen
from acuknee.clinical.vocabulary import Urgency


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def patient(age: int, **recorded: Any) -> Intake:
    """A synthetic patient with eight weeks of right knee pain and what the vignette records."""
    return Intake.model_validate({"age": age, "side": "right", "duration_weeks": 8, **recorded})


def referral(screening: Screening, rule: str) -> Referral:
    found = [r for r in screening.referrals if r.rule == rule]
    assert found, f"red flag {rule!r} did not fire: {[r.rule for r in screening.referrals]}"
    return found[0]


def test_hot_swollen_knee_with_fever_is_sent_to_the_emergency_department_as_septic(
    kb: KnowledgeBase,
) -> None:
    screening = screen(patient(67, red_flags={"hot_swollen_knee": True, "fever": True}), kb)
    septic = referral(screening, "septic_arthritis")
    assert septic.urgency is Urgency.EMERGENCY
    assert not screening.plan_allowed
    assert "bsr2006_hot_swollen_joint" in septic.sources


def test_fever_alone_with_a_knee_replacement_is_an_urgent_orthopaedic_review_not_an_emergency(
    kb: KnowledgeBase,
) -> None:
    """Fever alone is not a reliable sign of joint infection, but a symptomatic prosthesis is
    referred (BMJ Best Practice): urgent review, no needling meanwhile, not the emergency flag."""
    recorded = {"health": {"knee_prosthesis": "right"}, "red_flags": {"fever": True}}
    screening = screen(patient(72, **recorded), kb)
    review = referral(screening, "prosthesis_fever_review")
    assert review.urgency is Urgency.URGENT
    assert "infected_prosthesis" not in [r.rule for r in screening.referrals]
    assert not screening.plan_allowed
    assert "bmj_bp_septic_arthritis" in review.sources


def test_fever_after_recent_surgery_on_a_replaced_knee_is_an_orthopaedic_emergency(
    kb: KnowledgeBase,
) -> None:
    recorded = {
        "health": {"knee_prosthesis": "right"},
        "red_flags": {"fever": True},
        "knee_surgery_days_ago": 20,
    }
    screening = screen(patient(72, **recorded), kb)
    infected = referral(screening, "infected_prosthesis")
    assert infected.urgency is Urgency.EMERGENCY
    assert not screening.plan_allowed
    assert "bsr2006_hot_swollen_joint" in infected.sources


def test_no_straight_leg_raise_after_a_fall_is_an_emergency_for_extensor_rupture(
    kb: KnowledgeBase,
) -> None:
    recorded = {"injury": {"days_ago": 1}, "red_flags": {"unable_straight_leg_raise": True}}
    screening = screen(patient(45, **recorded), kb)
    rupture = referral(screening, "extensor_rupture_or_dislocation")
    assert rupture.urgency is Urgency.EMERGENCY
    assert not screening.plan_allowed
    assert "gcare_knee_red_flags" in rupture.sources


def test_a_traumatic_patellar_dislocation_is_referred_urgently_and_not_needled(
    kb: KnowledgeBase,
) -> None:
    screening = screen(patient(22, injury={"days_ago": 2, "patellar_dislocation": True}), kb)
    dislocation = referral(screening, "patellar_dislocation")
    assert dislocation.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "gcare_knee_red_flags" in dislocation.sources


def test_a_knee_that_locks_is_referred_urgently_and_not_needled(kb: KnowledgeBase) -> None:
    screening = screen(patient(35, red_flags={"true_locking": True}), kb)
    locked = referral(screening, "locked_knee")
    assert locked.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "gcare_knee_red_flags" in locked.sources


def test_swelling_within_two_hours_of_an_injury_is_referred_urgently_as_haemarthrosis(
    kb: KnowledgeBase,
) -> None:
    screening = screen(patient(28, injury={"days_ago": 0, "effusion_within_2_hours": True}), kb)
    bleed = referral(screening, "haemarthrosis")
    assert bleed.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "gcare_knee_red_flags" in bleed.sources


def test_a_swollen_tender_calf_goes_to_the_same_day_dvt_pathway(kb: KnowledgeBase) -> None:
    screening = screen(patient(60, red_flags={"calf_swelling_or_tenderness": True}), kb)
    dvt = referral(screening, "deep_vein_thrombosis")
    assert dvt.urgency is Urgency.EMERGENCY
    assert not screening.plan_allowed
    assert "nice_wells_dvt" in dvt.sources


def test_a_mass_near_the_knee_is_referred_urgently_as_a_possible_tumour(
    kb: KnowledgeBase,
) -> None:
    screening = screen(patient(58, red_flags={"palpable_mass": True}), kb)
    tumour = referral(screening, "tumour")
    assert tumour.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "cornwall_inflammatory_knee" in tumour.sources


def test_other_swollen_joints_are_an_urgent_rheumatology_referral_before_any_needling(
    kb: KnowledgeBase,
) -> None:
    """NICE NG100: suspected synovitis in more than one joint is referred urgently."""
    recorded = {"morning_stiffness_minutes": 60, "red_flags": {"other_joints_swollen": True}}
    screening = screen(patient(50, **recorded), kb)
    urgent = referral(screening, "inflammatory_arthritis_urgent")
    assert urgent.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "nice_ng100_referral" in urgent.sources


def test_long_morning_stiffness_with_raised_markers_is_referred_to_rheumatology_alongside(
    kb: KnowledgeBase,
) -> None:
    recorded = {
        "morning_stiffness_minutes": 60,
        "red_flags": {"raised_inflammatory_markers": True},
    }
    screening = screen(patient(50, **recorded), kb)
    inflammatory = referral(screening, "inflammatory_arthritis")
    assert inflammatory.urgency is Urgency.ROUTINE
    assert "inflammatory_arthritis_urgent" not in [r.rule for r in screening.referrals]
    assert screening.plan_allowed
    assert "gcare_lower_limb" in inflammatory.sources


def test_numbness_or_foot_drop_is_referred_urgently_for_nerve_compression(
    kb: KnowledgeBase,
) -> None:
    screening = screen(patient(52, red_flags={"numbness_or_foot_drop": True}), kb)
    nerve = referral(screening, "nerve_compression")
    assert nerve.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "gcare_knee_red_flags" in nerve.sources


def test_a_patient_who_cannot_walk_gets_urgent_medical_review_before_any_needling(
    kb: KnowledgeBase,
) -> None:
    screening = screen(patient(80, red_flags={"unable_to_walk": True}), kb)
    systemic = referral(screening, "systemic_illness")
    assert systemic.urgency is Urgency.URGENT
    assert not screening.plan_allowed
    assert "gcare_knee_red_flags" in systemic.sources
