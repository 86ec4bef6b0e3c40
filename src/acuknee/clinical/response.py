"""Response over time: change per domain and measure, minimal important change, and the
OMERACT-OARSI responder verdict at each follow-up.

``evaluate(course)`` scores every measurement of a course with ``instruments.score`` and compares
each follow-up with the baseline:

- per domain (the seed's five ways) and per measure: baseline and follow-up values, the signed
  change, the improvement in the measure's good direction, the percent change, and whether the
  improvement reaches the measure's minimal important change. The MIC is the first entry of kind
  mic, mcid or mcii in ``knowledge/instruments.toml``; where only a minimal detectable change
  (MDC) exists the answer is "no established MIC" and the MDC is named separately, because
  measurement error is not importance.
- the OMERACT-OARSI verdict (Pham 2004, restated in Ann Rheum Dis and Arthritis Rheumatol
  2021;73:1646; thresholds in ``knowledge/response.toml``): responder, non-responder, or not
  evaluable with the missing measure named.

``omeract_oarsi`` applies the rule alone to values already on 0-100 scales where higher is worse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Literal

from pydantic import Field

from acuknee.clinical.base import CoreModel
from acuknee.clinical.errors import InvalidInput, InvalidInputs, KnowledgeError
from acuknee.clinical.instruments import Scores, score
from acuknee.clinical.intake import Answers
from acuknee.clinical.knowledge import (
    Instrument,
    KnowledgeBase,
    MeasureRef,
    Mic,
    ResponderCriteria,
    ResponderDomain,
    Source,
    Subscale,
    load_knowledge,
)
from acuknee.clinical.numbers import format_number
from acuknee.clinical.vocabulary import Direction, Domain
from acuknee.kept import Kept

CRITERIA_ID = "omeract_oarsi"
OarsiDomainId = Literal["pain", "function", "patient_global"]
_EPSILON = 1e-9
"""Scores are floats (KOOS 61.3 - 50 = 11.299999...); a threshold met to 1e-9 is met."""


EXPLORATORY_NOTE = "exploratory: no validated measure of this domain; interpret with caution"
"""What a domain measured only by exploratory measures says when the knowledge base has no
validated measure of it."""
EXPLORATORY_HERE_NOTE = (
    "exploratory: only exploratory measures of this domain were recorded; interpret with caution"
)
"""What a domain measured only by exploratory measures says when the knowledge base has a
validated measure of it that was not recorded (skin temperature alone for inflammation, where
effusion and circumference are validated): "no validated measure" would be untrue there."""
NOT_MEASURED_NOTE = "not measured"


def _at_least(value: float, threshold: float) -> bool:
    return value >= threshold - _EPSILON


def _num(value: float) -> str:
    return format_number(value, 2)


# --- input --------------------------------------------------------------------------------------


class Visit(CoreModel):
    """One assessment: its date and the answers of each instrument given that day."""

    date: dt.date
    measurements: dict[str, Answers] = Field(default_factory=dict)


class Course(CoreModel):
    """A baseline visit and the follow-ups to compare with it, in date order.

    ``oarsi_pain``, ``oarsi_function`` and ``oarsi_patient_global`` name the measure that feeds
    each OMERACT-OARSI domain; when empty, the first measure scored at both visits among the
    defaults in ``knowledge/response.toml`` is used (pain: average pain NRS, else KOOS Pain;
    function: KOOS ADL; patient global: the 0-10 patient global rating).
    """

    baseline: Visit
    follow_ups: list[Visit] = Field(default_factory=list)
    oarsi_pain: MeasureRef | None = None
    oarsi_function: MeasureRef | None = None
    oarsi_patient_global: MeasureRef | None = None


# --- output -------------------------------------------------------------------------------------


class MicCheck(CoreModel):
    """Whether a change reaches the measure's minimal important change, and the MDC beside it."""

    status: Literal["reached", "not_reached", "no_established_mic", "not_evaluable"]
    kind: Literal["mic", "mcid", "mcii"] | None = None
    threshold: float | None = None
    """Improvement needed, in the measure's own unit."""
    relative_percent: float | None = None
    """The MIC's relative form, when its source gives one: a percent improvement from baseline
    that is as important as ``threshold`` (Farrar 2001: "about two points or about 30 %")."""
    relative_reached: bool | None = None
    """Whether the percent improvement reaches ``relative_percent`` (None without one, or with
    a baseline of 0, which has no percent change)."""
    applied: float | None = None
    """The smallest improvement that reaches the MIC from this baseline, in the measure's unit:
    ``threshold``, or that percent of the baseline where it is smaller. The band a chart draws
    around the baseline, so the chart and the verdict agree."""
    population: str | None = None
    sources: list[str] = Field(default_factory=list)
    mdc: float | None = None
    mdc_population: str | None = None
    mdc_sources: list[str] = Field(default_factory=list)
    beyond_mdc: bool | None = None
    """Whether the change (either way) is at least the MDC: beyond measurement error."""
    text: str


