"""A session checked against the patient's signed plan and screening (``session_check``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from acuknee.clinical import Intake, KnowledgeBase, load_knowledge
from acuknee.clinical.assessment import assess
from acuknee.clinical.planning import Plan, plan
from acuknee.clinical.screening import Screening, screen
from acuknee.clinical.session_check import check_session, is_standard_code, standard_code
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.vocabulary import Side

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def course(name: str) -> tuple[Plan, Screening]:
    intake = Intake.model_validate(json.loads((EXAMPLES / f"intake-{name}.json").read_text()))
    screening = screen(intake)
    return plan(intake, screening, assess(intake), start=DAY), screening


def session(*points: dict[str, Any], **more: Any) -> SessionRecord:
    return SessionRecord.model_validate({"date": DAY, "number": 1, "points": points, **more})


def messages(found: list[Any]) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.loc, p.message) for p in found]


# --- point codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "standard"),
    [
        ("LU11", True),  # the last point of each end of the WHO 2008 ranges
        ("LU12", False),
        ("BL67", True),
        ("BL68", False),
        ("GV28", True),
        ("GV29", False),  # not in the 2008 standard (the transcription ends the GV at 28)
        ("CV24", True),
        ("TE23", True),
        ("TB5", False),  # the standard says TE, not TB
        ("ST0", False),
        ("ST036", False),
        ("EX-LE4", True),
        ("EX-HN3", True),  # extra points: the form is checked, not the number
        ("st36", False),
    ],
)
def test_standard_codes_follow_the_who_2008_meridian_ranges(
    kb: KnowledgeBase, code: str, standard: bool
) -> None:
    assert is_standard_code(kb, code) is standard


def test_the_meridian_ranges_add_up_to_the_standards_361_points(kb: KnowledgeBase) -> None:
    assert len(kb.meridians) == 14
    assert sum(m.points for m in kb.meridians.values()) == 361


@pytest.mark.parametrize(
    ("typed", "standard"),
    [("st 36", "ST36"), ("St-36", "ST36"), ("ex le 4", "EX-LE4"), ("EXLE4", "EX-LE4")],
)
def test_loosely_typed_codes_are_given_their_standard_form(
    kb: KnowledgeBase, typed: str, standard: str
) -> None:
    assert standard_code(kb, typed) == standard


def test_a_planned_session_has_no_problem(kb: KnowledgeBase) -> None:
    planned, screening = course("knee-oa")
    points = [{"code": p.code, "side": p.side.value} for p in planned.points]
    assert check_session(session(*points), planned, screening, kb) == []


def test_an_unknown_or_misspelt_code_is_refused_on_its_field(kb: KnowledgeBase) -> None:
    planned, screening = course("knee-oa")
    record = session(
        {"code": "ST46", "side": "left"},
        {"code": "st 36", "side": "left"},
        {"code": "Ashi", "side": "left"},
        {"code": "LI4", "side": "left"},  # a standard point outside acuknee's own list
    )
    found = messages(check_session(record, planned, screening, kb))
    assert [loc for loc, _ in found] == [("points", 0, "code"), ("points", 1, "code")]
    assert "unknown point code 'ST46'" in found[0][1]
    assert "use ST36" in found[1][1]


def test_unknown_codes_in_electro_pairs_and_adverse_events_are_refused(
    kb: KnowledgeBase,
) -> None:
    planned, screening = course("knee-oa")
    record = session(
        {"code": "ST36", "side": "left", "stimulation": "electro"},
        {"code": "XX9", "side": "left", "stimulation": "electro"},
        electro=[{"points": ["ST36", "XX9"], "side": "left", "frequency_hz": [2]}],
        adverse_events=[
            {"kind": "bruising", "severity": "mild", "action_taken": "none", "point": "ST99"}
        ],
    )
    locs = [p.loc for p in check_session(record, planned, screening, kb)]
    assert locs == [("points", 1, "code"), ("electro", 0, "points"), ("adverse_events", 0, "point")]


# --- safety: blocked points and methods ----------------------------------------------------------


def test_a_point_blocked_in_pregnancy_is_refused_naming_the_rule(kb: KnowledgeBase) -> None:
    planned, screening = course("pregnant")
    assert "SP6" not in {p.code for p in planned.points}
    found = messages(
        check_session(session({"code": "SP6", "side": "left"}), planned, screening, kb)
    )
    assert len(found) == 1
    loc, message = found[0]
    assert loc == ("points", 0, "code")
    # Second safety pass: the rule is named in words with its source, not by its id, and no
    # override lifts a pregnancy block.
    assert "Pregnancy" in message
    assert "World Health Organization" in message
    assert "even with an override" in message


def test_a_blocked_point_the_signed_plan_overrode_may_be_needled(kb: KnowledgeBase) -> None:
    planned, screening = course("knee-prosthesis")  # the left knee is replaced
    st34 = planned.points[0].model_copy(update={"code": "ST34", "side": Side.LEFT})
    overridden = planned.model_copy(update={"points": [*planned.points, st34]})
    record = session({"code": "ST34", "side": "left"})
    assert check_session(record, overridden, screening, kb) == []


def test_a_block_on_one_knee_stops_that_side_only(kb: KnowledgeBase) -> None:
    planned, screening = course("knee-prosthesis")  # the left knee is replaced
    assert check_session(session({"code": "ST34", "side": "right"}), planned, screening, kb) == []
    found = check_session(session({"code": "ST34", "side": "both"}), planned, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "code")]
    assert "(left)" in found[0].message


def test_ashi_points_at_a_knee_a_rule_closes_are_refused_as_the_plan_removes_them(
    kb: KnowledgeBase,
) -> None:
    """The plan drops Ashi points where a rule blocks every point local to the knee (a knee
    replacement: needles must not approach it); a session once stored them there."""
    planned, screening = course("knee-prosthesis")  # the left knee is replaced
    assert Side.LEFT not in planned.ashi_sides
    found = check_session(session({"code": "Ashi", "side": "left"}), planned, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "code")]
    assert "Ashi points (left) lie around the painful knee" in found[0].message
    both = check_session(session({"code": "Ashi", "side": "both"}), planned, screening, kb)
    assert "(left)" in both[0].message
    assert check_session(session({"code": "Ashi", "side": "right"}), planned, screening, kb) == []


@pytest.mark.parametrize("code", ["ST33", "BL38", "BL55", "EX-LE3"])
def test_a_point_without_a_known_location_is_refused_where_a_rule_closes_an_area(
    kb: KnowledgeBase, code: str
) -> None:
    """Standard points near the knee that the point table does not place once passed beside a
    replaced knee: a block is never passed for want of data. The other side stays open."""
    assert code not in kb.points
    planned, screening = course("knee-prosthesis")  # the left knee is replaced
    found = check_session(session({"code": code, "side": "left"}), planned, screening, kb)
    assert [p.loc for p in found] == [("points", 0, "code")]
    assert "has no location in acuknee's point table" in found[0].message
    assert check_session(session({"code": code, "side": "right"}), planned, screening, kb) == []


def test_electroacupuncture_with_a_pacemaker_is_refused(kb: KnowledgeBase) -> None:
    planned, screening = course("pacemaker")
    # ST36 and GB34, not ST35: the example patient's anticoagulant also closes the knee eyes.
    record = session(
        {"code": "ST36", "side": "left", "stimulation": "electro"},
        {"code": "GB34", "side": "left", "stimulation": "electro"},
        electro=[{"points": ["ST36", "GB34"], "side": "left", "frequency_hz": [2, 100]}],
    )
    locs = [p.loc for p in check_session(record, planned, screening, kb)]
    assert locs == [
        ("points", 0, "stimulation"),
        ("points", 1, "stimulation"),
        ("electro", 0, "points"),
    ]


def test_the_same_electro_session_is_fine_without_a_device(kb: KnowledgeBase) -> None:
    planned, screening = course("knee-oa")
    record = session(
        {"code": "ST35", "side": "left", "stimulation": "electro"},
        {"code": "ST36", "side": "left", "stimulation": "electro"},
        electro=[{"points": ["ST35", "ST36"], "side": "left", "frequency_hz": [2, 100]}],
    )
    assert check_session(record, planned, screening, kb) == []


def test_without_a_screening_only_codes_are_checked(kb: KnowledgeBase) -> None:
    planned, _ = course("pregnant")
    assert check_session(session({"code": "SP6", "side": "left"}), planned, None, kb) == []
