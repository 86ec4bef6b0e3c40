"""A session record checked against the knowledge base, the signed plan and the patient's screening.

``SessionRecord`` alone checks that a record is well formed; it cannot know the patient. Before a
session is stored, the same safety rules that shaped the plan apply to what was actually needled:

- every point code is a standard code: a meridian's abbreviation and a number within its range
  (``[[meridian]]`` in ``points.toml``: the 361 points of the WHO Standard Acupuncture Point
  Locations in the Western Pacific Region, 2008), an extra point (``EX-`` and its region and
  number, e.g. ``EX-LE4``; not range-checked, as the 2008 standard does not cover them), or Ashi.
  A code typed in another form (``st 36``, ``St-36``) is refused with the standard form to use
  (``ST36``), so records stay comparable and a typo (``ST46``) never stores a point that does not
  exist;
- a point the screening blocks for this patient (``Screening.point_blocks``: pregnancy, a knee
  prosthesis, a skin lesion ...) may be needled only when the signed plan holds it on that side,
  which means the practitioner overrode the block with a recorded reason when editing the plan
  (``acuknee.clinic.forms.plans``); otherwise the session is refused and says which rule and why;
- likewise a stimulation method the screening blocks (``Screening.method_blocks``: e.g.
  electroacupuncture with a cardiac pacemaker) only when it is the signed plan's own method.

The rules themselves are the screening's (``safety_rules.toml``, each with its sources); this
module adds none, it only applies them at the moment of needling as well as at planning.
"""

from __future__ import annotations

import re

from acuknee.clinical.base import CoreModel
from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.clinical.planning import Plan
from acuknee.clinical.screening import Screening
from acuknee.clinical.sessions import ASHI, SessionRecord
from acuknee.clinical.vocabulary import Method, Side


class SessionProblem(CoreModel):
    """Why a session cannot be stored as given; ``loc`` names the field, as pydantic's errors do
    (``("points", 0, "code")`` is the first point's code)."""

    loc: tuple[str | int, ...]
    message: str


_MERIDIAN_CODE = re.compile(r"^([A-Z]{2})([1-9][0-9]?)$")
_EXTRA_CODE = re.compile(r"^EX-[A-Z]{1,2}[1-9][0-9]?$")


def is_standard_code(kb: KnowledgeBase, code: str) -> bool:
    """True for a point of the knowledge base, a meridian point within its meridian's range, or
    an extra point code (``EX-LE4``)."""
    if code in kb.points or _EXTRA_CODE.match(code):
        return True
    found = _MERIDIAN_CODE.match(code)
    if found is None:
        return False
    meridian = kb.meridians.get(found.group(1))
    return meridian is not None and int(found.group(2)) <= meridian.points


def standard_code(kb: KnowledgeBase, text: str) -> str | None:
    """``text`` typed loosely (case, spaces, dots, a hyphen in a meridian code) as the standard
    code: ``st 36`` and ``St-36`` give ``ST36``, ``ex le 4`` gives ``EX-LE4``; None when it is
    no standard code however written."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    candidates = [letters]
    if letters.startswith("EX") and len(letters) > 2:
        candidates.append(f"EX-{letters[2:]}")
    return next((c for c in candidates if is_standard_code(kb, c)), None)


def _unknown(kb: KnowledgeBase, code: str) -> str | None:
    """The message for a code that is neither a standard point nor Ashi (None when it is one)."""
    if code.lower() == ASHI or is_standard_code(kb, code):
        return None
    standard = standard_code(kb, code)
    if standard is not None:
        return f"point code {code!r} is not written as the standard code: use {standard}"
    return (
        f"unknown point code {code!r}: use a WHO standard point code (e.g. ST36, SP9, "
        f"EX-LE4), or {ASHI} for a tender point"
    )


def _planned(plan: Plan, code: str, side: Side) -> bool:
    return any(p.code == code and p.side.covers(side) for p in plan.points)


def check_session(
    record: SessionRecord, plan: Plan, screening: Screening | None, kb: KnowledgeBase
) -> list[SessionProblem]:
    """Every problem of ``record`` for this patient: unknown point codes, and points or methods
    the screening blocks that the signed ``plan`` did not take on with an override. Empty when
    the session may be stored. ``screening`` is None only when the intake has none on record."""
    problems: list[SessionProblem] = []
    blocked_methods: dict[Method, str] = {}
    if screening is not None:
        for method in Method:
            if method is plan.method:
                continue  # the signed plan's own method: any block was overridden there
            findings = screening.method_blocks(method)
            if findings:
                blocked_methods[method] = "; ".join(f"{f.name}: {f.message}" for f in findings)
    for i, point in enumerate(record.points):
        message = _unknown(kb, point.code)
        if message is not None:
            problems.append(SessionProblem(loc=("points", i, "code"), message=message))
            continue
        if screening is not None and not point.is_ashi:
            for side in point.side.single_sides():
                blocks = screening.point_blocks(point.code, side)
                if blocks and not _planned(plan, point.code, side):
                    why = "; ".join(f"rule '{b.rule}': {b.reason}" for b in blocks)
                    problems.append(
                        SessionProblem(
                            loc=("points", i, "code"),
                            message=(
                                f"{point.code} ({side.value}) is blocked for this patient by "
                                f"{why}. It is not in the signed plan: to needle it, edit the "
                                "plan and record an override with a reason"
                            ),
                        )
                    )
                    break
        if point.stimulation in blocked_methods:
            problems.append(
                SessionProblem(
                    loc=("points", i, "stimulation"),
                    message=(
                        f"{point.stimulation.value} stimulation is blocked for this patient "
                        f"({blocked_methods[point.stimulation]}) and is not the signed plan's "
                        "method"
                    ),
                )
            )
    for j, pair in enumerate(record.electro):
        for code in pair.points:
            message = _unknown(kb, code)
            if message is not None:
                problems.append(SessionProblem(loc=("electro", j, "points"), message=message))
        if Method.ELECTRO in blocked_methods:
            problems.append(
                SessionProblem(
                    loc=("electro", j, "points"),
                    message=(
                        "electroacupuncture is blocked for this patient "
                        f"({blocked_methods[Method.ELECTRO]}) and is not the signed plan's method"
                    ),
                )
            )
    for k, event in enumerate(record.adverse_events):
        if event.point:
            message = _unknown(kb, event.point)
            if message is not None:
                problems.append(SessionProblem(loc=("adverse_events", k, "point"), message=message))
    return problems