class MeasureChange(CoreModel):
    """One subscale at baseline and at one follow-up."""

    instrument: str
    subscale: str
    name: str
    unit: str
    direction: Direction
    domain: Domain | None
    exploratory: bool
    baseline: float | None
    follow_up: float | None
    change: float | None
    """Follow-up minus baseline, in the measure's unit."""
    improvement: float | None
    """The change in the measure's good direction: positive = better."""
    percent_change: float | None
    """Change as a percent of the baseline; None when the baseline is 0."""
    percent_improvement: float | None
    mic: MicCheck
    note: str | None = None


class DomainChange(CoreModel):
    """The measures of one domain at one follow-up (``domain`` None: measures with no domain)."""

    domain: Domain | None
    exploratory: bool
    measures: list[MeasureChange]
    note: str | None = None
    about: str | None = None
    """What measures this domain, said plainly (``instruments.toml`` [[domain]]): e.g. that no
    validated clinical measure of knee circulation exists. None for older stored evaluations."""


class OarsiDomain(CoreModel):
    """One OMERACT-OARSI domain: its measure, values on 0-100 (higher = worse), and what it met."""

    domain: OarsiDomainId
    measure: MeasureRef | None
    baseline: float | None = None
    follow_up: float | None = None
    baseline_normalised: float | None = None
    follow_up_normalised: float | None = None
    absolute_improvement: float | None = None
    """Points on the 0-100 scale; positive = better."""
    relative_improvement_percent: float | None = None
    """None when the baseline is 0: a relative criterion cannot be met."""
    high_improvement: bool | None = None
    """Met both high thresholds; None for a domain the high route does not apply to."""
    improved: bool = False
    """Met both ordinary thresholds."""
    missing: str | None = None
    """What is missing, as the verdict's explanation says it to a practitioner: the domain's and
    the measure's names (``Function: KOOS Function in daily living (ADL) missing at
    follow-up``), never their identifiers."""


class OarsiVerdict(CoreModel):
    """The OMERACT-OARSI answer at one follow-up, what decided it, and its sources."""

    status: Literal["responder", "non_responder", "not_evaluable"]
    criterion: Literal["high_improvement", "domains_improved"] | None = None
    decided_by: list[OarsiDomainId] = Field(default_factory=list)
    explanation: str
    domains: list[OarsiDomain]
    missing: list[str] = Field(default_factory=list)
    sources: list[Source]


class FollowUpEvaluation(CoreModel):
    date: dt.date
    days_from_baseline: int
    domains: list[DomainChange]
    oarsi: OarsiVerdict


class Evaluation(CoreModel):
    """The response over a course: one entry per follow-up, in date order."""

    baseline_date: dt.date
    follow_ups: list[FollowUpEvaluation]
    sources: list[Source]
    """Every source behind the MICs, MDCs and responder criteria used."""


# --- validation and scoring ---------------------------------------------------------------------


def _check_dates(course: Course) -> None:
    previous, where = course.baseline.date, "baseline.date"
    for index, visit in enumerate(course.follow_ups):
        if visit.date <= previous:
            raise InvalidInput(
                f"follow_ups.{index}.date",
                f"{visit.date.isoformat()} must be after {where} ({previous.isoformat()})",
            )
        previous, where = visit.date, f"follow_ups.{index}.date"


