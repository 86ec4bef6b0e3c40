"""Screening: every red flag and every safety rule fires on its findings and not on a near miss;
effects expand into the right point blocks per side; plan_allowed and refusal reasons follow."""

from __future__ import annotations

from typing import Any

import pytest

from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.intake import Intake
from acuknee.clinical.knowledge import KnowledgeBase, build_knowledge, load_knowledge
from acuknee.clinical.screening import Screening, screen
from acuknee.clinical.vocabulary import Limb, Method, RuleKind, Side, Urgency

LEFT, RIGHT, BOTH = Side.LEFT, Side.RIGHT, Side.BOTH


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def intake(**changes: Any) -> Intake:
    """A 40-year-old with three months of left knee pain and nothing else recorded."""
    base: dict[str, Any] = {"age": 40, "side": "left", "duration_weeks": 12}
    return Intake.model_validate({**base, **changes})


def referral_ids(screening: Screening) -> list[str]:
    return [r.rule for r in screening.referrals]


def finding(screening: Screening, rule: str) -> Any:
    matches = [f for f in screening.findings if f.rule == rule]
    assert matches, f"rule {rule!r} did not fire"
    return matches[0]


def blocked(screening: Screening, code: str, side: Side) -> bool:
    return bool(screening.point_blocks(code, side))


def tagged(kb: KnowledgeBase, tag: str) -> list[str]:
    codes = [p.code for p in kb.points.values() if tag in p.tags]
    assert codes, f"no point carries tag {tag!r}"
    return codes


def local_points(kb: KnowledgeBase) -> list[str]:
    return [p.code for p in kb.points.values() if kb.regions[p.region].local_to_knee]


def lower_limb_points(kb: KnowledgeBase) -> list[str]:
    return [p.code for p in kb.points.values() if kb.regions[p.region].limb is Limb.LOWER]


# --- red flags: one case that fires and one near miss each -------------------------------------

RED_FLAG_FIRES: dict[str, dict[str, Any]] = {
    "septic_arthritis": {"red_flags": {"hot_swollen_knee": True, "fever": True}},
    "infected_prosthesis": {
        "health": {"knee_prosthesis": "left"},
        "examination": {"palpable_warmth": True},
    },
    "crystal_arthritis": {"red_flags": {"hot_swollen_knee": True}},
    "fracture_ottawa": {"age": 55, "injury": {"days_ago": 1}},
    "extensor_rupture_or_dislocation": {
        "injury": {"days_ago": 0},
        "red_flags": {"unable_straight_leg_raise": True},
    },
    "patellar_dislocation": {"injury": {"days_ago": 2, "patellar_dislocation": True}},
    "locked_knee": {"red_flags": {"true_locking": True}},
    "haemarthrosis": {"injury": {"days_ago": 0, "effusion_within_2_hours": True}},
    "deep_vein_thrombosis": {"red_flags": {"wells_dvt_score": 2}},
    "tumour": {"red_flags": {"bone_pain_away_from_joint_line": True}},
    "inflammatory_arthritis": {
        "morning_stiffness_minutes": 45,
        "red_flags": {"raised_inflammatory_markers": True},
    },
    "neurovascular_compromise": {"red_flags": {"cold_pale_limb": True}},
    "nerve_compression": {"red_flags": {"numbness_or_foot_drop": True}},
    "peripheral_arterial_disease": {"red_flags": {"claudication": True}},
    "systemic_illness": {"red_flags": {"unable_to_walk": True}},
    # Added in the second safety pass (issue 11); vignettes in test_red_flags_second_pass.py.
    "prosthesis_fever_review": {
        "health": {"knee_prosthesis": "left"},
        "red_flags": {"fever": True},
    },
    "inflammatory_arthritis_urgent": {"red_flags": {"small_joints_hands_feet_swollen": True}},
    "compartment_syndrome": {"red_flags": {"compartment_syndrome_signs": True}},
    "popliteal_aneurysm": {"red_flags": {"pulsatile_popliteal_mass": True}},
    "child_hip_examination": {"age": 12, "examination": {"abnormal_hip_examination": True}},
    "child_limp": {"age": 12, "red_flags": {"limp": True}},
}

