"""Screening: red flags become referrals; contraindications and precautions become blocks,
limits and warnings on points and methods, before anyone needles.

Every rule is data in ``knowledge/safety.toml`` with its source; this module only applies them.
``screen`` is pure and deterministic: the same intake and knowledge base give the same screening.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acuknee.clinical.base import CoreModel
from acuknee.clinical.conditions import resolve
from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.intake import Intake, SkinSite, UnansweredQuestion, unanswered_red_flags
from acuknee.clinical.knowledge import (
    KnowledgeBase,
    Point,
    RedFlag,
    SafetyRule,
    expand_codes,
    load_knowledge,
)
from acuknee.clinical.vocabulary import Limb, Method, RuleKind, Side, Urgency


class Referral(CoreModel):
    """A red flag that fired: refer instead of (emergency, urgent) or beside (routine) needling."""

    rule: str
    name: str
    urgency: Urgency
    action: str
    reason: str
    findings: list[str]
    sources: list[str]
    next_step: str = ""  # what the receiving service will do next ("" in records stored before)


class PointBlock(CoreModel):
    """A point that must not be needled on ``side`` (``both`` = either side), and why.

    ``overridable`` is False when no plan override may lift the block (pregnancy)."""

    code: str
    side: Side
    rule: str
    reason: str
    overridable: bool = True


class SafetyFinding(CoreModel):
    """A contraindication or precaution that applies to this patient, with what it changes."""

    rule: str
    name: str
    kind: RuleKind
    message: str
    findings: list[str]
    sources: list[str]
    blocks_treatment: bool = False
    blocked_methods: list[Method] = []
    blocked_points: list[PointBlock] = []
    limit_depth: str | None = None
    max_depth_cun: float | None = None
    max_needle_diameter_mm: float | None = None
    warn_points: list[str] = []
    warn_methods: list[Method] = []
    other_side_allowed: bool = False
    area_sides: list[Side] = []
    """The sides on which this rule closes an area (a skin region, the knee, a whole leg)
    rather than named points: a standard point the knowledge base has no location for cannot be
    placed in or out of that area, so a session refuses it there (``session_check``)."""


class Screening(CoreModel):
    """Referrals, safety findings and the red-flag questions left unanswered.

    ``unanswered_red_flags`` does not change ``plan_allowed``: the core reports it as a note, and
    the caller decides whether planning may go ahead (the clinic app's care layer refuses it)."""

    referrals: list[Referral] = []
    findings: list[SafetyFinding] = []
    unanswered_red_flags: list[UnansweredQuestion] = []

    @property
    def unanswered_note(self) -> str | None:
        """A note naming the red-flag questions not asked, or None when all were answered."""
        if not self.unanswered_red_flags:
            return None
        asked = "; ".join(q.question for q in self.unanswered_red_flags)
        return (
            f"{len(self.unanswered_red_flags)} red-flag question(s) not answered (not asked is "
            f"not 'no'): {asked}."
        )

    @property
    def plan_allowed(self) -> bool:
        """False when an emergency/urgent referral or a block on all treatment applies."""
        return not self.refusal_reasons

    @property
    def refusal_reasons(self) -> list[str]:
        reasons = [
            f"{r.name}: {r.action} ({r.urgency.value})"
            for r in self.referrals
            if r.urgency.blocks_plan
        ]
        reasons += [f"{f.name}: {f.message}" for f in self.findings if f.blocks_treatment]
        return reasons

    def point_blocks(self, code: str, side: Side) -> list[PointBlock]:
        """The blocks that stop ``code`` being needled on ``side``."""
        return [
            b
            for f in self.findings
            for b in f.blocked_points
            if b.code == code and b.side.covers(side)
        ]

    def method_blocks(self, method: Method) -> list[SafetyFinding]:
        return [f for f in self.findings if method in f.blocked_methods]

    @property
    def max_depth_cun(self) -> float | None:
        """The shallowest fixed maximum depth any applying rule sets (None: no limit)."""
        limits = [f.max_depth_cun for f in self.findings if f.max_depth_cun]
        return min(limits) if limits else None

    def depth_limit_rules(self) -> list[SafetyFinding]:
        return [f for f in self.findings if f.max_depth_cun]

    def needle_limit_rules(self) -> list[SafetyFinding]:
        return [f for f in self.findings if f.max_needle_diameter_mm]

    @property
    def max_needle_diameter_mm(self) -> float | None:
        limits = [f.max_needle_diameter_mm for f in self.findings if f.max_needle_diameter_mm]
        return min(limits) if limits else None


# --- applying the rules -------------------------------------------------------------------------

_URGENCY_ORDER = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}
_SIDE_ORDER = {Side.BOTH: 0, Side.LEFT: 1, Side.RIGHT: 2}
_Adder = Callable[[Iterable[str], Side, str], None]


