"""The evidence data (``trials.toml``): trials, comparisons, pooled reviews, guideline stances.

``load_evidence()`` validates the file once with pydantic: every entry cites at least one source
defined in ``[sources]``, every comparison names a known trial and analysis and carries the
numbers its ``kind`` needs. A bad file raises ``EvidenceDataError`` naming the entry, so it fails
the tests rather than the page.

``comparison_effect`` turns a comparison into an effect size with ``meta`` (SMD from arm means,
or from a published mean difference and its interval; log risk ratio from events), oriented so
that a positive value favours acupuncture.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from acuknee.evidence.meta import EffectSize, log_risk_ratio, smd

Comparator = Literal["sham", "usual_care", "no_acupuncture", "waiting_list", "active_control"]
"""How the trial classed its control arm. ``usual_care``: the care patients would have had anyway
(GERAC's guideline-based conservative therapy); ``no_acupuncture``: no added treatment (Hinman
2014); ``waiting_list``: acupuncture deferred (Witt 2005); ``active_control``: another active
treatment given to both arms, acupuncture added on top (Foster 2007's advice and exercise);
``sham``: simulated acupuncture."""
Kind = Literal["arm_means", "arm_means_se", "mean_difference", "events", "rates"]
Stance = Literal["conditional_for", "limited_for", "not_recommended", "not_verified"]

COMPARATOR_LABELS: dict[str, str] = {
    "sham": "sham",
    "usual_care": "usual care",
    "no_acupuncture": "no acupuncture",
    "waiting_list": "waiting list",
    "active_control": "an active treatment given to both arms (acupuncture added on top)",
}
STANCE_LABELS: dict[str, str] = {
    "conditional_for": "Conditional recommendation for",
    "limited_for": "Limited-strength recommendation for",
    "not_recommended": "Not recommended",
    "not_verified": "Level not verified",
}
Z_95 = 1.959963984540054
"""The 97.5 % normal quantile: published 95 % intervals are taken as estimate -/+ Z_95 * SE."""

SourceIds = Annotated[list[str], Field(min_length=1)]


class EvidenceDataError(ValueError):
    """``trials.toml`` does not validate; the message names the entry and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Model):
    source: SourceIds


class Source(_Model):
    id: str
    citation: str
    url: str | None = None
    note: str | None = None


class Meta(_Model):
    title: str
    version: str
    licence: str
    description: str | None = None


class Trial(Sourced):
    id: str
    name: str
    design: str
    n: int = Field(gt=0)
    arms: list[str] = Field(min_length=2)
    primary_outcome: str
    result: str


_NEEDS: dict[str, tuple[str, ...]] = {
    "arm_means": ("mean1", "sd1", "n1", "mean2", "sd2", "n2"),
    "arm_means_se": ("mean1", "se1", "n1", "mean2", "se2", "n2"),
    "mean_difference": ("md", "ci_low", "ci_high"),
    "events": ("events1", "n1", "events2", "n2"),
    "rates": ("rate1", "rate2"),
}


class Comparison(Sourced):
    """Acupuncture (group 1) vs one control arm (group 2) of one trial, as published."""

    id: str
    trial: str
    comparator: Comparator
    intervention: str
    control: str
    outcome: str
    timepoint: str
    higher_is_better: bool
    kind: Kind
    analysis: str | None = None
    plain_outcome: str | None = None
    mean1: float | None = None
    mean2: float | None = None
    sd1: float | None = Field(default=None, gt=0)
    sd2: float | None = Field(default=None, gt=0)
    se1: float | None = Field(default=None, gt=0)
    se2: float | None = Field(default=None, gt=0)
    n1: int | None = Field(default=None, gt=0)
    n2: int | None = Field(default=None, gt=0)
    md: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    events1: int | None = Field(default=None, ge=0)
    events2: int | None = Field(default=None, ge=0)
    rate1: float | None = Field(default=None, ge=0, le=100)
    rate2: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _has_numbers_for_kind(self) -> Comparison:
        missing = [f for f in _NEEDS[self.kind] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"kind {self.kind!r} needs {', '.join(missing)}")
        if self.kind == "mean_difference":
            assert self.ci_low is not None
            assert self.ci_high is not None
            assert self.md is not None
            if not self.ci_low <= self.md <= self.ci_high:
                raise ValueError("md must lie within ci_low..ci_high")
            if (self.n1 is None) != (self.n2 is None):
                raise ValueError("give both n1 and n2, or neither")
        if self.analysis is not None and not self.poolable:
            raise ValueError("only a comparison with an effect size and its variance can be pooled")
        return self

    @property
    def comparator_label(self) -> str:
        return COMPARATOR_LABELS[self.comparator]

    @property
    def poolable(self) -> bool:
        """Enough numbers for an effect size with a variance (for ``mean_difference``: the ns)."""
        if self.kind == "rates":
            return False
        return self.kind != "mean_difference" or self.n1 is not None

    @property
    def derived(self) -> str | None:
        """How an SD was derived, when it was not published (shown beside the trial)."""
        if self.kind == "arm_means_se":
            return "SD derived as SE × √n from the published arm standard errors"
        if self.kind == "mean_difference" and self.n1 is not None:
            return "pooled SD derived from the published 95 % interval of the difference"
        return None


