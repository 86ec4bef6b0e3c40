"""Planning: choose a protocol for the likely cause and personalise it under the screening's
constraints. A plan never contains a point or method a rule blocks.

``plan`` is the only entry point. It reads the recipe from ``knowledge/protocols.toml`` (GERAC,
Scharf 2006; Tu 2021; and labelled exploratory local+distal recipes), optionally the traditional
pattern layer from ``knowledge/patterns.toml``, and obeys the ``Screening`` it is given: refusals,
point and method blocks, depth and needle limits, warnings. Every change it makes is recorded as
a ``Change`` naming the rule and its sources, so the practitioner signs a plan whose reasons show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal, Protocol

from acuknee.clinical.base import CoreModel
from acuknee.clinical.errors import InvalidInput, KnowledgeError
from acuknee.clinical.intake import Intake, Preferences
from acuknee.clinical.knowledge import KnowledgeBase, Pattern, PointSide, load_knowledge
from acuknee.clinical.knowledge import Protocol as Recipe
from acuknee.clinical.screening import Screening, knee_closed_by
from acuknee.clinical.vocabulary import Cause, Method, Severity, Side

Role = Literal["local", "distal", "adjunct", "pattern"]


class PlannedPoint(CoreModel):
    """One point to needle on one side, with the depth allowed after safety limits."""

    code: str
    side: Side
    role: Role
    depth_cun_min: float | None
    depth_cun_max: float | None
    angle: str
    depth_note: str | None = None


class Change(CoreModel):
    """Something the safety rules (or the pattern layer) changed, and why, with its sources."""

    action: Literal[
        "removed_point",
        "removed_method",
        "replaced_method",
        "limited_depth",
        "warned",
        "added_point",
        "removed_electro_pair",
    ]
    target: str
    side: Side | None = None
    rule: str
    reason: str
    sources: list[str]


class ElectroCircuit(CoreModel):
    """Two needles wired together on one side (an electroacupuncture pair)."""

    a: str
    b: str
    side: Side


class ScheduledVisit(CoreModel):
    """One dated visit. ``number`` counts visits of the same kind (session 1, 2, ...;
    reassessment 1, 2, ...). ``week`` is the week of the course a session falls in (1 = the
    first seven days); for a reassessment it is the protocol's reassessment week, i.e. the number
    of whole weeks since the start."""

    number: int
    date: dt.date
    kind: Literal["session", "reassessment"]
    week: int


class Plan(CoreModel):
    """A proposed plan (to be reviewed and signed in the clinic app) or a refusal with reasons.

    ``ashi_points`` is the total number of Ashi (tender) points planned, over every knee in
    ``ashi_sides``. ``electro_pairs`` lists the wired pairs by code; ``electro_circuits`` says on
    which side each one is wired.
    """

    status: Literal["proposed", "refused"]
    refusal_reasons: list[str] = []
    cause: Cause | None = None
    severity: Severity | None = None
    protocol: str | None = None
    protocol_name: str | None = None
    style: str | None = None
    variation: str | None = None
    method: Method | None = None
    points: list[PlannedPoint] = []
    ashi_points: int = 0
    ashi_sides: list[Side] = []
    electro_pairs: list[tuple[str, str]] = []
    electro_circuits: list[ElectroCircuit] = []
    electro_frequency_hz: list[float] = []
    electro_frequency_label: str | None = None
    electro_intensity: str | None = None
    retention_minutes: int | None = None
    sessions_per_week: int | None = None
    number_of_sessions: int | None = None
    reassessment_weeks: list[int] = []
    needle: str | None = None
    response_sought: str | None = None
    min_depth_mm: float | None = None
    max_needle_diameter_mm: float | None = None
    start: dt.date | None = None
    schedule: list[ScheduledVisit] = []
    changes: list[Change] = []
    warnings: list[str] = []
    pattern: str | None = None
    pattern_name: str | None = None
    rationale: str = ""
    expected_response: str = ""
    evidence_level: str | None = None
    sources: list[str] = []


class AssessmentLike(Protocol):
    """What the planner reads from an assessment (``acuknee.clinical.assessment.Assessment``)."""

    @property
    def likely_cause(self) -> Cause: ...

    @property
    def severity(self) -> Severity | None: ...


# When a method is blocked, the method that keeps the same points. Manual needling with the same
# points is what Tu 2021's manual arm did (58.6 % response vs 47.3 % sham, not significantly
# different from sham at week 8; electro 60.3 %), and BMAS guidance (Cummings 2011, Acupunct Med
# 29:83) allows manual needling with an implanted device. When the electro protocol names the
# trial's arm without current (``without_current``), the plan follows that arm's words.
_FALLBACK: dict[Method, Method] = {Method.ELECTRO: Method.MANUAL}

_Candidate = tuple[str, Side, Role]


def plan(
    intake: Intake,
    screening: Screening,
    assessment: AssessmentLike | None = None,
    *,
    start: dt.date,
    kb: KnowledgeBase | None = None,
) -> Plan:
    """Propose a course for ``intake`` under ``screening``, or refuse with reasons.

    The protocol is ``preferences.protocol`` (it must treat the likely cause) or the cause's
    default, or the cause's protocol of ``preferences.method`` when one exists. Without an
    assessment the cause is the preferred protocol's, else unspecified knee pain. Points are
    expanded to one per side, then the screening is obeyed: blocked points and methods are
    removed or replaced (never kept), depth is capped at the fixed maximum a rule sets (bleeding
    risk: WHO 1999; BAcC), and warnings are carried. The optional TCM pattern
    layer (traditional theory) adds or removes points before the safety filter, so its points are
    filtered too. Sessions are dated from ``start`` (passed in, never read from the clock).

    A screening that refuses treatment is answered first, before preferences are checked. Raises
    ``InvalidInput`` naming ``preferences.protocol``, ``preferences.method`` or
    ``preferences.pattern`` when a preference cannot be honoured.
    """
    kb = load_knowledge() if kb is None else kb
    prefs = intake.preferences
    cause = _cause(assessment, prefs, kb)
    severity = assessment.severity if assessment is not None else None
    if not screening.plan_allowed:  # first, so a referral is never hidden behind an input error
        sources = [s for r in screening.referrals if r.urgency.blocks_plan for s in r.sources]
        sources += [s for f in screening.findings if f.blocks_treatment for s in f.sources]
        return Plan(
            status="refused",
            refusal_reasons=screening.refusal_reasons,
            cause=cause,
            severity=severity,
            sources=_unique(sources),
        )
    recipe, notes = choose_protocol(cause, prefs, kb)
    pattern, pattern_notes = _pattern(prefs, kb, screening)
    return _Builder(intake, screening, recipe, pattern, kb, notes + pattern_notes).build(
        cause, severity, start
    )


def choose_protocol(
    cause: Cause, preferences: Preferences, kb: KnowledgeBase
) -> tuple[Recipe, list[str]]:
    """The protocol to personalise, and notes for the practitioner about the choice.

    A cause with no protocol of its own (e.g. Osgood-Schlatter disease) is planned with the
    unspecified-knee-pain protocol, and a note says so."""
    candidates = kb.protocols_for(cause)
    if not candidates and cause is not Cause.UNSPECIFIED:
        recipe, notes = choose_protocol(Cause.UNSPECIFIED, preferences, kb)
        fallback = (
            f"No protocol treats {cause.phrase}; the unspecified-knee-pain "
            f"protocol {recipe.id} is proposed."
        )
        return recipe, [fallback, *notes]
    if preferences.protocol is not None:
        chosen = kb.protocols.get(preferences.protocol)
        if chosen is None:
            known = ", ".join(p.id for p in candidates) or "none"
            raise InvalidInput(
                "preferences.protocol",
                f"unknown protocol {preferences.protocol!r}; protocols for {cause.value}: {known}",
            )
        if chosen.cause is not cause:
            raise InvalidInput(
                "preferences.protocol",
                f"protocol {chosen.id!r} treats {chosen.cause.value}, "
                f"but the likely cause is {cause.value}",
            )
        if preferences.method is not None and preferences.method is not chosen.method:
            raise InvalidInput(
                "preferences.method",
                f"{preferences.method.value} conflicts with protocol {chosen.id!r}, "
                f"which is {chosen.method.value}",
            )
        return chosen, []
    defaults = [p for p in candidates if p.default_for_cause]
    if len(defaults) != 1:
        raise KnowledgeError(f"cause {cause.value}: needs exactly one default protocol")
    default = defaults[0]
    wanted = preferences.method
    if wanted is None or default.method is wanted:
        return default, []
    matching = sorted((p for p in candidates if p.method is wanted), key=lambda p: p.id)
    if matching:
        return matching[0], []
    note = (
        f"No {wanted.value} protocol exists for {cause.value}; "
        f"the default {default.id} ({default.method.value}) is proposed."
    )
    return default, [note]


def build_schedule(
    start: dt.date,
    sessions_per_week: int,
    number_of_sessions: int,
    reassessment_weeks: Iterable[int] = (),
) -> list[ScheduledVisit]:
    """Dated sessions spread evenly over each week, and reassessments at whole weeks.

    Within a week the k sessions fall on days floor(i * 7 / k): 3 a week gives days 0, 2, 4
    (the Monday/Wednesday/Friday rhythm of Sangdee 2002 when ``start`` is a Monday), 2 a week days
    0 and 3, 1 a week day 0. A reassessment at week w is dated ``start`` + 7w days and comes
    before a session on the same day, so the measure precedes the treatment.
    """
    reassessment_weeks = tuple(reassessment_weeks)
    weeks = max([*reassessment_weeks, number_of_sessions // max(sessions_per_week, 1) + 1])
    if start > dt.date.max - dt.timedelta(weeks=weeks + 1):
        raise InvalidInput("start", f"{start.isoformat()}: the schedule would run past year 9999")
    visits: list[tuple[dt.date, int, ScheduledVisit]] = []
    for i in range(number_of_sessions):
        week, slot = divmod(i, sessions_per_week)
        day = 7 * week + (slot * 7) // sessions_per_week
        date = start + dt.timedelta(days=day)
        visits.append(
            (date, 1, ScheduledVisit(number=i + 1, date=date, kind="session", week=week + 1))
        )
    for n, week in enumerate(sorted(set(reassessment_weeks)), start=1):
        date = start + dt.timedelta(weeks=week)
        visits.append(
            (date, 0, ScheduledVisit(number=n, date=date, kind="reassessment", week=week))
        )
    visits.sort(key=lambda v: (v[0], v[1], v[2].number))
    return [v[2] for v in visits]


def planned_point(
    code: str, side: Side, role: Role, screening: Screening, kb: KnowledgeBase | None = None
) -> PlannedPoint:
    """One point as the planner plans it under ``screening``: the knowledge base's depth and
    angle, capped at the fixed maximum depth a rule sets (bleeding risk: 0.5 cun, a practice
    convention; BAcC; WHO 1999), whatever the point's own range. Also used for points a
    practitioner adds to a plan, so they obey the same limit. Blocks are not checked here: the
    caller decides (the planner removes, the clinic app asks for an override)."""
    kb = load_knowledge() if kb is None else kb
    point = kb.point(code)
    low, high = point.depth_cun_min, point.depth_cun_max
    note = None
    cap = screening.max_depth_cun
    if cap is not None:
        low = None if low is None else min(low, cap)
        high = cap if high is None else min(high, cap)
        names = "; ".join(f.name for f in screening.depth_limit_rules())
        note = f"No deeper than {cap:g} cun at this point ({names})."
    return PlannedPoint(
        code=code,
        side=side,
        role=role,
        depth_cun_min=low,
        depth_cun_max=high,
        angle=point.angle,
        depth_note=note,
    )


# --- the personalisation ------------------------------------------------------------------------


class _Builder:
    """One plan under construction: candidates, removals, changes and warnings."""

    def __init__(
        self,
        intake: Intake,
        screening: Screening,
        recipe: Recipe,
        pattern: Pattern | None,
        kb: KnowledgeBase,
        notes: list[str],
    ) -> None:
        self.intake = intake
        self.screening = screening
        self.recipe = recipe
        self.pattern = pattern
        self.kb = kb
        self.warnings: list[str] = list(notes)
        self.changes: list[Change] = []
        # (code, side) -> the change that removed it, so a broken pair can name the rule
        self.removed: dict[tuple[str, Side], Change] = {}

    def build(self, cause: Cause, severity: Severity | None, start: dt.date) -> Plan:
        method = self._method()
        candidates = self._candidates()
        kept = [c for c in candidates if self._allowed(c)]
        kept += self._other_side(candidates, kept)
        points = [self._planned(code, side, role) for code, side, role in kept]
        self._limit_depth()
        circuits: list[ElectroCircuit] = []
        if method is Method.ELECTRO:
            circuits = self._circuits(candidates, kept)
            if not circuits:
                method = self._lose_electro()
        if method is not None and method is not self.recipe.method:
            self._follow_arm_without_current()
        recipe = self.recipe
        self._depth_versus_trial()
        ashi_sides = self._ashi_sides(candidates)
        self._warn(kept)
        self._warn_method(method)
        # What a refused and a proposed plan both report: which protocol, and what safety changed.
        common: dict[str, Any] = {
            "cause": cause,
            "severity": severity,
            "protocol": recipe.id,
            "protocol_name": recipe.name,
            "changes": self.changes,
            "warnings": _unique(self.warnings),
            "pattern": self.pattern.id if self.pattern else None,
            "pattern_name": self.pattern.name if self.pattern else None,
            "sources": self._sources(),
        }
        if method is None or not points:
            return Plan(status="refused", refusal_reasons=self._refusal(method), **common)
        electro = recipe.electro if method is Method.ELECTRO else None
        pairs = list(dict.fromkeys((c.a, c.b) for c in circuits))
        return Plan(
            status="proposed",
            style=recipe.style,
            variation=recipe.variation,
            method=method,
            points=points,
            ashi_points=recipe.ashi_points * len(ashi_sides),
            ashi_sides=ashi_sides,
            electro_pairs=pairs,
            electro_circuits=circuits,
            electro_frequency_hz=list(electro.frequency_hz) if electro else [],
            electro_frequency_label=electro.frequency_label if electro else None,
            electro_intensity=electro.intensity if electro else None,
            retention_minutes=recipe.retention_minutes,
            sessions_per_week=recipe.sessions_per_week,
            number_of_sessions=recipe.number_of_sessions,
            reassessment_weeks=sorted(set(recipe.reassessment_weeks)),
            needle=recipe.needle,
            response_sought=recipe.response_sought,
            min_depth_mm=recipe.min_depth_mm,
            max_needle_diameter_mm=self.screening.max_needle_diameter_mm,
            start=start,
            schedule=build_schedule(
                start,
                recipe.sessions_per_week,
                recipe.number_of_sessions,
                recipe.reassessment_weeks,
            ),
            rationale=self._rationale(cause, severity),
            expected_response=recipe.expected_response,
            evidence_level=recipe.evidence_level.value,
            **common,
        )

    # -- method ----------------------------------------------------------------------------------

    def _method(self) -> Method | None:
        """The protocol's method, or its fallback when a rule blocks it (None: nothing allowed)."""
        method = self.recipe.method
        blockers = self.screening.method_blocks(method)
        if not blockers:
            return method
        fallback = _FALLBACK.get(method)
        if fallback is None or self.screening.method_blocks(fallback):
            for f in blockers:
                self.changes.append(
                    Change(
                        action="removed_method",
                        target=method.value,
                        rule=f.rule,
                        reason=f"{f.name}: {f.message}",
                        sources=list(f.sources),
                    )
                )
            return None
        for f in blockers:
            self.changes.append(
                Change(
                    action="replaced_method",
                    target=method.value,
                    rule=f.rule,
                    reason=(
                        f"{f.name}: {f.message} The same points are needled by "
                        f"{fallback.value} stimulation instead."
                    ),
                    sources=_unique([*f.sources, *self.recipe.source]),
                )
            )
        return fallback

    def _follow_arm_without_current(self) -> None:
        """Electrical stimulation was replaced: follow the trial's arm without current, when the
        protocol names one, so the plan's name, rationale and expected response report what the
        trial found for the arm given (Tu 2021: manual 58.6 % vs sham 47.3 %), not the electro
        arm's result. Same points, so the candidates and circuits already built stay valid."""
        arm_id = self.recipe.without_current
        if arm_id is None:
            return
        arm = self.kb.protocols[arm_id]
        self.warnings.append(
            f"Electrical stimulation is not given, so this plan follows {arm.name}: "
            "the trial's arm with the same points and no current, and reports its result."
        )
        self.recipe = arm

    def _depth_versus_trial(self) -> None:
        """Say when a depth limit takes the plan below the trial's minimum depth (Tu 2019
        protocol: at least 10 mm with de qi), so nobody reads the trial's result as this plan's."""
        minimum = self.recipe.min_depth_mm
        if minimum is None or self.screening.max_depth_cun is None:
            return
        self.warnings.append(
            f"The trial behind {self.recipe.id} needled at least {minimum:g} mm deep"
            + (f" and sought {self.recipe.response_sought}" if self.recipe.response_sought else "")
            + "; a safety rule limits depth here, so this plan departs from the trial and its "
            "result does not transfer."
        )

    def _lose_electro(self) -> Method | None:
        """Every electrode pair lost a needle: what is left is needled by the fallback method,
        unless a rule blocks that too (then nothing can be given)."""
        fallback = _FALLBACK[Method.ELECTRO]
        blockers = self.screening.method_blocks(fallback)
        self.changes.append(
            Change(
                action="removed_method" if blockers else "replaced_method",
                target=Method.ELECTRO.value,
                rule="no_electro_pair_left",
                reason=(
                    "No electrode pair is complete after the safety rules removed points"
                    + (
                        "."
                        if blockers
                        else f"; the remaining points are needled by {fallback.value} stimulation."
                    )
                ),
                sources=list(self.recipe.source),
            )
        )
        for f in blockers:
            self.changes.append(
                Change(
                    action="removed_method",
                    target=fallback.value,
                    rule=f.rule,
                    reason=f"{f.name}: {f.message}",
                    sources=list(f.sources),
                )
            )
        return None if blockers else fallback

    # -- points ----------------------------------------------------------------------------------

    def _sides(self, side: PointSide, code: str) -> tuple[Side, ...]:
        """Affected = the painful knee(s); bilateral = both; contralateral = the other leg
        (both legs when both knees hurt). A midline point is one needle (side ``both``)."""
        if self.kb.point(code).midline:
            return (Side.BOTH,)
        pain = self.intake.side
        if side == "affected":
            return pain.single_sides()
        if side == "contralateral" and pain is not Side.BOTH:
            return (Side.RIGHT,) if pain is Side.LEFT else (Side.LEFT,)
        return (Side.LEFT, Side.RIGHT)

    def _candidates(self) -> list[_Candidate]:
        """The protocol's points per side, with the pattern layer applied (before safety)."""
        pattern = self.pattern
        dropped = set(pattern.remove_points) if pattern else set()
        out: list[_Candidate] = []
        for pp in self.recipe.points:
            for side in self._sides(pp.side, pp.code):
                if pp.code in dropped:
                    assert pattern is not None
                    self._remove(
                        pp.code,
                        side,
                        rule=pattern.id,
                        reason=f"{pattern.name} (traditional theory) leaves this point out.",
                        sources=pattern.source,
                    )
                else:
                    out.append((pp.code, side, pp.role))
        if pattern is not None:
            present = {(code, side) for code, side, _ in out}
            for pp in pattern.add_points:
                for side in self._sides(pp.side, pp.code):
                    if (pp.code, side) in present:
                        continue
                    present.add((pp.code, side))
                    out.append((pp.code, side, "pattern"))
                    self.changes.append(
                        Change(
                            action="added_point",
                            target=pp.code,
                            side=side,
                            rule=pattern.id,
                            reason=f"{pattern.name}: added by traditional theory, not trial "
                            "evidence.",
                            sources=list(pattern.source),
                        )
                    )
        return out

    def _allowed(self, candidate: _Candidate) -> bool:
        """False (and the removal recorded) when any screening block covers the point."""
        code, side, _ = candidate
        blocks = self.screening.point_blocks(code, side)
        for block in blocks:
            self._remove(
                code, side, rule=block.rule, reason=block.reason, sources=self._of(block.rule)
            )
        return not blocks

    def _other_side(self, candidates: list[_Candidate], kept: list[_Candidate]) -> list[_Candidate]:
        """Points a rule removed from the painful leg, needled on the other leg instead when the
        rule's source allows it (a knee replacement: BMAS 2021, "distal points and the other knee
        may be used"; lymphoedema: avoid the affected limb, Filshie and Hester 2006) and nothing
        blocks them there. Only for one painful knee: with both, there is no other leg."""
        if self.intake.side is Side.BOTH:
            return []
        other = Side.RIGHT if self.intake.side is Side.LEFT else Side.LEFT
        rules = {f.rule: f for f in self.screening.findings if f.other_side_allowed}
        present = {(code, side) for code, side, _ in candidates}
        have = {(code, side) for code, side, _ in kept}
        added: list[_Candidate] = []
        for code, side, role in candidates:
            removed = self.removed.get((code, side))
            if side is Side.BOTH or removed is None or removed.rule not in rules:
                continue
            if (code, other) in have or (code, other) in present:
                continue
            if self.screening.point_blocks(code, other):
                continue
            finding = rules[removed.rule]
            have.add((code, other))
            added.append((code, other, role))
            self.changes.append(
                Change(
                    action="added_point",
                    target=code,
                    side=other,
                    rule=finding.rule,
                    reason=f"{finding.name}: needled on the other leg instead, as the rule "
                    f"allows. {finding.message}",
                    sources=list(finding.sources),
                )
            )
        return added

    def _remove(
        self, code: str, side: Side, *, rule: str, reason: str, sources: Iterable[str]
    ) -> None:
        change = Change(
            action="removed_point",
            target=code,
            side=side,
            rule=rule,
            reason=reason,
            sources=list(sources),
        )
        self.changes.append(change)
        self.removed.setdefault((code, side), change)

    def _planned(self, code: str, side: Side, role: Role) -> PlannedPoint:
        return planned_point(code, side, role, self.screening, self.kb)

    def _limit_depth(self) -> None:
        """Record each rule that caps depth (bleeding risk: a fixed maximum, not the shallow end
        of each point's range; BAcC, WHO 1999)."""
        for f in self.screening.depth_limit_rules():
            assert f.max_depth_cun is not None
            self.changes.append(
                Change(
                    action="limited_depth",
                    target="all points",
                    rule=f.rule,
                    reason=f"{f.name}: every point is needled no deeper than "
                    f"{f.max_depth_cun:g} cun. {f.message}",
                    sources=list(f.sources),
                )
            )

    # -- electroacupuncture pairs ----------------------------------------------------------------

    def _circuits(
        self, candidates: list[_Candidate], kept: list[_Candidate]
    ) -> list[ElectroCircuit]:
        """Each protocol pair on each side where both needles survive; a pair that lost a needle
        is dropped and the change names the rule that removed the needle."""
        assert self.recipe.electro is not None
        wanted = {(code, side) for code, side, _ in candidates}
        have = {(code, side) for code, side, _ in kept}
        circuits: list[ElectroCircuit] = []
        for a, b in self.recipe.electro.pairs:
            sides = [
                s
                for s in (Side.LEFT, Side.RIGHT, Side.BOTH)
                if (a, s) in wanted or (b, s) in wanted
            ]
            for side in sides:
                if (a, side) in have and (b, side) in have:
                    circuits.append(ElectroCircuit(a=a, b=b, side=side))
                    continue
                lost = next(
                    (self.removed[(c, side)] for c in (a, b) if (c, side) in self.removed), None
                )
                self.changes.append(
                    Change(
                        action="removed_electro_pair",
                        target=f"{a}-{b}",
                        side=side,
                        rule=lost.rule if lost else "pair_incomplete",
                        reason=(
                            f"A pair needs both needles; {lost.target} was removed ({lost.reason})."
                            if lost
                            else "A pair needs both needles and one is not planned on this side."
                        ),
                        sources=list(lost.sources) if lost else list(self.recipe.source),
                    )
                )
        return circuits

    # -- Ashi points ------------------------------------------------------------------------------

    def _ashi_sides(self, candidates: list[_Candidate]) -> list[Side]:
        """Knees on which Ashi points may be needled.

        Ashi points are tender points in the painful area around the knee. When one rule blocks
        every local point of the protocol on a side, or every point of the knowledge base local
        to that knee (a knee prosthesis, a tumour, unhealthy skin or lymphoedema: WHO 1999; ASAP
        guidance), that side's Ashi points are blocked too, whatever the protocol's own points
        (a protocol may count a point outside the knee, such as GB31, among its local ones).
        When a rule blocks only some local points there, Ashi points stay but carry a warning.
        """
        if not self.recipe.ashi_points:
            return []
        sides: list[Side] = []
        for side in self.intake.pain_sides:
            local = [c for c, s, role in candidates if s in (side, Side.BOTH) and role == "local"]
            whole = knee_closed_by(self.screening, self.kb, side)
            partial = None
            for f in self.screening.findings if whole is None else ():
                closed = {b.code for b in f.blocked_points if b.side.covers(side)}
                hit = [c for c in local if c in closed]
                if hit and len(hit) == len(local):
                    whole = f
                    break
                if hit and partial is None:
                    partial = f
            if whole is not None:
                self.changes.append(
                    Change(
                        action="removed_point",
                        target="Ashi",
                        side=side,
                        rule=whole.rule,
                        reason=(
                            f"Ashi points lie around the painful knee, where {whole.name} blocks "
                            "every local point."
                        ),
                        sources=list(whole.sources),
                    )
                )
                continue
            if partial is not None:
                self.warnings.append(
                    f"Ashi points on the {side.value} knee: keep away from the area "
                    f"{partial.name} protects ({partial.message})"
                )
            sides.append(side)
        return sides

    # -- warnings ---------------------------------------------------------------------------------

    def _warn(self, kept: list[_Candidate]) -> None:
        """Carry every applying precaution, each warned point that stays, routine referrals and
        the needle limit, so nothing the screening said is lost."""
        planned = {code for code, _, _ in kept}
        for f in self.screening.findings:
            self.warnings.append(f"{f.name}: {f.message}")
            for code in f.warn_points:
                members = (
                    {code, *self.kb.points[code].alias_for} if code in self.kb.points else {code}
                )
                hits = sorted(members & planned)
                for hit in hits:
                    self.warnings.append(f"Caution at {hit}: {f.name}.")
                    self.changes.append(
                        Change(
                            action="warned",
                            target=hit,
                            rule=f.rule,
                            reason=f"{f.name}: {f.message}",
                            sources=list(f.sources),
                        )
                    )
        for r in self.screening.referrals:
            if not r.urgency.blocks_plan:
                self.warnings.append(f"Refer alongside acupuncture ({r.name}): {r.action}")
        limit = self.screening.max_needle_diameter_mm
        if limit is not None:
            names = "; ".join(f.name for f in self.screening.needle_limit_rules())
            self.warnings.append(f"Use needles no thicker than {limit} mm ({names}).")

    def _warn_method(self, method: Method | None) -> None:
        """A precaution on the plan's method (e.g. electro with reduced sensation) is a warning
        and a recorded change, not a block."""
        for f in self.screening.findings:
            if method is not None and method in f.warn_methods:
                self.warnings.append(f"Caution with {method.value} stimulation: {f.name}.")
                self.changes.append(
                    Change(
                        action="warned",
                        target=method.value,
                        rule=f.rule,
                        reason=f"{f.name}: {f.message}",
                        sources=list(f.sources),
                    )
                )

    # -- words ------------------------------------------------------------------------------------

    def _refusal(self, method: Method | None) -> list[str]:
        recipe = self.recipe
        if method is None:
            why = ", ".join(c.reason for c in self.changes if c.action == "removed_method")
            return [
                f"{recipe.method.value} stimulation is not allowed and has no substitute: {why}"
            ]
        rules = sorted({c.rule for c in self.changes if c.action == "removed_point"})
        return [
            f"No point of protocol {recipe.id} can be needled after the safety rules "
            f"({', '.join(rules)}). Consider distal points chosen by TCM diagnosis (turn on the "
            "pattern layer, as GERAC allows) or care other than needling."
        ]

    def _rationale(self, cause: Cause, severity: Severity | None) -> str:
        recipe = self.recipe
        parts = [f"Likely cause: {cause.phrase}"]
        if severity is not None:
            parts[0] += f" ({severity.value})"
        parts[0] += "."
        parts += [f"Protocol: {recipe.name}.", recipe.rationale]
        if self.pattern is not None:
            parts.append(
                f"Pattern layer: {self.pattern.name}, traditional theory, not trial evidence."
            )
        parts.append(f"Evidence level {recipe.evidence_level.value}: {recipe.expected_response}")
        parts.append("Sources: " + ", ".join(self._sources()) + ".")
        return " ".join(" ".join(p.split()) for p in parts)

    def _sources(self) -> list[str]:
        ids = list(self.recipe.source)
        if self.pattern is not None:
            ids += self.pattern.source
        ids += [s for c in self.changes for s in c.sources]
        ids += [s for f in self.screening.findings for s in f.sources]
        ids += [s for r in self.screening.referrals for s in r.sources]
        return _unique(ids)

    def _of(self, rule: str) -> list[str]:
        return [s for f in self.screening.findings if f.rule == rule for s in f.sources]