def _subscale(kb: KnowledgeBase, ref: MeasureRef) -> Subscale | None:
    found = kb.instruments.get(ref.instrument)
    if found is None:
        return None
    return next((s for s in found.subscales if s.id == ref.subscale), None)


def _check_choices(course: Course, kb: KnowledgeBase) -> None:
    """A measure named for an OMERACT-OARSI domain must be one the criteria's domain can take
    (``response.toml``: its own measures, or a validated patient-reported measure of that
    outcome domain): skin temperature named as "pain", or a timed test as "function", would
    give a responder verdict the criteria never defined."""
    domains: dict[str, ResponderDomain] = {d.id: d for d in _criteria(kb).domains}
    for field in ("oarsi_pain", "oarsi_function", "oarsi_patient_global"):
        ref: MeasureRef | None = getattr(course, field)
        if ref is None:
            continue
        sub = _subscale(kb, ref)
        if sub is None:
            raise InvalidInput(field, f"unknown measure {ref.instrument}.{ref.subscale}")
        if sub.range_max <= sub.range_min:
            raise InvalidInput(field, f"{ref.instrument}.{ref.subscale} has no range to normalise")
        domain = domains.get(field.removeprefix("oarsi_"))
        if domain is not None and not _accepted(kb, domain, ref, sub):
            allowed = ", ".join(f"{m.instrument}.{m.subscale}" for m in domain.measures)
            if domain.accepts:
                allowed += (
                    f", or another validated {domain.id} measure the patient reports "
                    f"({' or '.join(domain.accepts)})"
                )
            raise InvalidInput(
                field,
                f"{ref.instrument}.{ref.subscale} cannot feed the OMERACT-OARSI "
                f"{domain.name.lower()} domain; it takes {allowed}",
            )


def _accepted(kb: KnowledgeBase, domain: ResponderDomain, ref: MeasureRef, sub: Subscale) -> bool:
    if ref in domain.measures:
        return True
    inst = kb.instruments[ref.instrument]
    return (
        inst.kind in domain.accepts
        and sub.domain is not None
        and sub.domain.value == domain.id
        and not (inst.exploratory or sub.exploratory)
    )


_SCORED: Kept[tuple[str, tuple[tuple[str, float | None], ...]], tuple[object, Scores]] = Kept(2048)
"""Each measurement's scores by its instrument and answers, with the rules that scored them:
``score`` is a function of those alone, and a course's earlier visits were scored again for
every view of the patient (the first view after a reassessment scored about thirteen
measurements to evaluate one new one: issue 15, goal 1's thirteenth round). Answers in another
order are another key, never a wrong one. Frozen models, shared by every course that has them."""


def _score_visit(visit: Visit, where: str, kb: KnowledgeBase) -> dict[str, Scores]:
    scored: dict[str, Scores] = {}
    for instrument, answers in visit.measurements.items():
        prefix = f"{where}.measurements"
        if instrument not in kb.instruments:
            known = ", ".join(sorted(kb.instruments))
            raise InvalidInput(f"{prefix}.{instrument}", f"unknown instrument; known: {known}")
        try:
            key = (instrument, tuple(answers.items()))
            scored[instrument] = _SCORED.made_with(kb, key, partial(score, instrument, answers, kb))
        except InvalidInputs as exc:
            raise InvalidInputs(
                [InvalidInput(f"{prefix}.{e.field}", e.problem) for e in exc.errors]
            ) from exc
        except InvalidInput as exc:
            raise InvalidInput(f"{prefix}.{exc.field}", exc.problem) from exc
    return scored


def _value(scored: Mapping[str, Scores], ref: MeasureRef) -> float | None:
    found = scored.get(ref.instrument)
    if found is None or ref.subscale not in found.subscales:
        return None
    return found.subscales[ref.subscale].value


# --- change and MIC -----------------------------------------------------------------------------


