"""What the evidence pages show, computed from ``trials.toml`` with ``meta`` (no Django).

The views only parse the method selector and render; everything shown is built here, so the
numbers a test checks are the numbers a page prints. Results are cached per (method, KH): the
data ship with the package and do not change while the process runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from acuknee.evidence.data import (
    Analysis,
    Comparison,
    Evidence,
    PatientNote,
    PatientPage,
    Source,
    Trial,
    comparison_effect,
    load_evidence,
)
from acuknee.evidence.forest import ForestRow, IconGroup, forest_svg, icon_array_svg, svg_data_uri
from acuknee.evidence.meta import MetaResult, Method, common_effect, random_effects

NICE_MID = 0.5
"""NICE NG226's minimal important difference vs sham (SMD 0.5; BAcC/BMAS/AACP statement)."""


@dataclass(frozen=True)
class ComparisonRow:
    """A comparison with its trial, effect (positive favours acupuncture) and citations."""

    comparison: Comparison
    trial: Trial
    measure: str | None
    estimate: float | None
    ci: tuple[float, float] | None
    weight: float | None
    sources: list[Source]


@dataclass(frozen=True)
class PooledAnalysis:
    """One analysis pooled by the chosen random-effects estimator (``result``) and, beside it,
    by the common-effect model (``common``), which assumes one true effect for every trial."""

    analysis: Analysis
    comparator_label: str
    rows: list[ComparisonRow]
    result: MetaResult
    common: MetaResult
    forest_uri: str


@dataclass(frozen=True)
class ResponderFigure:
    """One trial's "how many of 100 improved" per arm, from verified responder figures."""

    trial: Trial
    outcome: str
    plain_outcome: str
    timepoint: str
    groups: list[IconGroup]
    picture_uri: str
    sources: list[Source]


def _row(ev: Evidence, c: Comparison, weight: float | None = None) -> ComparisonRow:
    found = comparison_effect(c)
    measure, estimate, ci = None, None, None
    if found is not None:
        measure, effect = found
        estimate, ci = effect.yi, effect.ci()
    return ComparisonRow(c, ev.trial(c.trial), measure, estimate, ci, weight, ev.cite(c.source))


def pooled(ev: Evidence, analysis: Analysis, method: Method, knha: bool) -> PooledAnalysis:
    """One analysis's random-effects and common-effect results, its rows with random-effects
    weights and its forest plot."""
    comparisons = ev.in_analysis(analysis.id)
    effects = []
    for c in comparisons:
        found = comparison_effect(c)
        assert found is not None  # validated: only poolable comparisons name an analysis
        effects.append(found[1])
    result = random_effects([e.yi for e in effects], [e.vi for e in effects], method, knha)
    common = common_effect([e.yi for e in effects], [e.vi for e in effects])
    inverse = [1 / (e.vi + result.tau2) for e in effects]
    weights = [100 * w / sum(inverse) for w in inverse]
    rows = [_row(ev, c, w) for c, w in zip(comparisons, weights, strict=True)]
    forest_rows = [
        ForestRow(r.trial.name, r.estimate, r.ci[0], r.ci[1], r.weight)
        for r in rows
        if r.estimate is not None and r.ci is not None
    ]
    svg = forest_svg(
        forest_rows,
        result,
        title=f"Acupuncture vs {analysis.label}",
        xlabel="SMD (Hedges' g); positive favours acupuncture",
        mid=(NICE_MID, "within ±0.5: below NICE's minimal important difference"),
    )
    return PooledAnalysis(analysis, analysis.label, rows, result, common, svg_data_uri(svg))


@lru_cache(maxsize=16)
def pooled_analyses(method: Method, knha: bool) -> tuple[PooledAnalysis, ...]:
    """Every analysis in ``trials.toml`` (vs sham, vs no acupuncture), each pooled separately."""
    ev = load_evidence()
    return tuple(pooled(ev, a, method, knha) for a in ev.analyses)


@lru_cache(maxsize=1)
def comparison_rows() -> tuple[ComparisonRow, ...]:
    """Every comparison with its effect, for the trial table (pooled or not)."""
    ev = load_evidence()
    return tuple(_row(ev, c) for c in ev.comparisons)


_ARM_LABELS = {
    "sham": "Sham acupuncture",
    "usual_care": "Usual care",
    "no_acupuncture": "No acupuncture",
    "waiting_list": "Waiting list",
    "active_control": "Active treatment alone",
}


@lru_cache(maxsize=1)
def responder_figures() -> tuple[ResponderFigure, ...]:
    """Per trial with responder data: of 100 patients, how many improved in each arm.

    Only responder outcomes count (``events`` and ``rates`` comparisons: a share of patients who
    improved by the trial's own definition); the percentage is rounded to a whole patient.
    """
    ev = load_evidence()
    figures: list[ResponderFigure] = []
    for trial in ev.trials:
        comparisons = [
            c for c in ev.comparisons if c.trial == trial.id and c.kind in ("events", "rates")
        ]
        if not comparisons:
            continue
        treated: dict[str, int] = {}
        controls: dict[str, int] = {}
        for c in comparisons:
            if c.kind == "events":
                assert c.events1 is not None
                assert c.n1 is not None
                assert c.events2 is not None
                assert c.n2 is not None
                share1, share2 = 100 * c.events1 / c.n1, 100 * c.events2 / c.n2
            else:
                assert c.rate1 is not None
                assert c.rate2 is not None
                share1, share2 = c.rate1, c.rate2
            treated.setdefault(c.intervention, round(share1))
            controls.setdefault(_ARM_LABELS[c.comparator], round(share2))
        icons = [IconGroup(label, n) for label, n in (treated | controls).items()]
        first = comparisons[0]
        caption = f"{trial.name}. {first.outcome}, {first.timepoint}"
        svg = icon_array_svg(icons, caption=caption)
        sources = ev.cite(sorted({s for c in comparisons for s in c.source}))
        figures.append(
            ResponderFigure(
                trial,
                first.outcome,
                first.plain_outcome or first.outcome,
                first.timepoint,
                icons,
                svg_data_uri(svg),
                sources,
            )
        )
    return tuple(figures)


@dataclass(frozen=True)
class NoteView:
    """One sourced statement of the patient page."""

    id: str
    text: str
    sources: list[Source]


@dataclass(frozen=True)
class PatientPageView:
    harms_intro: str
    harms: list[NoteView]
    core_treatments: list[NoteView]


@lru_cache(maxsize=1)
def patient_page() -> PatientPageView:
    """The patient page's harms (with their frequencies) and core treatments, each with its
    sources, as held in ``trials.toml``."""
    ev = load_evidence()
    page: PatientPage = ev.patient_page

    def view(notes: list[PatientNote]) -> list[NoteView]:
        return [NoteView(n.id, n.text, ev.cite(n.source)) for n in notes]

    return PatientPageView(page.harms_intro, view(page.harms), view(page.core_treatments))
