"""The point and region data other modules rely on: codes, knee-eye coding, tags and citations.

Safety rules select points by tag and regions by ``local_to_knee``; these tests pin the names and
the sourced facts behind them (WHO 2008 locations, GERAC local points, pregnancy lists).
"""

from __future__ import annotations

import pytest

from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge

# facts.md §5.2 plus the points the protocols and the pregnancy rule need.
REQUIRED_CODES = [
    "ST34", "ST35", "EX-LE4", "EX-LE5", "EX-LE2", "ST36", "ST40", "SP6", "SP9", "SP10", "GB33",
    "GB34", "GB39", "LR3", "LR8", "KI3", "KI10", "BL39", "BL40", "BL60", "LI4",
    "LR7", "GB31", "ST44", "BL67", "BL31", "BL32", "BL33", "BL34",
]  # fmt: skip

REGION_IS_LOCAL = {
    "thigh_distal": True,
    "knee_anterior": True,
    "knee_medial": True,
    "knee_lateral": True,
    "knee_posterior": True,
    "leg_proximal": True,
    "leg": False,
    "ankle": False,
    "foot": False,
    "hand": False,
    "lumbosacral": False,
}

TAGGED = {
    # AACP 2012 erratum and the ASAP-based list (WHO 1999 for lumbosacral points).
    "pregnancy_forbidden": ["SP6", "LI4", "BL60", "BL67", "BL31", "BL32", "BL33", "BL34"],
    "pregnancy_caution": ["LR3"],
    "intra_articular_risk": ["ST35", "EX-LE4", "EX-LE5"],
    "near_large_vessel": ["BL40"],
    "distal_leg_foot": ["LR3", "KI3", "BL60"],
}

# GERAC protocol: obligatory "local points on the affected knee" (Xiyan = the two knee eyes).
GERAC_LOCAL_POINTS = ["ST34", "ST36", "ST35", "EX-LE4", "SP9", "SP10", "GB34"]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.mark.parametrize("code", REQUIRED_CODES)
def test_required_point_is_in_the_knowledge_base(kb: KnowledgeBase, code: str) -> None:
    assert kb.point(code).code == code


@pytest.mark.parametrize(("region_id", "local"), REGION_IS_LOCAL.items())
def test_region_exists_with_its_local_to_knee_flag(
    kb: KnowledgeBase, region_id: str, local: bool
) -> None:
    assert kb.regions[region_id].local_to_knee is local


def test_st35_is_the_lateral_knee_eye(kb: KnowledgeBase) -> None:
    st35 = kb.point("ST35")
    assert st35.region == "knee_anterior"
    assert "lateral to the patellar ligament" in st35.location


def test_ex_le4_is_the_medial_knee_eye(kb: KnowledgeBase) -> None:
    ex_le4 = kb.point("EX-LE4")
    assert ex_le4.region == "knee_anterior"
    assert "medial to the patellar ligament" in ex_le4.location


def test_ex_le5_is_an_alias_for_both_knee_eyes(kb: KnowledgeBase) -> None:
    assert kb.point("EX-LE5").alias_for == ["ST35", "EX-LE4"]


def test_ex_le5_explains_that_tu_2021_labels_the_medial_eye_ex_le5(kb: KnowledgeBase) -> None:
    coding = [c for c in kb.point("EX-LE5").cautions if "Tu 2021" in c.text]
    assert coding
    assert "points_tu2021" in coding[0].source


def test_only_ex_codes_are_flagged_as_extra_points(kb: KnowledgeBase) -> None:
    wrong = [p.code for p in kb.points.values() if p.extra_point != p.code.startswith("EX-")]
    assert wrong == []


def test_every_point_cites_a_defined_source(kb: KnowledgeBase) -> None:
    missing = [(p.code, s) for p in kb.points.values() for s in p.source if s not in kb.sources]
    assert missing == []


def test_every_caution_cites_a_defined_source(kb: KnowledgeBase) -> None:
    missing = [
        (p.code, s)
        for p in kb.points.values()
        for c in p.cautions
        for s in c.source
        if s not in kb.sources
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("tag", "code"), [(tag, code) for tag, codes in TAGGED.items() for code in codes]
)
def test_safety_tag_is_on_the_named_point(kb: KnowledgeBase, tag: str, code: str) -> None:
    assert tag in kb.point(code).tags


def test_every_ankle_and_foot_point_carries_the_distal_tag(kb: KnowledgeBase) -> None:
    untagged = [
        p.code
        for p in kb.points.values()
        if p.region in {"ankle", "foot"} and "distal_leg_foot" not in p.tags
    ]
    assert untagged == []


def test_every_pregnancy_forbidden_point_has_a_sourced_pregnancy_caution(
    kb: KnowledgeBase,
) -> None:
    bare = [
        p.code
        for p in kb.points.values()
        if "pregnancy_forbidden" in p.tags and not any(c.kind == "pregnancy" for c in p.cautions)
    ]
    assert bare == []


def test_every_local_to_knee_region_cites_the_gerac_protocol(kb: KnowledgeBase) -> None:
    uncited = [
        r.id
        for r in kb.regions.values()
        if r.local_to_knee and "points_gerac_protocol" not in r.source
    ]
    assert uncited == []


@pytest.mark.parametrize("code", GERAC_LOCAL_POINTS)
def test_gerac_local_point_lies_in_a_region_local_to_the_knee(kb: KnowledgeBase, code: str) -> None:
    assert kb.regions[kb.point(code).region].local_to_knee


def test_sacral_foramen_points_are_in_the_lumbosacral_region(kb: KnowledgeBase) -> None:
    assert {kb.point(c).region for c in ("BL31", "BL32", "BL33", "BL34")} == {"lumbosacral"}
