"""Vignettes for the second safety pass (issue 11): needling safety at plan time and when a
session is recorded. Each test is one patient, the expected block, limit or refusal, and the
source the rule cites."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from acuknee.clinical import Intake, KnowledgeBase, load_knowledge
from acuknee.clinical.assessment import assess
from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.planning import Plan, plan
from acuknee.clinical.screening import Screening, screen
from acuknee.clinical.session_check import check_session, override_refusals
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.vocabulary import Anticoagulant, BleedingDisorder, Method, Side

DAY = dt.date(2026, 3, 2)
LEFT, RIGHT, BOTH = Side.LEFT, Side.RIGHT, Side.BOTH


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def patient(health: dict[str, Any], **more: Any) -> Intake:
    """A 60-year-old with left knee pain for six months and whatever ``health`` says."""
    base: dict[str, Any] = {"age": 60, "side": "left", "duration_weeks": 26, "health": health}
    return Intake.model_validate({**base, **more})


def course(subject: Intake, kb: KnowledgeBase) -> tuple[Plan, Screening]:
    """Screen and plan; a named protocol sets the cause (as when the practitioner picks it)."""
    screening = screen(subject, kb)
    assessment = None if subject.preferences.protocol else assess(subject)
    return plan(subject, screening, assessment, start=DAY, kb=kb), screening


def session(*points: dict[str, Any], **more: Any) -> SessionRecord:
    return SessionRecord.model_validate({"date": DAY, "number": 1, "points": points, **more})


def rule(screening: Screening, rule_id: str) -> Any:
    found = [f for f in screening.findings if f.rule == rule_id]
    assert found, f"rule {rule_id!r} did not fire"
    return found[0]


# --- 1. bleeding risk ---------------------------------------------------------------------------


def test_anticoagulant_caps_every_planned_point_at_a_fixed_shallow_maximum(
    kb: KnowledgeBase,
) -> None:
    subject = patient(
        {"anticoagulant": "apixaban"}, preferences={"protocol": "knee-oa-manual-gerac"}
    )
    result, screening = course(subject, kb)
    assert result.status == "proposed"
    assert all(p.depth_cun_max is not None and p.depth_cun_max <= 0.5 for p in result.points)
    st34 = next(p for p in result.points if p.code == "ST34")
    assert st34.depth_cun_max == 0.5  # not the 1.0 cun shallow end of ST34's own range
    assert "bacc_anticoagulants" in rule(screening, "bleeding_risk").sources


def test_bleeding_risk_message_says_the_depth_cap_is_a_practice_convention(
    kb: KnowledgeBase,
) -> None:
    finding = rule(screen(patient({"anticoagulant": "warfarin"}), kb), "bleeding_risk")
    assert "practice convention" in finding.message
    assert "thrombocytopenia_case_series_2010" in finding.sources
    assert "practice convention" in (kb.sources["thrombocytopenia_case_series_2010"].note or "")


@pytest.mark.parametrize("code", ["ST35", "EX-LE4", "EX-LE5", "EX-LE2", "BL40"])
def test_anticoagulant_removes_points_that_can_reach_the_joint_or_a_large_vessel(
    kb: KnowledgeBase, code: str
) -> None:
    screening = screen(patient({"anticoagulant": "rivaroxaban"}), kb)
    assert screening.point_blocks(code, LEFT)
    assert screening.point_blocks(code, RIGHT)


def test_heding_carries_the_intra_articular_tag_with_a_source(kb: KnowledgeBase) -> None:
    heding = kb.point("EX-LE2")
    assert "intra_articular_risk" in heding.tags
    assert any(
        "points_radiopaedia_suprapatellar" in c.source
        for c in heding.cautions
        if c.kind == "joint_capsule"
    )


def test_session_deeper_than_the_bleeding_limit_is_refused_naming_rule_and_source(
    kb: KnowledgeBase,
) -> None:
    subject = patient(
        {"anticoagulant": "warfarin"}, preferences={"protocol": "knee-oa-manual-gerac"}
    )
    planned, screening = course(subject, kb)
    record = session({"code": "ST36", "side": "left", "depth": {"value": 1.0, "unit": "cun"}})
    found = check_session(record, planned, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "depth")]
    assert "0.5 cun" in found[0].message
    assert "Bleeding risk" in found[0].message
    assert "British Acupuncture Council" in found[0].message
    assert "health." not in found[0].message


def test_session_within_the_bleeding_limit_is_accepted(kb: KnowledgeBase) -> None:
    subject = patient(
        {"anticoagulant": "warfarin"}, preferences={"protocol": "knee-oa-manual-gerac"}
    )
    planned, screening = course(subject, kb)
    record = session(
        {"code": "ST36", "side": "left", "depth": {"value": 0.5, "unit": "cun"}},
        needle={"diameter_mm": 0.20, "length_mm": 25},
    )
    assert check_session(record, planned, screening, kb) == []


def test_depth_in_millimetres_under_a_depth_limit_asks_for_cun(kb: KnowledgeBase) -> None:
    subject = patient(
        {"anticoagulant": "warfarin"}, preferences={"protocol": "knee-oa-manual-gerac"}
    )
    planned, screening = course(subject, kb)
    record = session({"code": "ST36", "side": "left", "depth": {"value": 8, "unit": "mm"}})
    found = check_session(record, planned, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "depth")]
    assert "Record the depth in cun" in found[0].message


def test_needle_thicker_than_the_bleeding_limit_is_refused(kb: KnowledgeBase) -> None:
    subject = patient(
        {"anticoagulant": "edoxaban"}, preferences={"protocol": "knee-oa-manual-gerac"}
    )
    planned, screening = course(subject, kb)
    record = session(
        {"code": "ST36", "side": "left"}, needle={"diameter_mm": 0.30, "length_mm": 40}
    )
    found = check_session(record, planned, screening, kb)
    assert [p.loc for p in found] == [("needle", "diameter_mm")]
    assert "0.2 mm" in found[0].message
    assert "British Acupuncture Council" in found[0].message


@pytest.mark.parametrize("kind", ["haemophilia", "von_willebrand", "unspecified"])
def test_a_bleeding_disorder_blocks_needling(kb: KnowledgeBase, kind: str) -> None:
    subject = patient({"bleeding_disorder": kind})
    result, screening = course(subject, kb)
    finding = rule(screening, "bleeding_disorder")
    assert finding.blocks_treatment
    assert result.status == "refused"
    assert "who1999_basic_training_safety" in finding.sources


def test_antiplatelet_is_a_precaution_of_its_own(kb: KnowledgeBase) -> None:
    screening = screen(patient({"antiplatelet": "aspirin"}), kb)
    finding = rule(screening, "antiplatelet")
    assert not finding.blocks_treatment
    assert screening.plan_allowed
    assert screening.max_depth_cun is None
    assert "bleeding_risk" not in [f.rule for f in screening.findings]
    assert "hsieh2023_bleeding_anticoagulants" in finding.sources


def test_an_old_record_with_anticoagulant_true_still_loads_and_still_limits(
    kb: KnowledgeBase,
) -> None:
    old = patient({"anticoagulant": True, "bleeding_disorder": False})
    assert old.health.anticoagulant is Anticoagulant.UNSPECIFIED
    assert old.health.bleeding_disorder is None
    assert screen(old, kb).max_depth_cun == 0.5


def test_an_old_record_with_bleeding_disorder_true_loads_as_unspecified() -> None:
    old = patient({"bleeding_disorder": True})
    assert old.health.bleeding_disorder is BleedingDisorder.UNSPECIFIED


@pytest.mark.parametrize(
    ("name", "value"),
    [("platelet_count_10e9_per_l", -1), ("inr", 0.1), ("neutrophil_count_10e9_per_l", 101)],
)
def test_laboratory_values_out_of_range_are_refused_naming_the_field(
    name: str, value: float
) -> None:
    with pytest.raises(ValueError, match=name):
        patient({name: value})


# --- 3. pregnancy -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["GB21", "CV4", "CV3", "CV7", "BL23", "GV4", "LI4", "SP6", "LR3"])
def test_pregnancy_refuses_a_forbidden_point_in_a_session_whether_or_not_it_is_in_the_base(
    kb: KnowledgeBase, code: str
) -> None:
    subject = patient({"pregnant": True, "pregnancy_weeks": 8}, sex="female")
    planned, screening = course(subject, kb)
    found = check_session(session({"code": code, "side": "left"}), planned, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "code")]
    assert "even with an override" in found[0].message
    assert "World Health Organization" in found[0].message


def test_a_plan_that_overrode_a_pregnancy_block_does_not_let_the_session_through(
    kb: KnowledgeBase,
) -> None:
    subject = patient({"pregnant": True, "pregnancy_weeks": 30}, sex="female")
    planned, screening = course(subject, kb)
    gb21 = planned.points[0].model_copy(update={"code": "GB21", "side": LEFT})
    overridden = planned.model_copy(update={"points": [*planned.points, gb21]})
    found = check_session(session({"code": "GB21", "side": "left"}), overridden, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "code")]


def test_a_plan_override_of_a_forbidden_point_is_refused_by_the_core(kb: KnowledgeBase) -> None:
    screening = screen(patient({"pregnant": True, "pregnancy_weeks": 20}, sex="female"), kb)
    refusals = override_refusals("GB21", LEFT, screening, kb)
    assert refusals
    assert "Pregnancy" in refusals[0]
    assert override_refusals("ST36", LEFT, screening, kb) == []


@pytest.mark.parametrize("weeks", [4, 12, 13, 24, 38])
@pytest.mark.parametrize("code", ["CV3", "CV4", "CV12", "KI13", "ST28", "ST21"])
def test_every_abdominal_point_is_blocked_at_every_week_of_pregnancy(
    kb: KnowledgeBase, weeks: int, code: str
) -> None:
    """WHO 1999 names the lower abdomen in the first trimester and the upper abdomen after
    it; the ASAP guidance the pregnancy rule cites avoids abdominal points throughout
    pregnancy, so the lower abdomen over the growing uterus is never needled (CV4 at week 38
    once passed)."""
    screening = screen(patient({"pregnant": True, "pregnancy_weeks": weeks}, sex="female"), kb)
    blocks = screening.point_blocks(code, BOTH)
    assert blocks
    assert not any(b.overridable for b in blocks)
    assert "goldfields_asap" in rule(screening, _trimester_rule(weeks)).sources


def _trimester_rule(weeks: int) -> str:
    return "pregnancy_first_trimester" if weeks < 13 else "pregnancy_after_first_trimester"


def test_no_override_lifts_the_popliteal_block_of_a_pulsatile_mass(kb: KnowledgeBase) -> None:
    """Its own message: "do not needle ... even after the vascular referral" (a popliteal
    artery aneurysm: Kao 2002's pseudoaneurysm after needling)."""
    screening = screen(patient({}, red_flags={"pulsatile_popliteal_mass": True}), kb)
    for code in ("BL39", "BL40", "KI10"):
        assert override_refusals(code, LEFT, screening, kb)


def test_the_first_trimester_rule_cites_its_own_source(kb: KnowledgeBase) -> None:
    early = screen(patient({"pregnant": True, "pregnancy_weeks": 12}, sex="female"), kb)
    assert "tommys_first_trimester" in rule(early, "pregnancy_first_trimester").sources


def test_unknown_gestation_blocks_both_trimester_lists(kb: KnowledgeBase) -> None:
    screening = screen(patient({"pregnant": True}, sex="female"), kb)
    assert screening.point_blocks("CV4", BOTH)
    assert screening.point_blocks("CV12", BOTH)
    assert screening.point_blocks("BL23", BOTH)


# --- 7. reduced sensation -----------------------------------------------------------------------


def test_neuropathy_warns_an_electro_plan_and_names_the_source(kb: KnowledgeBase) -> None:
    subject = patient(
        {"diabetes": True, "peripheral_neuropathy": True},
        preferences={"protocol": "knee-oa-electro-tu2021"},
    )
    result, screening = course(subject, kb)
    assert result.method is Method.ELECTRO
    assert any("Caution with electro" in w for w in result.warnings)
    assert "cui2021_electro_intensity" in rule(screening, "reduced_sensation").sources


def test_a_numb_area_warns_the_points_in_it(kb: KnowledgeBase) -> None:
    subject = patient({"reduced_sensation_sites": [{"region": "leg_proximal", "side": "left"}]})
    finding = rule(screen(subject, kb), "reduced_sensation")
    assert "ST36" in finding.warn_points
    assert Method.ELECTRO in finding.warn_methods


def test_a_numb_area_in_an_unknown_region_is_an_input_error(kb: KnowledgeBase) -> None:
    subject = patient({"reduced_sensation_sites": [{"region": "elbow", "side": "left"}]})
    with pytest.raises(InvalidInput, match="reduced_sensation_sites"):
        screen(subject, kb)


# --- 8. immunosuppression and neutropenia --------------------------------------------------------


def test_chemotherapy_blocks_needling_until_the_treating_team_agrees(kb: KnowledgeBase) -> None:
    waiting = screen(patient({"immunosuppression": "chemotherapy"}), kb)
    agreed = screen(
        patient({"immunosuppression": "chemotherapy", "treating_team_agrees": True}), kb
    )
    finding = rule(waiting, "treating_team_agreement")
    assert finding.blocks_treatment
    assert not waiting.plan_allowed
    assert agreed.plan_allowed
    assert "oncolink2011_low_counts" in finding.sources


def test_neutrophils_below_half_block_needling_even_with_agreement(kb: KnowledgeBase) -> None:
    subject = patient(
        {"neutropenia": True, "neutrophil_count_10e9_per_l": 0.3, "treating_team_agrees": True}
    )
    result, screening = course(subject, kb)
    assert result.status == "refused"
    assert "liao2013_cancer_cautions" in rule(screening, "severe_neutropenia").sources


def test_a_session_for_a_patient_whose_treatment_is_blocked_is_refused(kb: KnowledgeBase) -> None:
    agreed = patient({"immunosuppressed": True, "treating_team_agrees": True})
    planned, _ = course(agreed, kb)
    blocked = screen(patient({"immunosuppressed": True}), kb)
    found = check_session(session({"code": "ST36", "side": "left"}), planned, blocked, kb)
    assert found
    assert found[0].loc == ("points",)
    assert "treating team" in found[0].message


# --- 9. a safe plan instead of a refusal ---------------------------------------------------------


def test_knee_replacement_plans_on_the_other_leg_instead_of_refusing(kb: KnowledgeBase) -> None:
    subject = patient({"knee_prosthesis": "left"}, preferences={"protocol": "knee-oa-manual-gerac"})
    result, _ = course(subject, kb)
    assert result.status == "proposed"
    assert result.points
    assert all(p.side is RIGHT for p in result.points)
    added = [c for c in result.changes if c.action == "added_point"]
    assert added
    assert all("bmas2021_arthroplasty" in c.sources for c in added)


def test_lymphoedema_plans_on_the_other_leg(kb: KnowledgeBase) -> None:
    subject = patient({"lymphoedema_leg": "left"})
    result, _ = course(subject, kb)
    assert result.status == "proposed"
    assert all(p.side is not LEFT for p in result.points)
    assert "filshie2006_cancer_guidelines" in result.sources


def test_an_unspecified_cause_still_gets_the_unspecified_protocol_after_replacement(
    kb: KnowledgeBase,
) -> None:
    subject = patient({"knee_prosthesis": "left"})
    result, _ = course(subject, kb)
    assert result.status == "proposed"
    assert result.protocol is not None


def test_a_tumour_allows_no_other_leg_substitute(kb: KnowledgeBase) -> None:
    subject = patient(
        {"malignancy_near_knee": "left"}, preferences={"protocol": "knee-oa-manual-gerac"}
    )
    result, _ = course(subject, kb)
    assert result.status == "refused"


# --- 11. epilepsy, metal allergy, bloodletting ---------------------------------------------------


def test_epilepsy_turns_an_electro_plan_into_manual(kb: KnowledgeBase) -> None:
    subject = patient({"epilepsy": True}, preferences={"protocol": "knee-oa-electro-tu2021"})
    result, screening = course(subject, kb)
    assert result.method is Method.MANUAL
    assert "bacc_epilepsy" in rule(screening, "epilepsy_electro").sources


def test_epilepsy_refuses_electro_in_a_session_of_a_manual_plan(kb: KnowledgeBase) -> None:
    subject = patient({"epilepsy": True}, preferences={"protocol": "knee-oa-electro-tu2021"})
    planned, screening = course(subject, kb)
    record = session({"code": "ST36", "side": "left", "stimulation": "electro"})
    found = check_session(record, planned, screening, kb)
    assert ("points", 0, "stimulation") in [p.loc for p in found]


def test_nickel_allergy_warns_about_needle_material(kb: KnowledgeBase) -> None:
    finding = rule(screen(patient({"metal_allergy": True}), kb), "metal_allergy")
    assert "nickel" in finding.message
    assert "acupunctureworld_nickel" in finding.sources


@pytest.mark.parametrize(
    "health", [{"varicose_veins": "left"}, {"immunosuppressed": True, "treating_team_agrees": True}]
)
def test_bloodletting_at_bl40_is_warned_against(kb: KnowledgeBase, health: dict[str, Any]) -> None:
    finding = rule(screen(patient(health), kb), "bloodletting_bl40")
    assert finding.warn_points == ["BL40"]
    assert "bloodletting_practice_page" in finding.sources


# --- section 2: words a practitioner reads -------------------------------------------------------


def test_blocked_point_reasons_never_show_an_internal_tag(kb: KnowledgeBase) -> None:
    screening = screen(patient({"anticoagulant": "warfarin", "pregnant": True}, sex="female"), kb)
    tags = {t for p in kb.points.values() for t in p.tags}
    for finding in screening.findings:
        for block in finding.blocked_points:
            assert not any(tag in block.reason for tag in tags), block.reason