RED_FLAG_NEAR_MISSES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "septic_arthritis",
        "hot swollen knee without fever",
        {"red_flags": {"hot_swollen_knee": True}},
    ),
    ("septic_arthritis", "fever without a hot swollen knee", {"red_flags": {"fever": True}}),
    ("infected_prosthesis", "prosthesis alone", {"health": {"knee_prosthesis": "left"}}),
    ("crystal_arthritis", "fever alone", {"red_flags": {"fever": True}}),
    ("fracture_ottawa", "age 54 and no Ottawa item", {"age": 54, "injury": {"days_ago": 1}}),
    ("fracture_ottawa", "age 70 without an injury", {"age": 70}),
    (
        "extensor_rupture_or_dislocation",
        "no straight leg raise without an injury",
        {"red_flags": {"unable_straight_leg_raise": True}},
    ),
    ("patellar_dislocation", "injury without dislocation", {"injury": {"days_ago": 2}}),
    ("locked_knee", "injury without locking", {"injury": {"days_ago": 3}}),
    (
        "haemarthrosis",
        "effusion not within 2 hours",
        {"injury": {"days_ago": 0}, "examination": {"effusion_present": True}},
    ),
    ("deep_vein_thrombosis", "Wells score 1", {"red_flags": {"wells_dvt_score": 1}}),
    ("tumour", "history of cancer alone", {"red_flags": {"history_of_cancer": True}}),
    (
        "inflammatory_arthritis",
        "stiffness of exactly 30 minutes",
        {"morning_stiffness_minutes": 30, "red_flags": {"raised_inflammatory_markers": True}},
    ),
    ("inflammatory_arthritis", "long stiffness alone", {"morning_stiffness_minutes": 45}),
    (
        "neurovascular_compromise",
        "absent foot pulses without an injury",
        {"red_flags": {"absent_foot_pulses": True}},
    ),
    (
        "nerve_compression",
        "diabetic neuropathy recorded as health",
        {"health": {"diabetes": True, "peripheral_neuropathy": True}},
    ),
    (
        "peripheral_arterial_disease",
        "calf swelling",
        {"red_flags": {"calf_swelling_or_tenderness": True}},
    ),
    ("systemic_illness", "fever alone", {"red_flags": {"fever": True}}),
    (
        "prosthesis_fever_review",
        "prosthesis without fever",
        {"health": {"knee_prosthesis": "left"}},
    ),
    (
        "inflammatory_arthritis_urgent",
        "a swollen joint for 11 weeks",
        {"red_flags": {"swollen_joint_weeks": 11}},
    ),
    (
        "compartment_syndrome",
        "calf tenderness",
        {"red_flags": {"calf_swelling_or_tenderness": True}},
    ),
    ("popliteal_aneurysm", "a mass that is not pulsatile", {"red_flags": {"palpable_mass": True}}),
    (
        "child_hip_examination",
        "abnormal hip examination at 17",
        {"age": 17, "examination": {"abnormal_hip_examination": True}},
    ),
    ("child_limp", "a limp at 17", {"age": 17, "red_flags": {"limp": True}}),
]


@pytest.mark.parametrize(("flag", "changes"), RED_FLAG_FIRES.items(), ids=list(RED_FLAG_FIRES))
def test_red_flag_fires_on_its_findings(
    kb: KnowledgeBase, flag: str, changes: dict[str, Any]
) -> None:
    assert flag in referral_ids(screen(intake(**changes), kb))


@pytest.mark.parametrize(
    ("flag", "changes"),
    [(flag, changes) for flag, _, changes in RED_FLAG_NEAR_MISSES],
    ids=[f"{flag}: {why}" for flag, why, _ in RED_FLAG_NEAR_MISSES],
)
def test_red_flag_does_not_fire_on_a_near_miss(
    kb: KnowledgeBase, flag: str, changes: dict[str, Any]
) -> None:
    assert flag not in referral_ids(screen(intake(**changes), kb))


def test_every_red_flag_has_a_firing_case_and_a_near_miss(kb: KnowledgeBase) -> None:
    assert set(RED_FLAG_FIRES) == set(kb.red_flags)
    assert {flag for flag, _, _ in RED_FLAG_NEAR_MISSES} == set(kb.red_flags)


