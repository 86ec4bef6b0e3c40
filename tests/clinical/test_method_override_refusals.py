"""A stimulation method blocked by a rule that admits no override (pregnancy: no
electroacupuncture; WHO 1999, AACP 2012, ASAP guidance) is refused at plan edit and at session
time, even when a plan carries it."""

from __future__ import annotations

import datetime as dt

from acuknee.clinical import Intake, load_knowledge
from acuknee.clinical.assessment import assess
from acuknee.clinical.planning import plan
from acuknee.clinical.screening import screen
from acuknee.clinical.session_check import check_session, method_override_refusals
from acuknee.clinical.sessions import SessionRecord
from acuknee.clinical.vocabulary import Method

DAY = dt.date(2026, 3, 2)


def _intake(**health: object) -> Intake:
    return Intake.model_validate(
        {"age": 34, "sex": "female", "side": "left", "duration_weeks": 20, "health": health}
    )


def test_electroacupuncture_in_pregnancy_is_refused_even_with_an_override() -> None:
    kb = load_knowledge()
    screening = screen(_intake(pregnant=True, pregnancy_weeks=22), kb)
    [refusal] = method_override_refusals(Method.ELECTRO, screening, kb)
    assert "even with an override" in refusal
    assert "Pregnancy" in refusal
    assert kb.sources["who1999_basic_training_safety"].citation in refusal
    assert method_override_refusals(Method.MANUAL, screening, kb) == []


def test_an_overridable_method_block_is_not_refused_outright() -> None:
    kb = load_knowledge()
    screening = screen(_intake(implanted_electronic_device=True), kb)
    assert screening.method_blocks(Method.ELECTRO)
    assert method_override_refusals(Method.ELECTRO, screening, kb) == []


def test_a_plan_carrying_electro_in_pregnancy_does_not_let_an_electro_session_through() -> None:
    kb = load_knowledge()
    subject = _intake(pregnant=True, pregnancy_weeks=22)
    screening = screen(subject, kb)
    planned = plan(subject, screening, assess(subject), start=DAY, kb=kb)
    electro_plan = planned.model_copy(update={"method": Method.ELECTRO})
    code = planned.points[0].code
    record = SessionRecord.model_validate(
        {
            "date": DAY,
            "number": 1,
            "points": [{"code": code, "side": "right", "stimulation": "electro"}],
        }
    )
    found = check_session(record, electro_plan, screening, kb)
    assert ("points", 0, "stimulation") in [p.loc for p in found]
    assert any("even with an override" in p.message for p in found)
