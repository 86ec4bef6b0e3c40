"""Screening: red flags become referrals; contraindications and precautions become blocks,
limits and warnings on points and methods, before anyone needles.

Every rule is data in ``knowledge/safety.toml`` with its source; this module only applies them.
"""

from __future__ import annotations

from acuknee.clinical.base import CoreModel
from acuknee.clinical.vocabulary import Method, RuleKind, Side, Urgency


class Referral(CoreModel):
    """A red flag that fired: refer instead of (emergency/urgent) or alongside (routine) needling."""

    rule: str
    name: str
    urgency: Urgency
    action: str
    reason: str
    findings: list[str]
    sources: list[str]


class PointBlock(CoreModel):
    """A point that must not be needled on ``side`` (``both`` = either side), and why."""

    code: str
    side: Side
    rule: str
    reason: str


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
    max_needle_diameter_mm: float | None = None
    warn_points: list[str] = []


class Screening(CoreModel):
    referrals: list[Referral] = []
    findings: list[SafetyFinding] = []

    @property
    def plan_allowed(self) -> bool:
        """False when an emergency/urgent referral or a block on all treatment applies."""
        return not self.refusal_reasons

    @property
    def refusal_reasons(self) -> list[str]:
        reasons = [
            f"{r.name}: {r.action} ({r.urgency.value})" for r in self.referrals if r.urgency.blocks_plan
        ]
        reasons += [f"{f.name}: {f.message}" for f in self.findings if f.blocks_treatment]
        return reasons

    def point_blocks(self, code: str, side: Side) -> list[PointBlock]:
        """The blocks that stop ``code`` being needled on ``side``."""
        return [
            b for f in self.findings for b in f.blocked_points if b.code == code and b.side.covers(side)
        ]

    def method_blocks(self, method: Method) -> list[SafetyFinding]:
        return [f for f in self.findings if method in f.blocked_methods]

    @property
    def depth_limit(self) -> str | None:
        limits = {f.limit_depth for f in self.findings if f.limit_depth}
        return "superficial" if limits else None

    @property
    def max_needle_diameter_mm(self) -> float | None:
        limits = [f.max_needle_diameter_mm for f in self.findings if f.max_needle_diameter_mm]
        return min(limits) if limits else None