def test_every_red_flag_states_urgency_action_reason_and_known_sources(kb: KnowledgeBase) -> None:
    for flag in kb.red_flags.values():
        assert flag.action, flag.id
        assert flag.reason, flag.id
        assert flag.source, flag.id
        assert all(s in kb.sources for s in flag.source), flag.id


@pytest.mark.parametrize(
    "item",
    [
        "fibular_head_tenderness",
        "isolated_patellar_tenderness",
        "cannot_flex_to_90",
        "cannot_bear_weight_four_steps",
    ],
)
def test_any_single_ottawa_item_after_injury_means_fracture(kb: KnowledgeBase, item: str) -> None:
    screening = screen(intake(age=30, injury={"days_ago": 1, item: True}), kb)
    referral = next(r for r in screening.referrals if r.rule == "fracture_ottawa")
    assert referral.urgency is Urgency.EMERGENCY
    assert f"injury.{item}" in referral.findings


def test_ottawa_age_counts_only_with_an_injury(kb: KnowledgeBase) -> None:
    assert "fracture_ottawa" not in referral_ids(screen(intake(age=80), kb))
    assert "fracture_ottawa" in referral_ids(screen(intake(age=80, injury={"days_ago": 0}), kb))


@pytest.mark.parametrize(
    "health",
    [
        {"immunosuppressed": True},
        {"immunosuppression": "biologic"},  # recorded by its cause, the box not ticked
        {"immunosuppression": "high_dose_steroids"},
        {"neutropenia": True},
        {"diabetes": True},
    ],
    ids=["immunosuppressed", "biologic", "steroids", "neutropenia", "diabetes"],
)
def test_a_warm_knee_with_any_risk_factor_the_sources_name_is_septic_until_proven_otherwise(
    kb: KnowledgeBase, health: dict[str, Any]
) -> None:
    """Septic arthritis is likelier with immunosuppression, neutropenia or diabetes (facts 4.1,
    G-care; BSR 2006's risk factors): each is read from every field that records it, so a
    biologic recorded by its name refers as the ticked box does (it once did not)."""
    warm = intake(examination={"palpable_warmth": True}, health=health)
    assert "septic_arthritis" in referral_ids(screen(warm, kb))
    assert "septic_arthritis" not in referral_ids(screen(intake(health=health), kb))


@pytest.mark.parametrize(
    ("flag", "changes"),
    [
        ("child_hip_examination", {"examination": {"abnormal_hip_examination": True}}),
        ("child_limp", {"red_flags": {"limp": True}}),
    ],
)
def test_a_sixteen_year_old_is_screened_for_a_slipped_epiphysis(
    kb: KnowledgeBase, flag: str, changes: dict[str, Any]
) -> None:
    """Slipped upper femoral epiphysis presents at 9-16 (Cornwall) or 10-16 years (RCH): the
    rules once stopped at the consent age, under 16."""
    assert flag in referral_ids(screen(intake(age=16, **changes), kb))


def test_hot_swollen_knee_without_fever_is_still_same_day_not_septic(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"hot_swollen_knee": True}), kb)
    assert referral_ids(screening) == ["crystal_arthritis"]
    assert screening.referrals[0].urgency is Urgency.EMERGENCY


def test_absent_foot_pulses_after_injury_are_a_neurovascular_emergency(kb: KnowledgeBase) -> None:
    screening = screen(intake(injury={"days_ago": 0}, red_flags={"absent_foot_pulses": True}), kb)
    assert "neurovascular_compromise" in referral_ids(screening)


def test_absent_foot_pulses_without_injury_are_a_routine_vascular_referral(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(red_flags={"absent_foot_pulses": True}), kb)
    assert referral_ids(screening) == ["peripheral_arterial_disease"]
    assert screening.plan_allowed


def test_referral_records_the_findings_that_fired(kb: KnowledgeBase) -> None:
    changes = {"red_flags": {"hot_swollen_knee": True, "fever": True, "claudication": True}}
    screening = screen(intake(**changes), kb)
    septic = next(r for r in screening.referrals if r.rule == "septic_arthritis")
    assert septic.findings == ["red_flags.hot_swollen_knee", "red_flags.fever"]