def _cause(assessment: AssessmentLike | None, prefs: Preferences, kb: KnowledgeBase) -> Cause:
    if assessment is not None:
        return assessment.likely_cause
    chosen = kb.protocols.get(prefs.protocol) if prefs.protocol else None
    return chosen.cause if chosen is not None else Cause.UNSPECIFIED


def _pattern(
    prefs: Preferences, kb: KnowledgeBase, screening: Screening
) -> tuple[Pattern | None, list[str]]:
    """The pattern to apply: only when the practitioner turns the layer on and names one, and
    never while one of its ``not_with_red_flags`` stands (the damp-heat pattern describes a hot
    swollen knee, which is septic until proven otherwise: BSR/BHPR 2006)."""
    if prefs.pattern is None:
        if prefs.use_patterns:
            return None, ["The pattern layer is on but no pattern was named; none was applied."]
        return None, []
    pattern = kb.patterns.get(prefs.pattern)
    if pattern is None:
        known = ", ".join(sorted(kb.patterns)) or "none"
        raise InvalidInput(
            "preferences.pattern", f"unknown pattern {prefs.pattern!r}; known patterns: {known}"
        )
    if not prefs.use_patterns:
        return None, [f"Pattern {pattern.id} was named but the pattern layer is off; not applied."]
    standing = [r.name for r in screening.referrals if r.rule in pattern.not_with_red_flags]
    if standing:
        return None, [
            f"Pattern {pattern.id} is not applied while this red flag stands: "
            + "; ".join(standing)
            + "."
        ]
    return pattern, []


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
