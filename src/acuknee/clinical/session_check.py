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
  (``acuknee.forms.plans``); otherwise the session is refused and says which rule and why;
- likewise a stimulation method the screening blocks (``Screening.method_blocks``: e.g.
  electroacupuncture with a cardiac pacemaker) only when it is the signed plan's own method, and
  never when the blocking rule admits no override (pregnancy: ``method_override_refusals``).

The rules themselves are the screening's (``safety_rules.toml``, each with its sources); this
module adds none, it only applies them at the moment of needling as well as at planning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from acuknee.clinical.base import CoreModel
from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.clinical.planning import Plan
from acuknee.clinical.screening import SafetyFinding, Screening, knee_closed_by
from acuknee.clinical.sessions import ASHI, NeedledPoint, SessionRecord
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


def _unplaced(point: NeedledPoint, screening: Screening) -> str | None:
    """Why a standard point the knowledge base has no location for is refused on a side where
    a rule closes an area (a leg with lymphoedema, a replaced knee, unhealthy skin): whether it
    lies in that area cannot be checked, and a block must never be passed for want of data."""
    for side in point.side.single_sides():
        for finding in screening.findings:
            if any(s.covers(side) for s in finding.area_sides):
                return (
                    f"{point.code} has no location in acuknee's point table, so whether it lies "
                    f"in the area {finding.name} closes on the {side.value} side cannot be "
                    "checked: choose a point acuknee knows, or needle it on the other side"
                )
    return None


def _planned(plan: Plan, code: str, side: Side) -> bool:
    return any(p.code == code and p.side.covers(side) for p in plan.points)


def _method_tail(plan: Plan, method: Method) -> str:
    if method is plan.method:
        return (
            "and the signed plan recorded no override for it (the finding came after the plan "
            "was signed): review the plan"
        )
    return "and is not the signed plan's method"


class Override(CoreModel):
    """A block the practitioner took on in the signed plan, with a reason (recorded by the clinic
    app): ``kind`` point or method, ``target`` the point code or method, for one ``rule``."""

    kind: Literal["point", "method"]
    target: str
    side: Side | None = None
    rule: str


def _lifted(
    overrides: Sequence[Override] | None,
    kind: str,
    target: str,
    side: Side | None,
    rule: str,
    held: bool,
) -> bool:
    """Whether the signed plan lifts ``rule``'s block on ``target``. With the plan's recorded
    overrides, only an override for that rule does: a block that arose after the plan was
    signed (a pacemaker recorded later, a new knee replacement) is not lifted by the plan merely
    holding the point or method. Without them (``None``), holding it counts as overridden."""
    if overrides is None:
        return held
    return any(
        o.kind == kind
        and o.target == target
        and o.rule == rule
        and (side is None or o.side is None or o.side.covers(side))
        for o in overrides
    )


def cited(kb: KnowledgeBase, sources: list[str]) -> str:
    """Sources as a practitioner reads them: the citations, not the knowledge base's ids."""
    texts = [kb.sources[s].citation if s in kb.sources else s for s in sources]
    return "; ".join(texts)


def _rule_words(kb: KnowledgeBase, finding: SafetyFinding) -> str:
    return f"{finding.name} (source: {cited(kb, finding.sources)})"


def override_refusals(code: str, side: Side, screening: Screening, kb: KnowledgeBase) -> list[str]:
    """Why ``code`` on ``side`` may not be added to a plan even with an override: the blocks no
    override lifts (pregnancy: WHO 1999, AACP 2012, ASAP guidance). Empty when an override may
    add it. The clinic app calls this before accepting an override."""
    rules = {f.rule: f for f in screening.findings}
    out: list[str] = []
    for block in screening.point_blocks(code, side):
        if block.overridable:
            continue
        finding = rules[block.rule]
        out.append(
            f"{code} ({side.value}) cannot be needled for this patient, even with an override: "
            f"{block.reason}. Rule: {_rule_words(kb, finding)}"
        )
    return out


