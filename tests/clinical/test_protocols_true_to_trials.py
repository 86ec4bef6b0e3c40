"""The trial protocols say what their trials did and what each arm found.

Vignettes: a knee-OA intake planned with Tu 2021 electroacupuncture; the same intake with a
pacemaker (electrical stimulation blocked: the plan follows the trial's manual arm and reports
its result); and an anticoagulated intake (depth limited: the plan says it departs from the
trial's minimum depth). Sources: Tu 2021 (Arthritis Rheumatol 73:448) and its protocol (Tu 2019,
Trials 20, doi 10.1186/s13063-018-3138-x, Table 3); GERAC (Scharf 2006; protocol BMC CAM 4:6).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from acuknee.clinical.intake import Health, Intake, Preferences
from acuknee.clinical.knowledge import KnowledgeBase, Protocol, load_knowledge
from acuknee.clinical.planning import Plan, plan
from acuknee.clinical.screening import SafetyFinding, Screening, screen
from acuknee.clinical.vocabulary import Cause, Method, RuleKind, Side

MONDAY = dt.date(2025, 1, 27)
TU_EA = "knee-oa-electro-tu2021"
TU_MA = "knee-oa-manual-tu2021"
GERAC = "knee-oa-manual-gerac"


@dataclass(frozen=True)
class Assessed:
    likely_cause: Cause = Cause.KNEE_OSTEOARTHRITIS
    severity: None = None


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def _intake(protocol: str, health: Health | None = None) -> Intake:
    return Intake(
        age=64,
        side=Side.RIGHT,
        duration_weeks=52,
        health=health or Health(),
        preferences=Preferences(protocol=protocol),
    )


def _plan(kb: KnowledgeBase, subject: Intake, screening: Screening | None = None) -> Plan:
    chosen = screening if screening is not None else screen(subject, kb)
    return plan(subject, chosen, Assessed(), start=MONDAY, kb=kb)


def _tu(kb: KnowledgeBase, protocol_id: str) -> Protocol:
    return kb.protocols[protocol_id]


# --- the recipe, as in the trial -----------------------------------------------------------------


def test_tu2021_electrode_pairs_are_st35_to_medial_knee_eye_and_lr8_to_gb33(
    kb: KnowledgeBase,
) -> None:
    electro = _tu(kb, TU_EA).electro
    assert electro is not None
    # The trial's "EX-LE5 Neixiyan" (medial knee eye) is EX-LE4 in WHO terms.
    assert electro.pairs == [("ST35", "EX-LE4"), ("LR8", "GB33")]
    assert "EX-LE5 Neixiyan" in _tu(kb, TU_EA).variation
    assert "proto_tu2021" in _tu(kb, TU_EA).source


def test_tu2021_current_is_2_100_hz_raised_until_the_needles_vibrate_slightly(
    kb: KnowledgeBase,
) -> None:
    electro = _tu(kb, TU_EA).electro
    assert electro is not None
    assert electro.frequency_hz == [2.0, 100.0]
    assert "vibrate slightly" in electro.intensity


@pytest.mark.parametrize("protocol_id", [TU_EA, TU_MA])
def test_tu2021_arms_give_24_sessions_of_30_minutes_three_a_week(
    kb: KnowledgeBase, protocol_id: str
) -> None:
    recipe = _tu(kb, protocol_id)
    assert (recipe.sessions_per_week, recipe.number_of_sessions) == (3, 24)
    assert recipe.retention_minutes == 30
    assert {p.code for p in recipe.points} == {"ST35", "EX-LE4", "LR8", "GB33"}
    assert recipe.ashi_points == 1


@pytest.mark.parametrize("protocol_id", [TU_EA, TU_MA])
def test_tu2021_arms_seek_de_qi_at_least_10_mm_deep(kb: KnowledgeBase, protocol_id: str) -> None:
    recipe = _tu(kb, protocol_id)
    assert recipe.response_sought == "de qi"
    assert recipe.min_depth_mm == 10
    assert "Table 3" in (kb.sources["proto_tu2019_protocol"].note or "")


def test_manual_arm_has_no_current_and_electro_arm_names_it(kb: KnowledgeBase) -> None:
    assert _tu(kb, TU_MA).electro is None
    assert _tu(kb, TU_EA).without_current == TU_MA


def test_manual_arm_rationale_reports_its_own_result_against_sham(kb: KnowledgeBase) -> None:
    recipe = _tu(kb, TU_MA)
    text = " ".join(recipe.rationale.split())
    assert "58.6 % (85/145)" in text
    assert "47.3 % (69/146)" in text
    assert "not significant" in text
    assert "60.3" not in text


def test_electro_arm_rationale_reports_its_own_result_against_sham(kb: KnowledgeBase) -> None:
    text = " ".join(_tu(kb, TU_EA).rationale.split())
    assert "60.3 % (91/151)" in text
    assert "47.3 % (69/146)" in text


def test_gerac_recipe_keeps_the_trial_points_dose_and_its_sham_result(kb: KnowledgeBase) -> None:
    recipe = kb.protocols[GERAC]
    assert {p.code for p in recipe.points} == {
        "ST34",
        "ST36",
        "ST35",
        "EX-LE4",
        "SP9",
        "SP10",
        "GB34",
    }
    assert recipe.number_of_sessions == 10
    assert recipe.ashi_points == 4
    text = " ".join(recipe.rationale.split())
    assert "53.1 %" in text
    assert "51.0 %" in text
    assert "no better than sham" in text


# --- vignettes through the planner ---------------------------------------------------------------


def test_knee_oa_electro_plan_carries_de_qi_depth_and_the_electro_result(
    kb: KnowledgeBase,
) -> None:
    result = _plan(kb, _intake(TU_EA))
    assert result.status == "proposed"
    assert result.method is Method.ELECTRO
    assert (result.response_sought, result.min_depth_mm) == ("de qi", 10)
    assert "60.3 % (91/151)" in result.rationale


def test_pacemaker_plan_follows_the_manual_arm_and_reports_its_result(kb: KnowledgeBase) -> None:
    subject = _intake(TU_EA, Health(implanted_electronic_device=True))
    result = _plan(kb, subject)
    assert result.status == "proposed"
    assert result.method is Method.MANUAL
    assert result.protocol == TU_MA
    assert "58.6 % (85/145)" in result.rationale
    assert "60.3 % (91/151)" not in result.rationale
    assert "58.6 % (85/145)" in " ".join(result.expected_response.split())
    assert any("arm with the same points and no current" in w for w in result.warnings)
    assert "proto_tu2021" in result.sources


def test_depth_limit_says_the_plan_departs_from_the_trial_minimum_depth(
    kb: KnowledgeBase,
) -> None:
    bleeding = SafetyFinding(
        rule="anticoagulant",
        name="Anticoagulant",
        kind=RuleKind.PRECAUTION,
        message="Needle no deeper than 0.5 cun.",
        findings=[],
        sources=["safety_bacc_anticoagulants"],
        limit_depth="no deeper than 0.5 cun at any point",
        max_depth_cun=0.5,
    )
    result = _plan(kb, _intake(TU_MA), Screening(findings=[bleeding]))
    assert result.status == "proposed"
    warning = next(w for w in result.warnings if "at least 10 mm" in w)
    assert "departs from the trial" in warning


def test_plan_without_a_depth_limit_has_no_departure_warning(kb: KnowledgeBase) -> None:
    result = _plan(kb, _intake(TU_MA), Screening())
    assert not any("departs from the trial" in w for w in result.warnings)