def knee_closed_by(screening: Screening, kb: KnowledgeBase, side: Side) -> SafetyFinding | None:
    """The finding that blocks every point of the knowledge base local to the knee on ``side``
    (a knee prosthesis, a tumour, unhealthy skin or lymphoedema there: WHO 1999; ASAP guidance),
    or None. Ashi points are tender points around the painful knee, so where such a rule closes
    the knee they are closed too, in the plan (``planning``) and in a session
    (``session_check``) alike."""
    knee = [p.code for p in kb.points.values() if _is_local(kb, p)]
    if not knee:
        return None
    for finding in screening.findings:
        closed = {b.code for b in finding.blocked_points if b.side.covers(side)}
        if closed.issuperset(knee):
            return finding
    return None


def screen(intake: Intake, kb: KnowledgeBase | None = None) -> Screening:
    """Evaluate every red flag and safety rule in the knowledge base against ``intake``.

    Red flags become referrals, most urgent first (sources: G-care and Cornwall knee pathways,
    Ottawa knee rule, Stiell 1995/1996; BSR 2006 hot swollen joint; NICE two-level Wells score).
    Contraindications and precautions become findings whose effects are expanded into concrete
    point blocks per side (sources: WHO 1999 acupuncture safety guidelines, BAcC, BMAS, ASAP-based
    guidance); every entry names its sources in ``knowledge/safety.toml``.
    """
    kb = load_knowledge() if kb is None else kb
    _check_skin_regions(intake, kb, "skin_lesions")
    _check_skin_regions(intake, kb, "reduced_sensation_sites")
    referrals = [
        _referral(flag, intake) for flag in kb.red_flags.values() if flag.when.holds(intake)
    ]
    referrals.sort(key=lambda r: _URGENCY_ORDER[r.urgency])
    findings = [
        _finding(rule, intake, kb) for rule in kb.safety_rules.values() if rule.when.holds(intake)
    ]
    return Screening(
        referrals=referrals, findings=findings, unanswered_red_flags=unanswered_red_flags(intake)
    )


def _check_skin_regions(intake: Intake, kb: KnowledgeBase, name: str) -> None:
    """A site in an unknown region would silently block nothing, so it is an input error."""
    if not kb.regions:
        return  # no anatomy loaded: nothing to check against (and nothing to block)
    sites: list[SkinSite] = getattr(intake.health, name)
    for index, site in enumerate(sites):
        if site.region not in kb.regions:
            known = ", ".join(sorted(kb.regions))
            raise InvalidInput(
                f"health.{name}.{index}.region",
                f"unknown region {site.region!r}; expected one of: {known}",
            )


def _referral(flag: RedFlag, intake: Intake) -> Referral:
    return Referral(
        rule=flag.id,
        name=flag.name,
        urgency=flag.urgency,
        action=flag.action,
        reason=flag.reason,
        findings=flag.when.met_fields(intake),
        sources=list(flag.source),
        next_step=flag.next_step,
    )


def _finding(rule: SafetyRule, intake: Intake, kb: KnowledgeBase) -> SafetyFinding:
    effects = rule.effects
    warned = _dedupe(
        [
            *effects.warn_points,
            *_tagged(kb, effects.warn_points_tagged),
            *_in_regions(kb, _sites(intake, effects.warn_regions_from)),
        ],
    )
    depth = effects.max_depth_cun
    return SafetyFinding(
        rule=rule.id,
        name=rule.name,
        kind=rule.kind,
        message=rule.message,
        findings=rule.when.met_fields(intake),
        sources=list(rule.source),
        blocks_treatment=effects.block_treatment,
        blocked_methods=list(effects.block_methods),
        blocked_points=_point_blocks(rule, intake, kb),
        limit_depth=f"no deeper than {depth:g} cun at any point" if depth else None,
        max_depth_cun=depth,
        max_needle_diameter_mm=effects.max_needle_diameter_mm,
        warn_points=warned,
        warn_methods=list(effects.warn_methods),
        other_side_allowed=effects.other_side_allowed,
        area_sides=_area_sides(rule, intake),
    )