class Analysis(_Model):
    """A pooled analysis; its comparisons must all have a control of one of ``comparators``."""

    id: str
    comparators: Annotated[list[Comparator], Field(min_length=1)]
    label: str
    title: str
    measure: Literal["SMD"]
    note: str


class Review(Sourced):
    """A pooled review as published. ``estimate`` and its interval are left out when the review's
    figure for this condition could not be read; ``finding`` then says what was read."""

    id: str
    name: str
    comparator: Comparator
    scope: str
    outcome: str
    measure: str
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    finding: str | None = None
    interpretation: str

    @model_validator(mode="after")
    def _figure_or_finding(self) -> Review:
        numbers = (self.estimate, self.ci_low, self.ci_high)
        if any(n is None for n in numbers) and not all(n is None for n in numbers):
            raise ValueError("give estimate, ci_low and ci_high together, or none of them")
        if self.estimate is None and not self.finding:
            raise ValueError("a review without an estimate needs a finding")
        return self

    @property
    def comparator_label(self) -> str:
        return COMPARATOR_LABELS[self.comparator]


class Guideline(Sourced):
    """A guideline's stance. ``quote`` is the recommendation in the guideline's own words with its
    number (``recommendation``); ``quote_checked`` is False when the words were read only in
    restatements of the guideline, which ``quote_note`` names, so the page says so."""

    id: str
    name: str
    stance: Stance
    wording: str
    rationale: str
    recommendation: str | None = None
    quote: str | None = None
    quote_checked: bool = False
    quote_note: str | None = None

    @property
    def stance_label(self) -> str:
        return STANCE_LABELS[self.stance]


class PatientNote(Sourced):
    """One statement of the patient page, with its figures, kept in data beside its sources."""

    id: str
    text: str


class PatientPage(_Model):
    """What the patient page says beyond the trial pictures: the common minor harms with their
    frequencies, and the core treatments for knee osteoarthritis."""

    harms_intro: str
    harms: Annotated[list[PatientNote], Field(min_length=1)]
    core_treatments: Annotated[list[PatientNote], Field(min_length=1)]


class Evidence(_Model):
    meta: Meta
    sources: dict[str, Source]
    trials: list[Trial]
    comparisons: list[Comparison]
    analyses: list[Analysis]
    reviews: list[Review]
    guidelines: list[Guideline]
    patient_page: PatientPage

    def trial(self, trial_id: str) -> Trial:
        return next(t for t in self.trials if t.id == trial_id)

    def cite(self, ids: list[str]) -> list[Source]:
        return [self.sources[i] for i in ids]

    def in_analysis(self, analysis_id: str) -> list[Comparison]:
        return [c for c in self.comparisons if c.analysis == analysis_id]


def _problems(ev: Evidence) -> list[str]:
    problems: list[str] = []
    sourced: list[tuple[str, Sourced]] = [
        *((f"trial {t.id}", t) for t in ev.trials),
        *((f"comparison {c.id}", c) for c in ev.comparisons),
        *((f"review {r.id}", r) for r in ev.reviews),
        *((f"guideline {g.id}", g) for g in ev.guidelines),
        *((f"patient page {n.id}", n) for n in ev.patient_page.harms),
        *((f"patient page {n.id}", n) for n in ev.patient_page.core_treatments),
    ]
    for where, entry in sourced:
        problems += [f"{where}: unknown source {s!r}" for s in entry.source if s not in ev.sources]
    for kind, ids in (
        ("trial", [t.id for t in ev.trials]),
        ("comparison", [c.id for c in ev.comparisons]),
        ("analysis", [a.id for a in ev.analyses]),
    ):
        problems += [f"duplicate {kind} id {i!r}" for i in sorted(set(ids)) if ids.count(i) > 1]
    trial_ids = {t.id for t in ev.trials}
    analyses = {a.id: a for a in ev.analyses}
    for c in ev.comparisons:
        if c.trial not in trial_ids:
            problems.append(f"comparison {c.id}: unknown trial {c.trial!r}")
        if c.analysis is not None:
            if c.analysis not in analyses:
                problems.append(f"comparison {c.id}: unknown analysis {c.analysis!r}")
            elif c.comparator not in analyses[c.analysis].comparators:
                problems.append(f"comparison {c.id}: comparator differs from its analysis")
    return problems