def test_referral_cites_its_sources(kb: KnowledgeBase) -> None:
    referral = screen(intake(red_flags={"true_locking": True}), kb).referrals[0]
    assert referral.sources == kb.red_flags["locked_knee"].source
    assert all(kb.sources[s].citation for s in referral.sources)


def test_referrals_are_ordered_most_urgent_first(kb: KnowledgeBase) -> None:
    changes = {"red_flags": {"claudication": True, "true_locking": True, "cold_pale_limb": True}}
    urgencies = [r.urgency for r in screen(intake(**changes), kb).referrals]
    assert urgencies == [Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE]


# --- plan_allowed and refusal reasons -----------------------------------------------------------


def test_clean_intake_allows_a_plan_with_nothing_to_report(kb: KnowledgeBase) -> None:
    screening = screen(intake(), kb)
    assert screening.referrals == []
    assert screening.findings == []
    assert screening.plan_allowed
    assert screening.refusal_reasons == []


def test_routine_referral_allows_a_plan_alongside(kb: KnowledgeBase) -> None:
    screening = screen(intake(**RED_FLAG_FIRES["inflammatory_arthritis"]), kb)
    assert [r.urgency for r in screening.referrals] == [Urgency.ROUTINE]
    assert screening.plan_allowed


def test_urgent_referral_refuses_the_plan_and_says_why(kb: KnowledgeBase) -> None:
    screening = screen(intake(red_flags={"true_locking": True}), kb)
    assert not screening.plan_allowed
    assert screening.refusal_reasons == [
        f"Locked knee: {kb.red_flags['locked_knee'].action} (urgent)"
    ]


def test_emergency_referral_refuses_the_plan(kb: KnowledgeBase) -> None:
    assert not screen(intake(red_flags={"wells_dvt_score": 3}), kb).plan_allowed


def test_inability_to_consent_refuses_the_plan(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"able_to_consent": False}), kb)
    assert screening.referrals == []
    assert not screening.plan_allowed
    assert screening.refusal_reasons == [
        f"Unable to give consent: {kb.safety_rules['unable_to_consent'].message}"
    ]


def test_precautions_alone_allow_a_plan(kb: KnowledgeBase) -> None:
    changes = {
        "health": {
            "anticoagulant": True,
            "neutropenia": True,
            "treating_team_agrees": True,
            "needle_phobia": True,
        }
    }
    assert screen(intake(**changes), kb).plan_allowed


def test_screening_is_deterministic(kb: KnowledgeBase) -> None:
    changes = {
        "red_flags": {"claudication": True},
        "health": {"pregnant": True, "knee_prosthesis": "left", "lymphoedema_leg": "right"},
    }
    assert screen(intake(**changes), kb) == screen(intake(**changes), kb)


def test_screen_uses_the_packaged_knowledge_base_by_default(kb: KnowledgeBase) -> None:
    changes = {"health": {"pregnant": True}}
    assert screen(intake(**changes)) == screen(intake(**changes), kb)


# --- safety rules: one case that fires and one near miss each -----------------------------------