def _first(mics: Sequence[Mic], kinds: tuple[str, ...]) -> Mic | None:
    return next((m for m in mics if m.kind in kinds), None)


def mic_check(
    sub: Subscale,
    improvement: float | None,
    percent: float | None,
    baseline: float | None = None,
) -> MicCheck:
    """Compare an improvement with the subscale's MIC (the first entry of kind mic, mcid or
    mcii, as stored with its population and source in instruments.toml; sign ignored).

    Where the source gives the MIC both as a change in points and as a percent of baseline,
    each is the MIC, and a change that reaches either reaches it: Farrar 2001 found "a
    reduction of approximately two points or a reduction of approximately 30%" on the 0-10
    pain scale, the percent alike at every baseline pain, and Tubach 2005 gives each MCII for
    absolute and for relative changes. Pain from 3 to 2, a third less, reaches the MCID.

    An MDC is never used as an MIC: without an MIC the answer is "no established MIC", with the
    MDC (e.g. Gill 2022 for the chair-stand test) named separately."""
    mic = _first(sub.mic, ("mic", "mcid", "mcii"))
    mdc = _first(sub.mic, ("mdc",))
    mdc_fields: dict[str, object] = {}
    mdc_text = ""
    if mdc is not None:
        beyond = None if improvement is None else _at_least(abs(improvement), abs(mdc.value))
        mdc_fields = {
            "mdc": abs(mdc.value),
            "mdc_population": mdc.population,
            "mdc_sources": list(mdc.source),
            "beyond_mdc": beyond,
        }
        if beyond is not None:
            side = "beyond" if beyond else "within"
            mdc_text = (
                f"; the change is {side} the MDC of {_num(abs(mdc.value))} "
                "(measurement error, not importance)"
            )
    if mic is None:
        text = "no established MIC" + (mdc_text or (f"; MDC {_num(abs(mdc.value))}" if mdc else ""))
        return MicCheck.model_validate({"status": "no_established_mic", "text": text, **mdc_fields})
    threshold = abs(mic.value)
    label = mic.kind.upper()
    base: dict[str, object] = {
        "kind": mic.kind,
        "threshold": threshold,
        "relative_percent": mic.relative_percent,
        "population": mic.population,
        "sources": list(mic.source),
        **mdc_fields,
    }
    against = _num(threshold)
    if mic.relative_percent is not None:
        against += f" or {_num(mic.relative_percent)} % of baseline"
    if improvement is None:
        text = f"not evaluable: needs a value at both visits ({label} {against})"
        return MicCheck.model_validate({"status": "not_evaluable", "text": text, **base})
    relative = applied = None
    by = _num(improvement)
    if mic.relative_percent is not None:
        if percent is not None:
            relative = _at_least(percent, mic.relative_percent)
            by += f" ({_num(percent)} %)"
        if baseline:
            applied = min(threshold, abs(baseline) * mic.relative_percent / 100)
    reached = _at_least(improvement, threshold) or bool(relative)
    verb = "reached" if reached else "not reached"
    text = f"{label} {verb}: improvement of {by} against {against} ({mic.population}){mdc_text}"
    return MicCheck.model_validate(
        {
            "status": "reached" if reached else "not_reached",
            "relative_reached": relative,
            "applied": threshold if applied is None else applied,
            "text": text,
            **base,
        }
    )


def _answered(scored: Scores | None, subscale: str) -> bool:
    """Whether any item of the subscale was answered (a subscale nobody filled is left out)."""
    return (
        scored is not None
        and subscale in scored.subscales
        and (scored.subscales[subscale].answered > 0)
    )