def method_override_refusals(method: Method, screening: Screening, kb: KnowledgeBase) -> list[str]:
    """Why ``method`` may not be used even with an override: a rule that blocks it and whose
    blocks no override lifts (``overridable = false``: pregnancy blocks electroacupuncture; WHO
    1999, AACP 2012, ASAP guidance). Empty when an override may lift every block on it."""
    out: list[str] = []
    for finding in screening.method_blocks(method):
        rule = kb.safety_rules.get(finding.rule)
        if rule is None or rule.effects.overridable:
            continue
        out.append(
            f"{method.value} stimulation cannot be used for this patient, even with an "
            f"override: {finding.message} Rule: {_rule_words(kb, finding)}"
        )
    return out


def _depth_problems(
    i: int, point: NeedledPoint, screening: Screening, kb: KnowledgeBase
) -> list[SessionProblem]:
    """A recorded depth beyond the fixed maximum a rule sets (bleeding risk). Proportional cun
    cannot be turned into millimetres without the patient's own measure, so under a depth limit
    a depth in mm is refused with a request to record it in cun."""
    cap = screening.max_depth_cun
    if cap is None or point.depth is None:
        return []
    rules = "; ".join(_rule_words(kb, f) for f in screening.depth_limit_rules())
    loc: tuple[str | int, ...] = ("points", i, "depth")
    if point.depth.unit == "mm":
        return [
            SessionProblem(
                loc=loc,
                message=(
                    f"{point.code}: this patient's depth limit is {cap:g} cun, set by {rules}. "
                    f"Record the depth in cun (a depth of {point.depth.text()} cannot be "
                    "checked against it)"
                ),
            )
        ]
    if point.depth.value > cap:
        return [
            SessionProblem(
                loc=loc,
                message=(
                    f"{point.code}: {point.depth.text()} is deeper than this patient's limit of "
                    f"{cap:g} cun, set by {rules}"
                ),
            )
        ]
    return []


def _needle_problems(
    record: SessionRecord, screening: Screening, kb: KnowledgeBase
) -> list[SessionProblem]:
    limit = screening.max_needle_diameter_mm
    if limit is None or record.needle is None or record.needle.diameter_mm <= limit:
        return []
    rules = "; ".join(_rule_words(kb, f) for f in screening.needle_limit_rules())
    return [
        SessionProblem(
            loc=("needle", "diameter_mm"),
            message=(
                f"a {record.needle.diameter_mm:g} mm needle is thicker than this patient's limit "
                f"of {limit:g} mm, set by {rules}"
            ),
        )
    ]