RULE_FIRES: dict[str, dict[str, Any]] = {
    "bleeding_risk": {"health": {"anticoagulant": True}},
    "pregnancy": {"sex": "female", "health": {"pregnant": True}},
    "implanted_device": {"health": {"implanted_electronic_device": True}},
    "knee_prosthesis": {"health": {"knee_prosthesis": "left"}},
    "skin_lesion": {"health": {"skin_lesions": [{"region": "knee_anterior", "side": "left"}]}},
    "lymphoedema": {"health": {"lymphoedema_leg": "right"}},
    "varicose_veins": {"health": {"varicose_veins": "left"}},
    "immunosuppression": {"health": {"immunosuppressed": True}},
    "neutropenia": {"health": {"neutropenia": True}},
    "diabetic_neuropathy": {"health": {"diabetes": True, "peripheral_neuropathy": True}},
    "fainting_risk": {"health": {"needle_phobia": True}},
    "unable_to_consent": {"health": {"able_to_consent": False}},
    "malignancy_near_knee": {"health": {"malignancy_near_knee": "left"}},
    "antiplatelet": {"health": {"antiplatelet": "clopidogrel"}},
    "bleeding_disorder": {"health": {"bleeding_disorder": "haemophilia"}},
    "pregnancy_first_trimester": {"health": {"pregnant": True, "pregnancy_weeks": 8}},
    "pregnancy_after_first_trimester": {"health": {"pregnant": True, "pregnancy_weeks": 20}},
    "bloodletting_bl40": {"health": {"varicose_veins": "left"}},
    "treating_team_agreement": {"health": {"immunosuppression": "chemotherapy"}},
    "severe_neutropenia": {"health": {"neutrophil_count_10e9_per_l": 0.4}},
    "reduced_sensation": {"health": {"peripheral_neuropathy": True}},
    "epilepsy_electro": {"health": {"epilepsy": True}},
    "metal_allergy": {"health": {"metal_allergy": True}},
    "popliteal_mass_no_needling": {"red_flags": {"pulsatile_popliteal_mass": True}},
    "minor_consent": {"age": 15},
}

RULE_NEAR_MISSES: list[tuple[str, str, dict[str, Any]]] = [
    ("bleeding_risk", "other medicines", {"health": {"medications": ["paracetamol"]}}),
    ("pregnancy", "a woman who is not pregnant", {"sex": "female"}),
    ("implanted_device", "a non-electronic device", {"health": {"devices": ["knee brace"]}}),
    (
        "knee_prosthesis",
        "a malignancy, not a prosthesis",
        {"health": {"malignancy_near_knee": "left"}},
    ),
    ("skin_lesion", "no lesions", {"health": {"skin_lesions": []}}),
    ("lymphoedema", "varicose veins", {"health": {"varicose_veins": "right"}}),
    ("varicose_veins", "lymphoedema", {"health": {"lymphoedema_leg": "right"}}),
    ("immunosuppression", "diabetes", {"health": {"diabetes": True}}),
    ("neutropenia", "low platelets", {"health": {"thrombocytopenia": True}}),
    (
        "diabetic_neuropathy",
        "immunosuppression, no diabetes",
        {"health": {"immunosuppressed": True}},
    ),
    ("fainting_risk", "able to consent", {"health": {"able_to_consent": True}}),
    ("unable_to_consent", "able to consent", {"health": {"able_to_consent": True}}),
    ("malignancy_near_knee", "history of cancer", {"red_flags": {"history_of_cancer": True}}),
    ("antiplatelet", "an anticoagulant instead", {"health": {"anticoagulant": "apixaban"}}),
    ("bleeding_disorder", "low platelets only", {"health": {"thrombocytopenia": True}}),
    (
        "pregnancy_first_trimester",
        "week 13",
        {"health": {"pregnant": True, "pregnancy_weeks": 13}},
    ),
    (
        "pregnancy_after_first_trimester",
        "week 12",
        {"health": {"pregnant": True, "pregnancy_weeks": 12}},
    ),
    ("bloodletting_bl40", "lymphoedema", {"health": {"lymphoedema_leg": "left"}}),
    (
        "treating_team_agreement",
        "the team agreed",
        {"health": {"immunosuppressed": True, "treating_team_agrees": True}},
    ),
    ("severe_neutropenia", "0.5 exactly", {"health": {"neutrophil_count_10e9_per_l": 0.5}}),
    ("reduced_sensation", "diabetes without neuropathy", {"health": {"diabetes": True}}),
    ("epilepsy_electro", "epilepsy not recorded", {"health": {"epilepsy": None}}),
    ("metal_allergy", "no metal allergy", {"health": {"metal_allergy": False}}),
    (
        "popliteal_mass_no_needling",
        "a popliteal mass that is not pulsatile",
        {
            "red_flags": {"palpable_mass": True, "pulsatile_popliteal_mass": False},
        },
    ),
    ("minor_consent", "a parent consented", {"age": 15, "consent_given_by": "parent_or_guardian"}),
]