def _measure_change(
    inst: Instrument, sub: Subscale, before: Scores | None, after: Scores | None
) -> MeasureChange:
    b = before.subscales[sub.id].value if before and sub.id in before.subscales else None
    f = after.subscales[sub.id].value if after and sub.id in after.subscales else None
    sign = 1.0 if sub.direction is Direction.HIGHER_IS_BETTER else -1.0
    change = improvement = percent = percent_better = None
    note = None
    if b is not None and f is not None:
        change = f - b
        improvement = sign * change
        if b != 0:
            percent = change / abs(b) * 100
            percent_better = improvement / abs(b) * 100
        else:
            note = "baseline is 0: no percent change"
    else:
        missing = []
        for label, scored, value in (("baseline", before, b), ("follow-up", after, f)):
            if scored is None or sub.id not in scored.subscales:
                missing.append(f"{label}: not measured")
            elif value is None:
                missing.append(f"{label}: {scored.subscales[sub.id].note or 'not scored'}")
        note = "; ".join(missing)
    return MeasureChange(
        instrument=inst.id,
        subscale=sub.id,
        name=sub.name,
        unit=sub.unit,
        direction=sub.direction,
        domain=sub.domain,
        exploratory=sub.exploratory or inst.exploratory,
        baseline=b,
        follow_up=f,
        change=change,
        improvement=improvement,
        percent_change=percent,
        percent_improvement=percent_better,
        mic=mic_check(sub, improvement, percent_better, b),
        note=note,
    )


def domain_exploratory(kb: KnowledgeBase, domain: Domain | None) -> bool:
    """A domain is exploratory when every measure the knowledge base has for it is (a domain
    with no measure at all, such as circulation, is not: it is simply not measured)."""
    subs = [
        inst.exploratory or sub.exploratory
        for inst in kb.instruments.values()
        for sub in inst.subscales
        if sub.domain == domain
    ]
    return bool(subs) and all(subs)


def domain_label(
    kb: KnowledgeBase, domain: Domain | None, recorded: Sequence[bool]
) -> tuple[bool, str | None]:
    """Whether a domain is labelled exploratory, and its note, from whether each measure
    recorded for it is exploratory. One rule for the evaluation, the outcomes pages before and
    after a follow-up, and the reports: a domain is exploratory when what was recorded of it is
    all exploratory, or, when nothing was, when the knowledge base has nothing else for it."""
    if not recorded:
        return domain_exploratory(kb, domain), NOT_MEASURED_NOTE
    if not all(recorded):
        return False, None
    return True, EXPLORATORY_NOTE if domain_exploratory(kb, domain) else EXPLORATORY_HERE_NOTE


def _domains(
    kb: KnowledgeBase, before: Mapping[str, Scores], after: Mapping[str, Scores]
) -> list[DomainChange]:
    measures: list[MeasureChange] = []
    for instrument_id in dict.fromkeys([*before, *after]):
        inst = kb.instruments[instrument_id]
        pair = (before.get(instrument_id), after.get(instrument_id))
        for sub in inst.subscales:
            if any(_answered(scored, sub.id) for scored in pair):
                measures.append(_measure_change(inst, sub, *pair))
    groups: list[DomainChange] = []
    for domain in [*Domain, None]:
        found = [m for m in measures if m.domain == domain]
        if domain is None and not found:
            continue
        exploratory, note = domain_label(kb, domain, [m.exploratory for m in found])
        info = kb.domains.get(domain) if domain is not None else None
        groups.append(
            DomainChange(
                domain=domain,
                exploratory=exploratory,
                measures=found,
                note=note,
                about=info.about if info is not None else None,
            )
        )
    return groups


# --- OMERACT-OARSI ------------------------------------------------------------------------------


def _criteria(kb: KnowledgeBase) -> ResponderCriteria:
    try:
        return kb.responder_criteria[CRITERIA_ID]
    except KeyError:
        raise KnowledgeError(
            f"the knowledge base has no responder criteria {CRITERIA_ID!r}"
        ) from None


def normalise_worse(sub: Subscale, value: float) -> float:
    """A value on 0-100 where higher = worse, as OMERACT-OARSI needs (Pham 2004): scaled by the
    subscale's range and reversed when higher is better (KOOS 70 -> 30)."""
    share = (value - sub.range_min) / (sub.range_max - sub.range_min) * 100
    return 100 - share if sub.direction is Direction.HIGHER_IS_BETTER else share