def build_evidence(raw: str, name: str = "trials.toml") -> Evidence:
    """Validate the TOML text; raise ``EvidenceDataError`` naming the file and entry."""
    try:
        data: dict[str, Any] = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise EvidenceDataError(f"{name}: not valid TOML: {exc}") from exc
    data["sources"] = {sid: {"id": sid, **body} for sid, body in data.get("sources", {}).items()}
    try:
        ev = Evidence.model_validate(data)
    except ValidationError as exc:
        raise EvidenceDataError(f"{name}: {exc}") from exc
    problems = _problems(ev)
    if problems:
        raise EvidenceDataError(f"{name}: " + "; ".join(problems))
    return ev


@cache
def load_evidence() -> Evidence:
    """The packaged ``trials.toml``, validated once per process."""
    raw = (resources.files("acuknee.evidence") / "trials.toml").read_text(encoding="utf-8")
    return build_evidence(raw)


@dataclass(frozen=True)
class ArmSummary:
    """Means, SDs and ns used for an SMD (SDs may be derived; see ``Comparison.derived``)."""

    mean1: float
    sd1: float
    n1: int
    mean2: float
    sd2: float
    n2: int


def arm_summary(c: Comparison) -> ArmSummary | None:
    """The arm-level numbers behind a continuous comparison's SMD, or None for other kinds.

    For a published mean difference the two arms are put at (md, 0) with the common SD derived
    from its interval, which gives the same SMD as the difference itself.
    """
    if c.kind == "arm_means":
        assert c.mean1 is not None
        assert c.sd1 is not None
        assert c.n1 is not None
        assert c.mean2 is not None
        assert c.sd2 is not None
        assert c.n2 is not None
        return ArmSummary(c.mean1, c.sd1, c.n1, c.mean2, c.sd2, c.n2)
    if c.kind == "arm_means_se":
        assert c.mean1 is not None
        assert c.se1 is not None
        assert c.n1 is not None
        assert c.mean2 is not None
        assert c.se2 is not None
        assert c.n2 is not None
        sd1, sd2 = c.se1 * math.sqrt(c.n1), c.se2 * math.sqrt(c.n2)
        return ArmSummary(c.mean1, sd1, c.n1, c.mean2, sd2, c.n2)
    if c.kind == "mean_difference" and c.n1 is not None and c.n2 is not None:
        assert c.md is not None
        assert c.ci_low is not None
        assert c.ci_high is not None
        se = (c.ci_high - c.ci_low) / (2 * Z_95)
        sd = se / math.sqrt(1 / c.n1 + 1 / c.n2)
        return ArmSummary(c.md, sd, c.n1, 0.0, sd, c.n2)
    return None


def comparison_effect(c: Comparison) -> tuple[str, EffectSize] | None:
    """The comparison's effect size (measure name, effect), positive favouring acupuncture.

    SMD (Hedges' g) for continuous outcomes, log risk ratio for responder counts; None when the
    published numbers do not allow one (rates without ns, a difference without arm sizes).
    """
    if c.kind == "events":
        assert c.events1 is not None
        assert c.n1 is not None
        assert c.events2 is not None
        assert c.n2 is not None
        es = log_risk_ratio(c.events1, c.n1, c.events2, c.n2)
        return ("log RR", es if c.higher_is_better else EffectSize(-es.yi, es.vi))
    arms = arm_summary(c)
    if arms is None:
        return None
    es = smd(arms.mean1, arms.sd1, arms.n1, arms.mean2, arms.sd2, arms.n2)
    return ("SMD", es if c.higher_is_better else EffectSize(-es.yi, es.vi))