@pytest.mark.parametrize(("rule", "changes"), RULE_FIRES.items(), ids=list(RULE_FIRES))
def test_safety_rule_fires_on_its_findings(
    kb: KnowledgeBase, rule: str, changes: dict[str, Any]
) -> None:
    assert rule in [f.rule for f in screen(intake(**changes), kb).findings]


@pytest.mark.parametrize(
    ("rule", "changes"),
    [(rule, changes) for rule, _, changes in RULE_NEAR_MISSES],
    ids=[f"{rule}: {why}" for rule, why, _ in RULE_NEAR_MISSES],
)
def test_safety_rule_does_not_fire_on_a_near_miss(
    kb: KnowledgeBase, rule: str, changes: dict[str, Any]
) -> None:
    assert rule not in [f.rule for f in screen(intake(**changes), kb).findings]


def test_every_safety_rule_has_a_firing_case_and_a_near_miss(kb: KnowledgeBase) -> None:
    assert set(RULE_FIRES) == set(kb.safety_rules)
    assert {rule for rule, _, _ in RULE_NEAR_MISSES} == set(kb.safety_rules)


def test_every_safety_rule_cites_known_sources(kb: KnowledgeBase) -> None:
    for rule in kb.safety_rules.values():
        assert rule.message, rule.id
        assert rule.source, rule.id
        assert all(s in kb.sources for s in rule.source), rule.id


def test_finding_records_the_fields_that_fired_and_its_sources(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"anticoagulant": True, "thrombocytopenia": True}), kb)
    bleeding = finding(screening, "bleeding_risk")
    assert bleeding.findings == ["health.anticoagulant", "health.thrombocytopenia"]
    assert bleeding.sources == kb.safety_rules["bleeding_risk"].source
    assert bleeding.kind is RuleKind.PRECAUTION


# --- what each rule blocks, limits or warns -----------------------------------------------------


def test_anticoagulant_limits_depth_at_popliteal_points(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"anticoagulant": True}), kb)
    assert screening.max_depth_cun == pytest.approx(0.5)
    assert screening.max_needle_diameter_mm == pytest.approx(0.20)
    assert blocked(screening, "BL40", LEFT)
    assert blocked(screening, "BL40", RIGHT)


def test_bleeding_risk_blocks_every_point_near_a_large_vessel_on_both_sides(
    kb: KnowledgeBase,
) -> None:
    screening = screen(intake(health={"thrombocytopenia": True}), kb)
    codes = {(b.code, b.side) for b in finding(screening, "bleeding_risk").blocked_points}
    assert {(code, BOTH) for code in tagged(kb, "near_large_vessel")} <= codes


def test_no_bleeding_risk_means_no_depth_limit(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"varicose_veins": "left"}), kb)
    assert screening.max_depth_cun is None
    assert screening.max_needle_diameter_mm is None


def test_pregnancy_blocks_forbidden_points_on_both_sides(kb: KnowledgeBase) -> None:
    screening = screen(intake(**RULE_FIRES["pregnancy"]), kb)
    for code in ("SP6", "LI4", *tagged(kb, "pregnancy_forbidden")):
        assert blocked(screening, code, LEFT), code
        assert blocked(screening, code, RIGHT), code


def test_pregnancy_blocks_electro_but_not_manual(kb: KnowledgeBase) -> None:
    screening = screen(intake(**RULE_FIRES["pregnancy"]), kb)
    assert screening.method_blocks(Method.ELECTRO)
    assert not screening.method_blocks(Method.MANUAL)


def test_pregnancy_warns_caution_points(kb: KnowledgeBase) -> None:
    pregnancy = finding(screen(intake(**RULE_FIRES["pregnancy"]), kb), "pregnancy")
    assert pregnancy.warn_points == tagged(kb, "pregnancy_caution")


def test_pacemaker_blocks_electro_but_not_manual(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"implanted_electronic_device": True}), kb)
    assert [f.rule for f in screening.method_blocks(Method.ELECTRO)] == ["implanted_device"]
    assert not screening.method_blocks(Method.MANUAL)
    assert finding(screening, "implanted_device").blocked_points == []


def test_left_prosthesis_blocks_left_local_points(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"knee_prosthesis": "left"}), kb)
    assert blocked(screening, "ST35", LEFT)
    assert all(blocked(screening, code, LEFT) for code in local_points(kb))