def _judge_domain(
    criteria: ResponderCriteria,
    domain: OarsiDomainId,
    high_route: bool,
    pair: tuple[float, float],
) -> OarsiDomain:
    before, after = pair
    absolute = before - after
    relative = absolute / before * 100 if before > 0 else None
    improved = (
        relative is not None
        and _at_least(relative, criteria.relative_percent)
        and _at_least(absolute, criteria.absolute)
    )
    high = None
    if high_route:
        high = (
            relative is not None
            and _at_least(relative, criteria.high_relative_percent)
            and _at_least(absolute, criteria.high_absolute)
        )
    return OarsiDomain(
        domain=domain,
        measure=None,
        baseline_normalised=before,
        follow_up_normalised=after,
        absolute_improvement=absolute,
        relative_improvement_percent=relative,
        high_improvement=high,
        improved=improved,
    )


def _verdict(
    criteria: ResponderCriteria, domains: list[OarsiDomain], kb: KnowledgeBase
) -> OarsiVerdict:
    """Responder if a high-improvement domain met both high thresholds, or if at least
    ``domains_required`` domains met both ordinary thresholds; a missing measure leaves the
    verdict not evaluable only while it could still change it (it could be a high improvement,
    or enough domains could still improve), so the known domains decide when they settle it."""
    sources = kb.cite(criteria.source)
    missing = [d.missing for d in domains if d.missing]
    high_route = {d.id for d in criteria.domains if d.high_improvement}
    gaps = [d.domain for d in domains if d.missing]
    high = [d.domain for d in domains if d.high_improvement]
    met = [d.domain for d in domains if d.improved]
    names = {d.id: d.name.lower() for d in criteria.domains}

    by_id = {d.domain: d for d in domains}

    def described(ids: Sequence[OarsiDomainId]) -> str:
        return " and ".join(names[i] for i in ids)

    def figures(ids: Sequence[OarsiDomainId]) -> str:
        parts = []
        for i in ids:
            d = by_id[i]
            assert d.relative_improvement_percent is not None  # met a relative threshold
            assert d.absolute_improvement is not None
            parts.append(
                f"{names[i]} {_num(d.relative_improvement_percent)} % and "
                f"{_num(d.absolute_improvement)} points"
            )
        return "; ".join(parts)

    if high:
        explanation = (
            f"responder: high improvement in {described(high)} ({figures(high)}; needs at least "
            f"{_num(criteria.high_relative_percent)} % and {_num(criteria.high_absolute)} points)"
        )
        return OarsiVerdict(
            status="responder",
            criterion="high_improvement",
            decided_by=high,
            explanation=explanation,
            domains=domains,
            missing=missing,
            sources=sources,
        )
    if len(met) >= criteria.domains_required:
        explanation = (
            f"responder: {len(met)} of {len(domains)} domains improved ({figures(met)}; each "
            f"needs at least {_num(criteria.relative_percent)} % and {_num(criteria.absolute)} "
            "points)"
        )
        return OarsiVerdict(
            status="responder",
            criterion="domains_improved",
            decided_by=met,
            explanation=explanation,
            domains=domains,
            missing=missing,
            sources=sources,
        )
    could_change = any(g in high_route for g in gaps)
    could_change |= len(met) + len(gaps) >= criteria.domains_required
    if could_change:
        return OarsiVerdict(
            status="not_evaluable",
            explanation="not evaluable: " + "; ".join(missing),
            domains=domains,
            missing=missing,
            sources=sources,
        )
    improved = f" (only {described(met)} improved)" if met else ""
    explanation = (
        f"non-responder: no high improvement in pain or function, and fewer than "
        f"{criteria.domains_required} domains improved{improved}"
    )
    if missing:
        explanation += " (the missing " + ", ".join(names[g] for g in gaps) + " cannot change this)"
    return OarsiVerdict(
        status="non_responder",
        explanation=explanation,
        domains=domains,
        missing=missing,
        sources=sources,
    )