def _area_sides(rule: SafetyRule, intake: Intake) -> list[Side]:
    effects = rule.effects
    sides = [Side(site.side) for site in _sites(intake, effects.block_regions_from)]
    for path in (effects.block_local_on_side_from, effects.block_limb_on_side_from):
        if path:
            side = _side(intake, path)
            if side is not None:
                sides.append(side)
    return list(dict.fromkeys(sides))


def _point_blocks(rule: SafetyRule, intake: Intake, kb: KnowledgeBase) -> list[PointBlock]:
    """Expand a rule's effects into one block per point and side.

    Side-free effects (named points, tags) block on both sides, which also covers hand and trunk
    points. Sided effects take the side recorded in the intake field they name: a lesion blocks
    points in its region on its side, a knee prosthesis or tumour blocks points local to the knee
    on that side, lymphoedema blocks every point of the lower limb on that side.
    """
    effects = rule.effects
    blocks: dict[tuple[str, Side], str] = {}

    def add(codes: Iterable[str], side: Side, why: str) -> None:
        for code in codes:
            if (code, Side.BOTH) in blocks or (code, side) in blocks:
                continue
            if side is Side.BOTH:
                blocks.pop((code, Side.LEFT), None)
                blocks.pop((code, Side.RIGHT), None)
            blocks[(code, side)] = why

    named = effects.block_reason or "a point this rule names"
    add(effects.block_points, Side.BOTH, named)
    add(_tagged(kb, effects.block_points_tagged), Side.BOTH, named)
    add(expand_codes(effects.block_codes), Side.BOTH, named)
    if effects.block_regions_from:
        for site in _sites(intake, effects.block_regions_from):
            in_region = [p.code for p in kb.points.values() if p.region == site.region]
            region = kb.regions.get(site.region)
            add(
                in_region,
                Side(site.side),
                f"in the area recorded ({region.name if region else site.region})",
            )
    if effects.block_local_on_side_from:
        side = _side(intake, effects.block_local_on_side_from)
        if side is not None:
            add(_where(kb, lambda p: _is_local(kb, p)), side, "local to the knee")
    if effects.block_limb_on_side_from:
        side = _side(intake, effects.block_limb_on_side_from)
        if side is not None:
            add(_where(kb, lambda p: _is_lower_limb(kb, p)), side, "on the affected leg")
    _add_aliases(kb, blocks, add)

    order = {code: i for i, code in enumerate(kb.points)}
    keys = sorted(blocks, key=lambda k: (order.get(k[0], len(order)), k[0], _SIDE_ORDER[k[1]]))
    return [
        PointBlock(
            code=code,
            side=side,
            rule=rule.id,
            reason=f"{rule.name}: {blocks[(code, side)]}",
            overridable=effects.overridable,
        )
        for code, side in keys
    ]


def _add_aliases(kb: KnowledgeBase, blocks: dict[tuple[str, Side], str], add: _Adder) -> None:
    """EX-LE5 (both knee eyes) stands for ST35 + EX-LE4: blocking either blocks the other."""
    for point in kb.points.values():
        for code, side in list(blocks):
            if code in point.alias_for:
                add([point.code], side, f"includes blocked point {code}")
            elif code == point.code:
                add(point.alias_for, side, f"within blocked point {code}")


def _side(intake: Intake, path: str) -> Side | None:
    value = resolve(intake, path)
    return None if value is None else Side(value)


def _tagged(kb: KnowledgeBase, tags: Iterable[str]) -> list[str]:
    wanted = set(tags)
    return [p.code for p in kb.points.values() if wanted & set(p.tags)]


def _sites(intake: Intake, path: str | None) -> list[SkinSite]:
    return (resolve(intake, path) or []) if path else []


def _in_regions(kb: KnowledgeBase, sites: Iterable[SkinSite]) -> list[str]:
    """Points of the knowledge base in the regions of ``sites`` (either side: a warning)."""
    regions = {s.region for s in sites}
    return [p.code for p in kb.points.values() if p.region in regions]


def _where(kb: KnowledgeBase, keep: Callable[[Point], bool]) -> list[str]:
    return [p.code for p in kb.points.values() if keep(p)]


def _is_local(kb: KnowledgeBase, point: Point) -> bool:
    region = kb.regions.get(point.region)
    return region is not None and region.local_to_knee


def _is_lower_limb(kb: KnowledgeBase, point: Point) -> bool:
    region = kb.regions.get(point.region)
    return region is not None and region.limb is Limb.LOWER


def _dedupe(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))