def check_session(
    record: SessionRecord,
    plan: Plan,
    screening: Screening | None,
    kb: KnowledgeBase,
    overrides: Sequence[Override] | None = None,
) -> list[SessionProblem]:
    """Every problem of ``record`` for this patient: unknown point codes; a screening that
    blocks all treatment; points or methods the screening blocks that the signed ``plan`` did
    not take on with an override, and blocks no override lifts (pregnancy); depths beyond the
    screening's maximum depth and needles thicker than its limit (bleeding risk: BAcC; WHO
    1999). Empty when the session may be stored. ``screening`` is None only when the intake has
    none on record."""
    problems: list[SessionProblem] = []
    blocked_methods: dict[Method, str] = {}
    refused_methods: dict[Method, str] = {}
    if screening is not None:
        for f in screening.findings:
            if f.blocks_treatment:
                problems.append(
                    SessionProblem(
                        loc=("points",),
                        message=f"no needling for this patient: {f.message} Rule: "
                        f"{_rule_words(kb, f)}",
                    )
                )
        for method in Method:
            hard = method_override_refusals(method, screening, kb)
            if hard:
                refused_methods[method] = hard[0]  # even the signed plan's own method
                continue
            findings = screening.method_blocks(method)
            if method is plan.method:
                # the signed plan's own method: lifted only by the plan's override of each rule
                findings = [
                    f
                    for f in findings
                    if not _lifted(overrides, "method", method.value, None, f.rule, True)
                ]
            if findings:
                blocked_methods[method] = "; ".join(f"{f.name}: {f.message}" for f in findings)
        problems += _needle_problems(record, screening, kb)
    for i, point in enumerate(record.points):
        message = _unknown(kb, point.code)
        if message is not None:
            problems.append(SessionProblem(loc=("points", i, "code"), message=message))
            continue
        if screening is not None and not point.is_ashi and point.code not in kb.points:
            unplaced = _unplaced(point, screening)
            if unplaced is not None:
                problems.append(SessionProblem(loc=("points", i, "code"), message=unplaced))
                continue
        if screening is not None and point.is_ashi:
            for side in point.side.single_sides():
                closed = knee_closed_by(screening, kb, side)
                if closed is not None:
                    problems.append(
                        SessionProblem(
                            loc=("points", i, "code"),
                            message=(
                                f"Ashi points ({side.value}) lie around the painful knee, where "
                                f"{closed.name} blocks every local point (source: "
                                f"{cited(kb, closed.sources)}): needle away from that knee"
                            ),
                        )
                    )
                    break
        if screening is not None and not point.is_ashi:
            for side in point.side.single_sides():
                hard = override_refusals(point.code, side, screening, kb)
                if hard:
                    problems.append(SessionProblem(loc=("points", i, "code"), message=hard[0]))
                    break
                held = _planned(plan, point.code, side)
                blocks = [
                    b
                    for b in screening.point_blocks(point.code, side)
                    if not _lifted(overrides, "point", point.code, side, b.rule, held)
                ]
                if blocks:
                    rules = {f.rule: f for f in screening.findings}
                    why = "; ".join(
                        f"{b.reason} (source: {cited(kb, rules[b.rule].sources)})"
                        if b.rule in rules
                        else b.reason
                        for b in blocks
                    )
                    problems.append(
                        SessionProblem(
                            loc=("points", i, "code"),
                            message=(
                                f"{point.code} ({side.value}) is blocked for this patient by "
                                f"{why}. "
                                + (
                                    "The signed plan holds it but recorded no override for this "
                                    "rule (the finding came after the plan was signed): review "
                                    "the plan, and record an override with a reason to keep it"
                                    if held
                                    else "It is not in the signed plan: to needle it, edit the "
                                    "plan and record an override with a reason"
                                )
                            ),
                        )
                    )
                    break
        if screening is not None:
            problems += _depth_problems(i, point, screening, kb)
        if point.stimulation in refused_methods:
            problems.append(
                SessionProblem(
                    loc=("points", i, "stimulation"), message=refused_methods[point.stimulation]
                )
            )
        elif point.stimulation in blocked_methods:
            problems.append(
                SessionProblem(
                    loc=("points", i, "stimulation"),
                    message=(
                        f"{point.stimulation.value} stimulation is blocked for this patient "
                        f"({blocked_methods[point.stimulation]}) "
                        + _method_tail(plan, point.stimulation)
                    ),
                )
            )
    for j, pair in enumerate(record.electro):
        for code in pair.points:
            message = _unknown(kb, code)
            if message is not None:
                problems.append(SessionProblem(loc=("electro", j, "points"), message=message))
        if Method.ELECTRO in refused_methods:
            problems.append(
                SessionProblem(
                    loc=("electro", j, "points"), message=refused_methods[Method.ELECTRO]
                )
            )
        elif Method.ELECTRO in blocked_methods:
            problems.append(
                SessionProblem(
                    loc=("electro", j, "points"),
                    message=(
                        "electroacupuncture is blocked for this patient "
                        f"({blocked_methods[Method.ELECTRO]}) " + _method_tail(plan, Method.ELECTRO)
                    ),
                )
            )
    for k, event in enumerate(record.adverse_events):
        if event.point:
            message = _unknown(kb, event.point)
            if message is not None:
                problems.append(SessionProblem(loc=("adverse_events", k, "point"), message=message))
    return problems