def omeract_oarsi(
    values: Mapping[OarsiDomainId, tuple[float, float] | None], kb: KnowledgeBase | None = None
) -> OarsiVerdict:
    """The OMERACT-OARSI verdict (Pham 2004; thresholds in knowledge/response.toml) from
    (baseline, follow-up) pairs already on 0-100 with higher = worse; a domain that is absent or
    None is missing."""
    kb = kb or load_knowledge()
    criteria = _criteria(kb)
    domains = []
    for domain in criteria.domains:
        pair = values.get(domain.id)
        if pair is None:
            domains.append(
                OarsiDomain(domain=domain.id, measure=None, missing=f"{domain.name}: no value")
            )
        else:
            domains.append(_judge_domain(criteria, domain.id, domain.high_improvement, pair))
    return _verdict(criteria, domains, kb)


def _oarsi_at(
    course: Course,
    kb: KnowledgeBase,
    before: Mapping[str, Scores],
    after: Mapping[str, Scores],
) -> OarsiVerdict:
    criteria = _criteria(kb)
    chosen: dict[str, MeasureRef | None] = {
        "pain": course.oarsi_pain,
        "function": course.oarsi_function,
        "patient_global": course.oarsi_patient_global,
    }
    domains: list[OarsiDomain] = []
    for domain in criteria.domains:
        override = chosen.get(domain.id)
        candidates = [override] if override else domain.measures
        usable = None
        for ref in candidates:
            b, f = _value(before, ref), _value(after, ref)
            if b is not None and f is not None:
                usable = (ref, b, f)
                break
        if usable is None:
            gaps = []
            for ref in candidates:
                where = [
                    label
                    for label, scored in (("baseline", before), ("follow-up", after))
                    if _value(scored, ref) is None
                ]
                named = _subscale(kb, ref)
                assert named is not None  # load-time cross-references and _check_choices
                gaps.append(f"{named.name} missing at {' and '.join(where)}")
            missing = f"{domain.name}: " + "; ".join(gaps)
            domains.append(OarsiDomain(domain=domain.id, measure=None, missing=missing))
            continue
        ref, b, f = usable
        sub = _subscale(kb, ref)
        assert sub is not None  # load-time cross-references and _check_choices guarantee it
        judged = _judge_domain(
            criteria,
            domain.id,
            domain.high_improvement,
            (normalise_worse(sub, b), normalise_worse(sub, f)),
        )
        domains.append(judged.model_copy(update={"measure": ref, "baseline": b, "follow_up": f}))
    return _verdict(criteria, domains, kb)


# --- the whole evaluation -----------------------------------------------------------------------


def _sources(kb: KnowledgeBase, follow_ups: Sequence[FollowUpEvaluation]) -> list[Source]:
    ids: dict[str, None] = {}
    for follow_up in follow_ups:
        for group in follow_up.domains:
            for measure in group.measures:
                ids.update(dict.fromkeys(measure.mic.sources + measure.mic.mdc_sources))
        ids.update(dict.fromkeys(s.id for s in follow_up.oarsi.sources))
    return [kb.sources[i] for i in ids if i in kb.sources]


def evaluate(course: Course, kb: KnowledgeBase | None = None) -> Evaluation:
    """Change per domain and measure, MIC reached or not, and the OMERACT-OARSI verdict at each
    follow-up (Pham 2004; MIC values and sources in knowledge/instruments.toml).

    Raises ``InvalidInput`` naming the field when a follow-up is not after the baseline and the
    previous follow-up, when an instrument or chosen measure is unknown, or when answers are
    invalid (``InvalidInputs`` when one instrument has several invalid answers)."""
    kb = kb or load_knowledge()
    _check_dates(course)
    _check_choices(course, kb)
    _criteria(kb)
    before = _score_visit(course.baseline, "baseline", kb)
    results: list[FollowUpEvaluation] = []
    for index, visit in enumerate(course.follow_ups):
        after = _score_visit(visit, f"follow_ups.{index}", kb)
        results.append(
            FollowUpEvaluation(
                date=visit.date,
                days_from_baseline=(visit.date - course.baseline.date).days,
                domains=_domains(kb, before, after),
                oarsi=_oarsi_at(course, kb, before, after),
            )
        )
    return Evaluation(
        baseline_date=course.baseline.date,
        follow_ups=results,
        sources=_sources(kb, results),
    )
