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
