"""Assessment: knee OA criteria, the likely cause of knee pain and a pain severity band.

This is **decision support for a qualified practitioner, not a diagnosis**. It reports

- the ACR 1986 *classification* criteria for knee OA (Altman et al. 1986, Arthritis Rheum
  29:1039): criteria built to define comparable groups for research, **not diagnostic criteria**;
- whether NICE NG226's clinical-diagnosis criteria (rec 1.1.1) are met;
- the likely cause from ``[[cause_rule]]`` entries, the findings that made it likely and the other
  causes that also matched;
- a severity band from the average-pain NRS, with KOOS Pain reported beside it.

Every criterion, rule and band is data in ``knowledge/assessment.toml`` with its source. An item
is *unknown* (``None``) when the intake did not record a finding it reads; a set's answer is
``None`` only when the unknown items could still change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

from acuknee.clinical import instruments
from acuknee.clinical.base import CoreModel
from acuknee.clinical.conditions import Condition, resolve
from acuknee.clinical.errors import KnowledgeError
from acuknee.clinical.intake import Intake
from acuknee.clinical.knowledge import (
    CauseRule,
    CriteriaSet,
    Criterion,
    KnowledgeBase,
    SeverityBand,
    load_knowledge,
)
from acuknee.clinical.numbers import format_number
from acuknee.clinical.vocabulary import Cause, Severity

ACR_CLINICAL = "acr1986_clinical"
ACR_LABORATORY = "acr1986_clinical_laboratory"
ACR_RADIOGRAPHIC = "acr1986_clinical_radiographic"
NICE = "nice_ng226"
PAIN_NRS = "pain_nrs"
PAIN_NRS_SUBSCALE = "average_last_week"
SEVERITY_MEASURE = f"{PAIN_NRS}.{PAIN_NRS_SUBSCALE}"
KOOS = "koos"
KOOS_PAIN = "pain"

DISCLAIMER = (
    "Decision support for a qualified practitioner, not a diagnosis. The ACR 1986 sets are "
    "classification criteria for research, not diagnostic criteria."
)


class CriterionResult(CoreModel):
    """One item of a criteria set for this intake; ``met`` is None when a finding is unrecorded."""

    id: str
    label: str
    met: bool | None


class CriteriaResult(CoreModel):
    """A criteria set applied to one intake.

    ``classified`` is True when the set is fulfilled (for ACR: classified as knee OA; for NICE: the
    clinical-diagnosis criteria are met), False when it cannot be fulfilled whatever the unknown
    items turn out to be, and None when the unknown items could still change the answer.
    ``mandatory`` items must all be met; at least ``required_count`` of ``items`` must be met.
    """

    id: str
    name: str
    kind: Literal["classification", "diagnosis"]
    mandatory: list[CriterionResult]
    items: list[CriterionResult]
    met_count: int
    unknown_count: int
    required_count: int
    classified: bool | None
    sensitivity_percent: float | None
    specificity_percent: float | None
    performance_sources: list[str]
    sources: list[str]
    note: str | None


class CauseMatch(CoreModel):
    """A cause whose rules held: why (rule sentences), on what findings, and the sources."""

    cause: Cause
    priority: int
    rationale: list[str]
    findings: list[str]
    sources: list[str]


class Assessment(CoreModel):
    """Decision support, not a diagnosis: criteria results, likely cause, severity.

    ``likely_cause`` and ``severity`` are what the planner reads. ``reasons`` are the recorded
    findings that met the winning cause rule(s); ``alternatives`` are other causes whose rules also
    held, highest priority first. ``sources`` are the knowledge-base source ids behind every part.
    """

    likely_cause: Cause
    reasons: list[str]
    rationale: list[str]
    alternatives: list[CauseMatch]
    summary: str
    acr_clinical: CriteriaResult
    acr_clinical_laboratory: CriteriaResult | None
    acr_clinical_radiographic: CriteriaResult | None
    nice: CriteriaResult
    kellgren_lawrence_grade: int | None
    severity: Severity | None
    severity_basis: str
    pain_nrs_average: float | None
    koos_pain: float | None
    sources: list[str]
    disclaimer: str = DISCLAIMER


def assess(intake: Intake, kb: KnowledgeBase | None = None) -> Assessment:
    """Apply the criteria, cause rules and severity bands of ``knowledge/assessment.toml``.

    Sources: ACR 1986 knee OA classification (Altman 1986, Arthritis Rheum 29:1039); NICE NG226
    rec 1.1.1; patellofemoral pain (Crossley 2016, Br J Sports Med 50:839); patellar tendinopathy
    (Malliaras 2015, JOSPT 45:887); pes anserine (StatPearls NBK532941; Medscape 308694);
    iliotibial band syndrome (BMJ Best Practice 587; Lavine 2010); severity cutpoints for knee OA
    (Kapstad 2008, BMC Musculoskelet Disord 9:55). Every intake is a knee-pain consultation, so
    the ACR entry criterion "knee pain" is taken as met.
    """
    kb = kb or load_knowledge()
    acr_clinical = criteria(intake, _criteria_set(kb, ACR_CLINICAL))
    acr_laboratory = _if_applicable(intake, _criteria_set(kb, ACR_LABORATORY))
    acr_radiographic = _if_applicable(intake, _criteria_set(kb, ACR_RADIOGRAPHIC))
    nice = criteria(intake, _criteria_set(kb, NICE))

    matches = cause_matches(intake, kb.cause_rules)
    winner = matches[0] if matches else None
    severity, basis, nrs, koos_pain, band_sources = _severity(intake, kb)

    evaluated = [r for r in (acr_clinical, acr_laboratory, acr_radiographic, nice) if r]
    sources = [s for m in matches for s in m.sources]
    sources += [s for r in evaluated for s in r.sources + r.performance_sources]
    sources += band_sources
    return Assessment(
        likely_cause=winner.cause if winner else Cause.UNSPECIFIED,
        reasons=winner.findings if winner else [],
        rationale=winner.rationale if winner else [],
        alternatives=matches[1:],
        summary=_summary(winner, matches[1:]),
        acr_clinical=acr_clinical,
        acr_clinical_laboratory=acr_laboratory,
        acr_clinical_radiographic=acr_radiographic,
        nice=nice,
        kellgren_lawrence_grade=intake.investigations.kellgren_lawrence_grade,
        severity=severity,
        severity_basis=basis,
        pain_nrs_average=nrs,
        koos_pain=koos_pain,
        sources=list(dict.fromkeys(sources)),
    )


# --- criteria sets ------------------------------------------------------------------------------


def criteria(intake: Intake, cset: CriteriaSet) -> CriteriaResult:
    """Apply one criteria set, keeping unknown items apart from unmet ones.

    The ACR 1986 sets are classification criteria for research, not diagnostic criteria; a
    fulfilled set supports, and never replaces, the practitioner's diagnosis.

    Fulfilled (True) when every mandatory item is met and at least ``at_least`` items are met;
    not fulfilled (False) when a mandatory item is not met or even all unknown items being met
    could not reach ``at_least``; otherwise undetermined (None). Sources: the set's own entries in
    ``knowledge/assessment.toml`` (ACR 1986 via Altman 1986; NICE NG226 rec 1.1.1).
    """
    mandatory = [_criterion(intake, c) for c in cset.required]
    items = [_criterion(intake, c) for c in cset.items]
    met = sum(i.met is True for i in items)
    unknown = sum(i.met is None for i in items)
    classified: bool | None
    if any(m.met is False for m in mandatory) or met + unknown < cset.at_least:
        classified = False
    elif all(m.met is True for m in mandatory) and met >= cset.at_least:
        classified = True
    else:
        classified = None
    return CriteriaResult(
        id=cset.id,
        name=cset.name,
        kind=cset.kind,
        mandatory=mandatory,
        items=items,
        met_count=met,
        unknown_count=unknown,
        required_count=cset.at_least,
        classified=classified,
        sensitivity_percent=cset.sensitivity_percent,
        specificity_percent=cset.specificity_percent,
        performance_sources=cset.performance_source,
        sources=cset.source,
        note=cset.note,
    )


def _if_applicable(intake: Intake, cset: CriteriaSet) -> CriteriaResult | None:
    """The laboratory and radiographic sets apply only when their results were recorded."""
    if cset.applies_when is not None and not cset.applies_when.holds(intake):
        return None
    return criteria(intake, cset)


def _criteria_set(kb: KnowledgeBase, set_id: str) -> CriteriaSet:
    try:
        return kb.criteria_sets[set_id]
    except KeyError:
        raise KnowledgeError(
            f"criteria set {set_id!r} is missing from the knowledge base"
        ) from None


def _criterion(intake: Intake, criterion: Criterion) -> CriterionResult:
    return CriterionResult(
        id=criterion.id, label=criterion.label, met=known(criterion.when, intake)
    )


def known(condition: Condition, subject: Any) -> bool | None:
    """Three-valued (Kleene) evaluation: None when unrecorded findings could change the answer.

    A leaf reading a missing value is unknown (except ``present``, which asks exactly that);
    ``all`` is False as soon as one part is False, ``any`` True as soon as one part is True, and
    ``at_least`` is decided once the known parts settle the count either way.
    """
    if condition.field is not None:
        if condition.present is None and resolve(subject, condition.field) is None:
            return None
        return condition.holds(subject)
    if condition.not_ is not None:
        inner = known(condition.not_, subject)
        return None if inner is None else not inner
    if condition.score is not None:
        return condition.holds(subject)  # a point score counts recorded items only
    parts = [known(c, subject) for c in (condition.all or condition.any or condition.of or [])]
    true, unknown = parts.count(True), parts.count(None)
    if condition.all is not None:
        need = len(parts)
    elif condition.any is not None:
        need = 1
    else:
        assert condition.at_least is not None
        need = condition.at_least
    if true >= need:
        return True
    if true + unknown < need:
        return False
    return None


# --- likely cause -------------------------------------------------------------------------------


def cause_matches(intake: Intake, rules: Iterable[CauseRule]) -> list[CauseMatch]:
    """Every cause whose rules hold, one entry per cause, highest priority first.

    A cause's priority is that of its highest rule that holds; ties keep knowledge-base order.
    The first entry is the likely cause, the rest are alternatives. Each rule cites its source in
    ``knowledge/assessment.toml``.
    """
    held = [r for r in rules if r.when.holds(intake)]
    by_cause: dict[Cause, list[CauseRule]] = {}
    for rule in sorted(held, key=lambda r: -r.priority):  # sorted() is stable: file order on ties
        by_cause.setdefault(rule.cause, []).append(rule)
    return [
        CauseMatch(
            cause=cause,
            priority=group[0].priority,
            rationale=[r.reason for r in group],
            findings=list(dict.fromkeys(f for r in group for f in _findings(r.when, intake))),
            sources=list(dict.fromkeys(s for r in group for s in r.source)),
        )
        for cause, group in by_cause.items()
    ]


def _findings(condition: Condition, subject: Any) -> Iterator[str]:
    """The recorded findings that made ``condition`` hold, readably (only branches that held)."""
    if not condition.holds(subject):
        return
    if condition.field is not None:
        yield _describe(condition, resolve(subject, condition.field))
    elif condition.not_ is not None:
        yield f"not ({', '.join(condition.not_.fields())})"
    else:
        for part in condition.all or condition.any or condition.of or []:
            yield from _findings(part, subject)


def _describe(leaf: Condition, value: Any) -> str:
    field = leaf.field
    if leaf.is_ is not None:
        shown = str(leaf.is_).lower() if isinstance(leaf.is_, bool) else leaf.is_
        return f"{field} is {shown}"
    if leaf.contains is not None:
        return f"{field} includes {leaf.contains}"
    if leaf.present is not None:
        return f"{field} {'recorded' if leaf.present else 'not recorded'}"
    for op, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        bound = getattr(leaf, op)
        if bound is not None:
            return f"{field} = {value} ({sign} {bound:g})"
    return f"{field} = {value}"


def _summary(winner: CauseMatch | None, alternatives: list[CauseMatch]) -> str:
    if winner is None:
        return (
            "No cause rule held on the recorded findings: unspecified knee pain. Record the "
            "examination findings (pain location, focal tenderness, provoking activities)."
        )
    text = f"Likely {winner.cause.phrase}: {winner.rationale[0]}"
    if alternatives:
        others = ", ".join(a.cause.phrase for a in alternatives)
        text += f" Also consistent with: {others}."
    return text


# --- severity -----------------------------------------------------------------------------------


def _severity(
    intake: Intake, kb: KnowledgeBase
) -> tuple[Severity | None, str, float | None, float | None, list[str]]:
    """Band the average NRS pain of the last week; report KOOS Pain beside it, never banded.

    Cutpoints CP(4,7) for knee OA (Kapstad 2008, BMC Musculoskelet Disord 9:55): 1-4 mild, 5-7
    moderate, 8-10 severe, reading a CP as the upper bound of a band (Woo 2015, Ann Palliat Med).
    No published KOOS Pain severity bands were found, so KOOS Pain does not set the band.
    """
    koos_pain = _score(kb, intake, KOOS, KOOS_PAIN)
    decimals = next(s.decimals for s in kb.instruments[KOOS].subscales if s.id == KOOS_PAIN)
    koos_text = (
        f" KOOS Pain {format_number(koos_pain, decimals)}/100 (higher is better) is reported "
        "alongside; no published "
        "KOOS Pain severity bands were found, so it does not set the band."
        if koos_pain is not None
        else ""
    )
    nrs = _score(kb, intake, PAIN_NRS, PAIN_NRS_SUBSCALE)
    if nrs is None:
        return (
            None,
            "Average knee pain over the last week (NRS) was not recorded." + koos_text,
            None,
            koos_pain,
            [],
        )
    bands = [b for b in kb.severity_bands if b.measure == SEVERITY_MEASURE]
    band = _band(bands, nrs)
    if band is None:
        why = "no pain" if nrs == 0 else "outside every band"
        return (
            None,
            f"Average knee pain over the last week {nrs:g}/10 on the NRS: {why}, no severity band."
            + koos_text,
            nrs,
            koos_pain,
            [],
        )
    return (
        band.band,
        f"Average knee pain over the last week {nrs:g}/10 on the NRS: {band.band.value} "
        f"({band.min:g}-{band.max:g}), by the knee-OA cutpoints of Kapstad 2008." + koos_text,
        nrs,
        koos_pain,
        band.source,
    )


def _band(bands: list[SeverityBand], value: float) -> SeverityBand | None:
    """The band whose inclusive range holds ``value``."""
    return next((b for b in bands if b.min <= value <= b.max), None)


def _score(kb: KnowledgeBase, intake: Intake, instrument: str, subscale: str) -> float | None:
    """One subscale score from the intake's baseline answers, or None when not recorded."""
    answers = intake.baseline.get(instrument)
    if answers is None:
        return None
    return instruments.score(instrument, answers, kb).value(subscale)