def test_left_prosthesis_leaves_right_knee_points_free(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"knee_prosthesis": "left"}), kb)
    assert not blocked(screening, "ST35", RIGHT)
    assert not any(blocked(screening, code, RIGHT) for code in local_points(kb))


def test_left_prosthesis_leaves_distal_points_free(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"knee_prosthesis": "left"}), kb)
    for code in ("LR3", "KI3", "LI4"):
        assert not blocked(screening, code, LEFT), code


def test_prosthesis_on_both_knees_blocks_local_points_on_either_side(kb: KnowledgeBase) -> None:
    screening = screen(intake(side="both", health={"knee_prosthesis": "both"}), kb)
    assert blocked(screening, "ST35", LEFT)
    assert blocked(screening, "ST35", RIGHT)


def test_skin_lesion_blocks_points_in_its_region_on_its_side_only(kb: KnowledgeBase) -> None:
    lesion = {"region": "knee_anterior", "side": "left"}
    screening = screen(intake(health={"skin_lesions": [lesion]}), kb)
    in_region = [p.code for p in kb.points.values() if p.region == "knee_anterior"]
    assert "ST35" in in_region
    assert all(blocked(screening, code, LEFT) for code in in_region)
    assert not any(blocked(screening, code, RIGHT) for code in in_region)
    assert not blocked(screening, "BL40", LEFT)


def test_skin_lesion_in_an_unknown_region_is_an_input_error(kb: KnowledgeBase) -> None:
    lesion = {"region": "kneecap", "side": "left"}
    with pytest.raises(InvalidInput) as error:
        screen(intake(health={"skin_lesions": [lesion]}), kb)
    assert error.value.field == "health.skin_lesions.0.region"


def test_lymphoedema_blocks_every_point_of_that_leg_only(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"lymphoedema_leg": "right"}), kb)
    leg = lower_limb_points(kb)
    assert {"ST35", "SP6", "LR3"} <= set(leg)
    assert all(blocked(screening, code, RIGHT) for code in leg)
    assert not any(blocked(screening, code, LEFT) for code in leg)


def test_lymphoedema_leaves_hand_points_free(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"lymphoedema_leg": "right"}), kb)
    assert not blocked(screening, "LI4", RIGHT)


def test_varicose_veins_warn_without_blocking(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"varicose_veins": "left"}), kb)
    varicose = finding(screening, "varicose_veins")
    assert varicose.kind is RuleKind.PRECAUTION
    assert varicose.blocked_points == []
    assert varicose.blocked_methods == []
    assert screening.plan_allowed


def test_immunosuppression_warns_at_points_that_may_enter_the_joint(kb: KnowledgeBase) -> None:
    immuno = finding(screen(intake(health={"immunosuppressed": True}), kb), "immunosuppression")
    assert immuno.warn_points == tagged(kb, "intra_articular_risk")
    assert immuno.blocked_points == []


def test_neutropenia_with_the_teams_agreement_warns_but_does_not_block(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"neutropenia": True, "treating_team_agrees": True}), kb)
    neutropenia = finding(screening, "neutropenia")
    assert neutropenia.kind is RuleKind.PRECAUTION
    assert not neutropenia.blocks_treatment
    assert neutropenia.blocked_points == []
    assert screening.plan_allowed


def test_diabetic_neuropathy_warns_distal_leg_and_foot_points(kb: KnowledgeBase) -> None:
    screening = screen(intake(**RULE_FIRES["diabetic_neuropathy"]), kb)
    warned = finding(screening, "diabetic_neuropathy").warn_points
    assert warned == tagged(kb, "distal_leg_foot")
    assert "LR3" in warned


def test_fainting_history_is_a_precaution_that_warns_at_lr3(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"syncope_history": True}), kb)
    fainting = finding(screening, "fainting_risk")
    assert fainting.kind is RuleKind.PRECAUTION
    assert fainting.warn_points == ["LR3"]
    assert "lying down" in fainting.message
    assert screening.plan_allowed


def test_malignancy_blocks_local_points_on_its_side_only(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"malignancy_near_knee": "left"}), kb)
    assert blocked(screening, "ST35", LEFT)
    assert not blocked(screening, "ST35", RIGHT)
    assert not blocked(screening, "LR3", LEFT)


