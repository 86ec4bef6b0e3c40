"""Vignettes for the second safety pass on red flags (issue 11 items 2, 4, 5, 6, 10, 11, 12 and
issue 12 section 4): each an intake, the expected referral (or none) and the source asserted."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from acuknee.clinical.intake import Intake, unanswered_red_flags
from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.planning import plan
from acuknee.clinical.screening import Referral, Screening, screen
from acuknee.clinical.vocabulary import Urgency

START = dt.date(2025, 3, 3)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def intake(**changes: Any) -> Intake:
    """A 60-year-old with three months of left knee pain and nothing else recorded."""
    base: dict[str, Any] = {"age": 60, "side": "left", "duration_weeks": 12}
    return Intake.model_validate({**base, **changes})


def referral(screening: Screening, rule: str) -> Referral:
    return next(r for r in screening.referrals if r.rule == rule)


def rules(screening: Screening) -> list[str]:
    return [r.rule for r in screening.referrals]


# --- three-valued red-flag answers (issue 12, section 4) ---------------------------------------


def test_a_red_flag_question_not_asked_is_none_not_no() -> None:
    assert intake().red_flags.fever is None


def test_an_old_record_with_false_red_flags_still_loads_as_asked_no() -> None:
    stored = json.dumps(
        {"age": 60, "side": "left", "duration_weeks": 12, "red_flags": {"fever": False}}
    )
    assert Intake.model_validate_json(stored).red_flags.fever is False


def test_screening_lists_the_red_flag_questions_not_answered_with_their_words(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"fever": False}), kb)
    unanswered = {q.field: q.question for q in screening.unanswered_red_flags}
    assert ("red_flags.fever" not in unanswered, unanswered["red_flags.hot_swollen_knee"]) == (
        True,
        "Hot, swollen knee",
    )


def test_unanswered_red_flags_do_not_stop_the_core_from_planning(kb: KnowledgeBase) -> None:
    screening = screen(intake(), kb)
    assert (bool(screening.unanswered_red_flags), screening.plan_allowed) == (True, True)


def test_the_unanswered_note_says_not_asked_is_not_no(kb: KnowledgeBase) -> None:
    note = screen(intake(), kb).unanswered_note
    assert "not asked is not 'no'" in (note or "")


def test_injury_questions_are_listed_only_when_an_injury_is_recorded() -> None:
    without = [q.field for q in unanswered_red_flags(intake())]
    with_injury = [q.field for q in unanswered_red_flags(intake(injury={"days_ago": 2}))]
    assert ("injury.cannot_flex_to_90" in without, "injury.cannot_flex_to_90" in with_injury) == (
        False,
        True,
    )


def test_every_red_flag_states_what_the_receiving_service_does_next(kb: KnowledgeBase) -> None:
    assert [f.id for f in kb.red_flags.values() if len(f.next_step) < 20] == []


def test_a_referral_carries_the_next_step_of_its_red_flag(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"hot_swollen_knee": True}), kb)
    assert "aspirates" in referral(screening, "crystal_arthritis").next_step


def test_a_referral_stored_before_next_step_existed_still_loads() -> None:
    old = {
        "rule": "tumour",
        "name": "Possible tumour",
        "urgency": "urgent",
        "action": "Refer",
        "reason": "Mass",
        "findings": [],
        "sources": ["nice2005_bone_pain"],
    }
    assert Referral.model_validate(old).next_step == ""


# --- item 2: a hot swollen knee is found wherever it is recorded --------------------------------


def test_warmth_and_effusion_on_examination_raise_the_hot_swollen_knee_flag(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(examination={"palpable_warmth": True, "effusion_present": True}), kb)
    flag = referral(screening, "crystal_arthritis")
    assert (flag.urgency, "bsr2006_hot_swollen_joint" in flag.sources) == (
        Urgency.EMERGENCY,
        True,
    )


def test_warmth_and_effusion_of_several_weeks_are_not_an_acute_hot_swollen_knee(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(
            examination={"palpable_warmth": True, "effusion_present": True},
            red_flags={"swollen_joint_weeks": 6},
        ),
        kb,
    )
    assert "crystal_arthritis" not in rules(screening)


def test_fever_with_a_warm_knee_is_suspected_septic_arthritis(kb: KnowledgeBase) -> None:
    screening = screen(intake(examination={"palpable_warmth": True}, red_flags={"fever": True}), kb)
    flag = referral(screening, "septic_arthritis")
    assert (flag.urgency, "bsr2006_hot_swollen_joint" in flag.sources) == (
        Urgency.EMERGENCY,
        True,
    )


def test_a_warm_knee_after_a_joint_injection_is_suspected_septic_arthritis(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(examination={"palpable_warmth": True}, joint_injection_days_ago=10), kb
    )
    flag = referral(screening, "septic_arthritis")
    assert (
        "joint_injection_days_ago" in flag.findings,
        "bmj_bp_septic_arthritis" in flag.sources,
    ) == (
        True,
        True,
    )


def test_a_warm_knee_after_knee_surgery_is_suspected_septic_arthritis(kb: KnowledgeBase) -> None:
    screening = screen(intake(examination={"palpable_warmth": True}, knee_surgery_days_ago=21), kb)
    assert "septic_arthritis" in rules(screening)


def test_a_warm_knee_in_an_immunosuppressed_patient_is_suspected_septic_arthritis(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(examination={"palpable_warmth": True}, health={"immunosuppressed": True}), kb
    )
    assert "septic_arthritis" in rules(screening)


def test_immunosuppression_without_a_hot_knee_is_not_a_septic_referral(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"immunosuppressed": True}), kb)
    assert "septic_arthritis" not in rules(screening)


def test_the_damp_heat_pattern_is_never_applied_while_the_hot_knee_flag_stands(
    kb: KnowledgeBase,
) -> None:
    patient = intake(
        examination={"palpable_warmth": True, "effusion_present": True},
        preferences={"use_patterns": True, "pattern": "damp_heat_bi"},
    )
    flagged = screen(patient, kb)
    # Even if the emergency were lifted (e.g. after a resolved referral), the pattern stays off:
    lifted = Screening(
        referrals=[r.model_copy(update={"urgency": Urgency.ROUTINE}) for r in flagged.referrals],
        findings=flagged.findings,
    )
    result = plan(patient, lifted, start=START, kb=kb)
    assert (result.pattern, any("damp_heat_bi" in w for w in result.warnings)) == (None, True)


# --- item 4: inflammatory arthritis on persistent synovitis (NICE NG100) -----------------------


def test_swollen_small_joints_of_the_hands_are_an_urgent_referral_with_normal_bloods(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(
            red_flags={
                "small_joints_hands_feet_swollen": True,
                "raised_inflammatory_markers": False,
            },
            investigations={"esr_mm_per_hour": 8, "rheumatoid_factor_below_1_in_40": True},
        ),
        kb,
    )
    flag = referral(screening, "inflammatory_arthritis_urgent")
    assert (flag.urgency, flag.sources) == (Urgency.URGENT, ["nice_ng100_referral"])


def test_more_than_one_swollen_joint_is_an_urgent_referral_without_stiffness_data(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"other_joints_swollen": True}), kb)
    assert referral(screening, "inflammatory_arthritis_urgent").urgency is Urgency.URGENT


def test_a_joint_swollen_for_three_months_is_an_urgent_referral(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"swollen_joint_weeks": 13}), kb)
    assert "inflammatory_arthritis_urgent" in rules(screening)


def test_a_joint_swollen_for_some_weeks_is_a_routine_rheumatology_referral(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"swollen_joint_weeks": 5}), kb)
    flag = referral(screening, "inflammatory_arthritis")
    assert (flag.urgency, "nice_ng100_referral" in flag.sources) == (Urgency.ROUTINE, True)


# --- item 5: Ottawa knee rule for acute injuries only ------------------------------------------


def test_ottawa_rule_sends_a_fresh_injury_to_the_emergency_department(kb: KnowledgeBase) -> None:
    screening = screen(intake(age=30, injury={"days_ago": 7, "cannot_flex_to_90": True}), kb)
    flag = referral(screening, "fracture_ottawa")
    assert (flag.urgency, "evidencio_ottawa_knee" in flag.sources) == (Urgency.EMERGENCY, True)


def test_an_injury_months_old_does_not_trigger_the_ottawa_rule(kb: KnowledgeBase) -> None:
    screening = screen(
        intake(age=70, injury={"days_ago": 90, "cannot_bear_weight_four_steps": True}), kb
    )
    assert "fracture_ottawa" not in rules(screening)


def test_an_injury_eight_days_old_does_not_trigger_the_ottawa_rule(kb: KnowledgeBase) -> None:
    screening = screen(intake(age=30, injury={"days_ago": 8, "cannot_flex_to_90": True}), kb)
    assert "fracture_ottawa" not in rules(screening)


# --- item 6: tumour ----------------------------------------------------------------------------


def test_bone_pain_at_night_away_from_the_joint_line_is_an_urgent_x_ray_referral(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"bone_pain_away_from_joint_line": True}), kb)
    flag = referral(screening, "tumour")
    assert (flag.urgency, "X-ray" in flag.action, "nice_ng12_bone_sarcoma" in flag.sources) == (
        Urgency.URGENT,
        True,
        True,
    )


def test_night_pain_alone_is_not_a_cancer_referral(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"night_or_unremitting_pain": True}), kb)
    assert "tumour" not in rules(screening)


def test_night_pain_with_a_history_of_cancer_is_a_tumour_referral(kb: KnowledgeBase) -> None:
    screening = screen(
        intake(red_flags={"night_or_unremitting_pain": True, "history_of_cancer": True}), kb
    )
    flag = referral(screening, "tumour")
    assert (
        "red_flags.history_of_cancer" in flag.findings,
        "nice2005_bone_pain" in flag.sources,
    ) == (
        True,
        True,
    )


def test_a_palpable_mass_is_a_tumour_referral(kb: KnowledgeBase) -> None:
    assert "tumour" in rules(screen(intake(red_flags={"palpable_mass": True}), kb))


# --- item 10: children and adolescents ---------------------------------------------------------


def test_a_child_with_knee_pain_and_restricted_hip_movement_is_sent_the_same_day(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(age=13, examination={"abnormal_hip_examination": True}), kb)
    flag = referral(screening, "child_hip_examination")
    assert (flag.urgency, "cornwall_hip_pain_children" in flag.sources) == (
        Urgency.EMERGENCY,
        True,
    )


def test_a_child_with_knee_pain_and_a_limp_is_referred_for_the_hip(kb: KnowledgeBase) -> None:
    screening = screen(intake(age=9, red_flags={"limp": True}), kb)
    flag = referral(screening, "child_limp")
    assert (flag.urgency, "pmm_hip_pain_children" in flag.sources) == (Urgency.URGENT, True)


def test_an_adult_with_a_limp_is_not_sent_for_a_childs_hip_assessment(kb: KnowledgeBase) -> None:
    assert "child_limp" not in rules(screen(intake(age=40, red_flags={"limp": True}), kb))


def test_a_child_without_a_parents_consent_is_not_treated(kb: KnowledgeBase) -> None:
    screening = screen(intake(age=14, consent_given_by="patient"), kb)
    finding = next(f for f in screening.findings if f.rule == "minor_consent")
    assert (finding.blocks_treatment, finding.sources, screening.plan_allowed) == (
        True,
        ["bacc_minimum_age"],
        False,
    )


def test_a_child_whose_parent_consented_may_be_planned(kb: KnowledgeBase) -> None:
    screening = screen(intake(age=14, consent_given_by="parent_or_guardian"), kb)
    assert "minor_consent" not in [f.rule for f in screening.findings]


# --- item 11: popliteal aneurysm, compartment syndrome, recent surgery, Wells items -------------


def test_a_pulsatile_popliteal_mass_is_referred_and_blocks_the_popliteal_points(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"pulsatile_popliteal_mass": True}), kb)
    flag = referral(screening, "popliteal_aneurysm")
    blocked = {b.code for f in screening.findings for b in f.blocked_points}
    assert (flag.urgency, {"BL39", "BL40", "KI10"} <= blocked, flag.sources[0]) == (
        Urgency.URGENT,
        True,
        "statpearls_popliteal_aneurysm",
    )


def test_signs_of_compartment_syndrome_are_an_emergency(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"compartment_syndrome_signs": True}), kb)
    flag = referral(screening, "compartment_syndrome")
    assert (flag.urgency, "statpearls_compartment_syndrome" in flag.sources) == (
        Urgency.EMERGENCY,
        True,
    )


def test_the_wells_score_is_computed_from_its_items(kb: KnowledgeBase) -> None:
    screening = screen(
        intake(red_flags={"wells": {"paralysis_paresis_or_plaster": True, "previous_dvt": True}}),
        kb,
    )
    flag = referral(screening, "deep_vein_thrombosis")
    assert (flag.urgency, flag.sources[0]) == (Urgency.EMERGENCY, "nice_wells_dvt")


def test_recent_knee_surgery_counts_as_the_wells_major_surgery_item(kb: KnowledgeBase) -> None:
    screening = screen(
        intake(knee_surgery_days_ago=30, red_flags={"wells": {"entire_leg_swollen": True}}), kb
    )
    assert "knee_surgery_days_ago" in referral(screening, "deep_vein_thrombosis").findings


def test_one_wells_item_alone_is_dvt_unlikely(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"wells": {"previous_dvt": True}}), kb)
    assert "deep_vein_thrombosis" not in rules(screening)


def test_an_alternative_diagnosis_subtracts_two_wells_points(kb: KnowledgeBase) -> None:
    wells = {"previous_dvt": True, "pitting_oedema": True, "alternative_diagnosis_as_likely": True}
    screening = screen(intake(red_flags={"wells": wells}), kb)
    assert "deep_vein_thrombosis" not in rules(screening)


def test_a_manual_wells_score_is_still_read_when_the_items_are_not_recorded(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"wells_dvt_score": 3}), kb)
    assert "deep_vein_thrombosis" in rules(screening)


# --- item 12: no over-triage -------------------------------------------------------------------


def test_swelling_of_a_leg_with_known_stable_lymphoedema_is_not_a_dvt_emergency(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(
            health={"lymphoedema_leg": "left"},
            red_flags={
                "unilateral_leg_swelling": True,
                "leg_swelling_explained_by_lymphoedema": True,
            },
        ),
        kb,
    )
    assert "deep_vein_thrombosis" not in rules(screening)


def test_unexplained_swelling_with_lymphoedema_is_still_a_dvt_emergency(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(
            health={"lymphoedema_leg": "left"},
            red_flags={
                "unilateral_leg_swelling": True,
                "leg_swelling_explained_by_lymphoedema": False,
            },
        ),
        kb,
    )
    assert referral(screening, "deep_vein_thrombosis").urgency is Urgency.EMERGENCY


def test_lymphoedema_does_not_explain_calf_tenderness(kb: KnowledgeBase) -> None:
    screening = screen(
        intake(
            health={"lymphoedema_leg": "left"},
            red_flags={
                "calf_swelling_or_tenderness": True,
                "leg_swelling_explained_by_lymphoedema": True,
            },
        ),
        kb,
    )
    assert "deep_vein_thrombosis" in rules(screening)


def test_fever_alone_after_a_knee_replacement_is_urgent_review_not_the_emergency_department(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(health={"knee_prosthesis": "left"}, red_flags={"fever": True}), kb)
    flag = referral(screening, "prosthesis_fever_review")
    assert (
        "infected_prosthesis" in rules(screening),
        flag.urgency,
        "bmj_bp_septic_arthritis" in flag.sources,
    ) == (False, Urgency.URGENT, True)


def test_fever_with_a_warm_replaced_knee_is_a_same_day_orthopaedic_referral(
    kb: KnowledgeBase,
) -> None:
    screening = screen(
        intake(
            health={"knee_prosthesis": "left"},
            red_flags={"fever": True},
            examination={"palpable_warmth": True},
        ),
        kb,
    )
    flag = referral(screening, "infected_prosthesis")
    assert (flag.urgency, "bsr2006_hot_swollen_joint" in flag.sources) == (
        Urgency.EMERGENCY,
        True,
    )
