"""The intake validates everything at the boundary, naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from acuknee.clinical.intake import Intake

BASE = {"age": 60, "side": "left", "duration_weeks": 3}


def test_an_out_of_range_baseline_koos_item_is_rejected_at_intake_naming_the_item() -> None:
    with pytest.raises(ValidationError, match=r"koos\.P1"):
        Intake.model_validate({**BASE, "baseline": {"koos": {"P1": 9}}})


def test_an_unknown_baseline_instrument_is_rejected_at_intake() -> None:
    with pytest.raises(ValidationError, match="womac"):
        Intake.model_validate({**BASE, "baseline": {"womac": {"A1": 1}}})


def test_valid_baseline_answers_are_kept() -> None:
    intake = Intake.model_validate({**BASE, "baseline": {"pain_nrs": {"current": 4}}})
    assert intake.baseline["pain_nrs"]["current"] == 4


def test_an_unknown_intake_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="knee"):
        Intake.model_validate({**BASE, "knee": "left"})


# --- review: answers are numbers, never coerced from booleans or text --------------------------


@pytest.mark.parametrize("bad", [True, False, "2"], ids=["true", "false", "text"])
def test_a_baseline_answer_that_is_not_a_number_is_rejected_naming_the_item(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Intake.model_validate({**BASE, "baseline": {"koos": {"P1": bad}}})
    assert [e["loc"] for e in caught.value.errors()] == [("baseline", "koos", "P1")]


def test_a_boolean_baseline_answer_in_json_is_rejected() -> None:
    text = (
        '{"age": 60, "side": "left", "duration_weeks": 3,'
        ' "baseline": {"pain_nrs": {"current": true}}}'
    )
    with pytest.raises(ValidationError, match=r"current"):
        Intake.model_validate_json(text)


def test_whole_and_decimal_baseline_answers_are_kept_as_numbers() -> None:
    intake = Intake.model_validate(
        {**BASE, "baseline": {"pain_nrs": {"current": 4}, "timed_up_and_go": {"time_s": 9.5}}}
    )
    assert intake.baseline["pain_nrs"]["current"] == 4
    assert intake.baseline["timed_up_and_go"]["time_s"] == 9.5