def test_side_free_block_covers_a_point_planned_on_both_sides(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"pregnant": True}), kb)
    assert blocked(screening, "LI4", BOTH)


def test_block_names_its_rule_and_reason(kb: KnowledgeBase) -> None:
    screening = screen(intake(health={"knee_prosthesis": "left"}), kb)
    block = screening.point_blocks("ST35", LEFT)[0]
    assert block.rule == "knee_prosthesis"
    assert block.reason.startswith("Knee replacement")


def test_blocking_one_knee_eye_blocks_the_code_naming_both() -> None:
    """EX-LE5 means ST35 + EX-LE4, so a block on ST35 must reach EX-LE5 and back."""
    points = b"""
[meta]
title = "alias fixture"
version = "0"
licence = "test"
[sources.fixture]
citation = "test fixture"
[[region]]
id = "knee_anterior"
name = "front of knee"
limb = "lower"
local_to_knee = true
source = ["fixture"]
[[point]]
code = "ST35"
pinyin = "Dubi"
hanzi_traditional = "x"
hanzi_simplified = "x"
english = "x"
region = "knee_anterior"
location = "x"
angle = "x"
needling = "x"
source = ["fixture"]
[[point]]
code = "EX-LE4"
pinyin = "Neixiyan"
hanzi_traditional = "x"
hanzi_simplified = "x"
english = "x"
region = "knee_anterior"
location = "x"
angle = "x"
needling = "x"
source = ["fixture"]
[[point]]
code = "EX-LE5"
pinyin = "Xiyan"
hanzi_traditional = "x"
hanzi_simplified = "x"
english = "x"
region = "knee_anterior"
location = "x"
angle = "x"
needling = "x"
alias_for = ["ST35", "EX-LE4"]
source = ["fixture"]
[[safety_rule]]
id = "no_st35"
name = "No ST35"
kind = "contraindication"
when = { field = "health.needle_phobia", is = true }
effects = { block_points = ["ST35"] }
message = "test"
source = ["fixture"]
[[safety_rule]]
id = "no_eyes"
name = "No knee eyes"
kind = "contraindication"
when = { field = "health.syncope_history", is = true }
effects = { block_points = ["EX-LE5"] }
message = "test"
source = ["fixture"]
"""
    small = build_knowledge([("points.toml", points)])
    st35 = screen(intake(health={"needle_phobia": True}), small)
    assert blocked(st35, "EX-LE5", LEFT)
    assert not blocked(st35, "EX-LE4", LEFT)
    eyes = screen(intake(health={"syncope_history": True}), small)
    assert blocked(eyes, "ST35", RIGHT)
    assert blocked(eyes, "EX-LE4", RIGHT)


def test_rules_expand_to_no_blocks_when_the_base_has_no_points() -> None:
    rules = b"""
[meta]
title = "rules without anatomy"
version = "0"
licence = "test"
[sources.fixture]
citation = "test fixture"
[[safety_rule]]
id = "prosthesis"
name = "Knee replacement"
kind = "contraindication"
when = { field = "health.knee_prosthesis", present = true }
effects = { block_local_on_side_from = "health.knee_prosthesis" }
message = "test"
source = ["fixture"]
"""
    small = build_knowledge([("safety.toml", rules)])
    screening = screen(intake(health={"knee_prosthesis": "left"}), small)
    assert [f.rule for f in screening.findings] == ["prosthesis"]
    assert screening.findings[0].blocked_points == []


# --- review: rules fire on what their sources say ----------------------------------------------


def test_diabetes_without_recorded_neuropathy_still_warns_distal_leg_and_foot_points(
    kb: KnowledgeBase,
) -> None:
    # ASAP guidance (Goldfields summary): "Diabetes - relative risk of peripheral needling due to
    # poor circulation"; the source does not ask for neuropathy as well.
    screening = screen(intake(health={"diabetes": True}), kb)
    warned = finding(screening, "diabetic_neuropathy").warn_points
    assert warned == tagged(kb, "distal_leg_foot")
    assert screening.plan_allowed
