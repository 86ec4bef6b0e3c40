"""Synthetic intakes as a practitioner who asked every red-flag question records them.

A red-flag question left blank is "not asked", and planning waits for it (the care layer), so a
test that wants a plan answers the questions its patient does not have with "no".
"""

from __future__ import annotations

from acuknee.clinical import Intake
from acuknee.clinical.intake import unanswered_red_flags
from acuknee.demo import every_red_flag_asked


def red_flag_questions() -> list[str]:
    """The intake paths of the red-flag questions every patient is asked (no injury recorded)."""
    return [q.field for q in unanswered_red_flags(Intake(age=60, side="left", duration_weeks=1))]


def red_flags_answered_no() -> dict[str, str]:
    """Intake form fields answering every red-flag question "no" (the form's ``false``)."""
    return {path.replace(".", "__"): "false" for path in red_flag_questions()}


# The demo loader already answers a synthetic intake's unasked questions "no": one definition.
asked = every_red_flag_asked
