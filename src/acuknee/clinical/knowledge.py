"""The knowledge base: points, protocols, patterns, safety rules, cause rules and instruments.

Everything clinical lives in ``knowledge/*.toml``; this module only validates it. Each file has
a ``[meta]`` table (title, version, licence), a ``[sources.<id>]`` table per citation it uses, and
arrays of entries, each with ``source = ["<id>", ...]``. ``load_knowledge()`` reads all files once,
validates every entry with pydantic and checks every cross-reference (a protocol naming an unknown
point, a rule naming an unknown intake field or source) so a bad data file fails the build.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from acuknee.clinical.base import CoreModel
from acuknee.clinical.conditions import Condition
from acuknee.clinical.errors import KnowledgeError
from acuknee.clinical.intake import field_paths
from acuknee.clinical.vocabulary import (
    Cause,
    Direction,
    Domain,
    EvidenceLevel,
    Limb,
    Method,
    RuleKind,
    Severity,
    Urgency,
)

SourceIds = Annotated[list[str], Field(min_length=1)]


class Sourced(CoreModel):
    """Every entry cites at least one source id defined in some file's ``[sources]``."""

    source: SourceIds


# --- provenance ---------------------------------------------------------------------------------


class Source(CoreModel):
    id: str
    citation: str
    url: str | None = None
    note: str | None = None


class FileMeta(CoreModel):
    title: str
    version: str
    licence: str
    description: str | None = None


# --- anatomy and points -------------------------------------------------------------------------


class Region(Sourced):
    """A body region; ``local_to_knee`` regions are those a knee prosthesis or lesion rule uses."""

    id: str
    name: str
    limb: Limb
    local_to_knee: bool


class Meridian(Sourced):
    """A meridian (channel) of the WHO standard nomenclature: its point codes are ``code``
    followed by 1 to ``points`` (``ST1`` .. ``ST45``). A point code outside every meridian's
    range (and not an extra point, ``EX-``) is not a standard code."""

    code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    name: str
    points: Annotated[int, Field(gt=0)]


class Caution(Sourced):
    kind: Literal[
        "vessel", "nerve", "joint_capsule", "pregnancy", "technique", "traditional", "other"
    ]
    text: str


class Point(Sourced):
    """An acupuncture point by WHO code; depths in proportional cun (B-cun)."""

    code: str
    pinyin: str
    hanzi_traditional: str
    hanzi_simplified: str
    english: str
    region: str
    location: str
    depth_cun_min: float | None = None
    depth_cun_max: float | None = None
    angle: str
    needling: str
    cautions: list[Caution] = []
    tags: list[str] = []
    alias_for: list[str] = []
    extra_point: bool = False
    midline: bool = False

    @model_validator(mode="after")
    def _depths_ordered(self) -> Point:
        lo, hi = self.depth_cun_min, self.depth_cun_max
        if (lo is None) != (hi is None):
            raise ValueError("give both depth_cun_min and depth_cun_max, or neither")
        if lo is not None and hi is not None and not 0 < lo <= hi:
            raise ValueError("depth range must satisfy 0 < min <= max")
        return self


# --- protocols and patterns ---------------------------------------------------------------------

PointSide = Literal["affected", "bilateral", "contralateral"]


class ProtocolPoint(CoreModel):
    code: str
    side: PointSide = "affected"
    role: Literal["local", "distal", "adjunct"] = "local"


class Electro(CoreModel):
    """Electroacupuncture settings: frequencies in Hz and the point pairs wired together."""

    frequency_hz: list[float]
    frequency_label: str
    pairs: list[tuple[str, str]]
    intensity: str
    waveform: str | None = None


class Laser(CoreModel):
    description: str


class Protocol(Sourced):
    id: str
    name: str
    cause: Cause
    method: Method
    default_for_cause: bool = False
    style: str
    rationale: str
    variation: str
    points: list[ProtocolPoint]
    ashi_points: Annotated[int, Field(ge=0)] = 0
    electro: Electro | None = None
    laser: Laser | None = None
    retention_minutes: Annotated[int, Field(gt=0, le=120)]
    sessions_per_week: Annotated[int, Field(ge=1, le=7)]
    number_of_sessions: Annotated[int, Field(ge=1, le=100)]
    reassessment_weeks: list[Annotated[int, Field(ge=1)]]
    needle: str | None = None
    response_sought: str | None = None
    min_depth_mm: Annotated[float, Field(gt=0)] | None = None
    """The trial's minimum insertion depth (Tu 2019 protocol: at least 10 mm); a plan whose depth
    a safety rule limits no longer matches the trial, and says so."""
    without_current: str | None = None
    """For an electro protocol: the same trial's arm with the same points and no current (Tu 2021's
    manual arm). When electrical stimulation is blocked the plan follows that arm, so its rationale
    and expected response report what the trial found for the arm actually given."""
    expected_response: str
    evidence_level: EvidenceLevel

    @model_validator(mode="after")
    def _method_settings(self) -> Protocol:
        if (self.method is Method.ELECTRO) != (self.electro is not None):
            raise ValueError(
                "an electro protocol needs [electro] settings, and only it may have them"
            )
        if (self.method is Method.LASER) != (self.laser is not None):
            raise ValueError("a laser protocol needs [laser] settings, and only it may have them")
        return self


class Pattern(Sourced):
    """A TCM pattern for knee Bi: traditional theory, off unless the practitioner asks for it."""

    id: str
    name: str
    label: Literal["traditional theory"] = "traditional theory"
    icd11_tm1: str | None = None
    features: list[str]
    add_points: list[ProtocolPoint] = []
    remove_points: list[str] = []
    not_with_red_flags: list[str] = []  # red flag ids while which the pattern is never applied


# --- safety -------------------------------------------------------------------------------------


class RedFlag(Sourced):
    id: str
    name: str
    when: Condition
    urgency: Urgency
    action: str
    reason: str
    next_step: str  # what the receiving service will do next, in the source's terms


class Effects(CoreModel):
    """What a contraindication or precaution does to a plan. Empty effects means warn only.

    ``block_codes`` names points whether or not the knowledge base describes them, as WHO codes
    or same-meridian ranges (``BL22-BL35``), so a rule blocks every point its source forbids.
    ``overridable = false`` means no plan override lifts the rule's point blocks (pregnancy).
    ``other_side_allowed`` lets the planner needle a point this rule removes on the other leg
    instead, as the rule's source allows (knee replacement, lymphoedema). ``max_depth_cun`` is a
    fixed maximum insertion depth for every point; ``block_reason`` is the words a practitioner
    reads for why the rule's points are blocked.
    """

    block_treatment: bool = False
    block_methods: list[Method] = []
    block_points: list[str] = []
    block_points_tagged: list[str] = []
    block_codes: list[str] = []
    block_reason: str | None = None
    block_regions_from: str | None = None
    block_local_on_side_from: str | None = None
    block_limb_on_side_from: str | None = None
    overridable: bool = True
    other_side_allowed: bool = False
    max_depth_cun: Annotated[float | None, Field(gt=0)] = None
    max_needle_diameter_mm: Annotated[float | None, Field(gt=0)] = None
    warn_points: list[str] = []
    warn_points_tagged: list[str] = []
    warn_methods: list[Method] = []
    warn_regions_from: str | None = None

    @field_validator("block_codes")
    @classmethod
    def _codes_written_as_codes(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not _CODE_OR_RANGE.match(c)]
        if bad:
            raise ValueError(f"not a point code or same-meridian range: {', '.join(bad)}")
        for code in codes:
            found = _CODE_OR_RANGE.match(code)
            assert found is not None
            if found.group(3) and (
                found.group(3) != found.group(1) or int(found.group(4)) < int(found.group(2))
            ):
                raise ValueError(f"range {code} must run upward within one meridian")
        return codes


_CODE_OR_RANGE = re.compile(
    r"^([A-Z]{2})([1-9][0-9]?)(?:-([A-Z]{2})([1-9][0-9]?))?$|^EX-[A-Z]{1,2}[1-9][0-9]?$"
)


def expand_codes(items: Iterable[str]) -> list[str]:
    """``BL22-BL24`` as ``BL22, BL23, BL24``; single codes as themselves, order kept."""
    out: list[str] = []
    for item in items:
        found = _CODE_OR_RANGE.match(item)
        if found is not None and found.group(3):
            meridian, lo, hi = found.group(1), int(found.group(2)), int(found.group(4))
            out += [f"{meridian}{n}" for n in range(lo, hi + 1)]
        else:
            out.append(item)
    return list(dict.fromkeys(out))


class SafetyRule(Sourced):
    id: str
    name: str
    kind: RuleKind
    when: Condition
    effects: Effects
    message: str


# --- assessment ---------------------------------------------------------------------------------


class CauseRule(Sourced):
    """Findings that make a cause likely; the highest ``priority`` that holds wins."""

    cause: Cause
    priority: int
    when: Condition
    reason: str


class SeverityBand(Sourced):
    measure: str
    band: Severity
    min: float
    max: float


class Criterion(CoreModel):
    """One item of a criteria set: met when ``when`` holds (see ``assessment`` for unknowns)."""

    id: str
    label: str
    when: Condition


class CriteriaSet(Sourced):
    """Published classification or diagnostic criteria: every ``required`` item and at least
    ``at_least`` of ``items``. ``applies_when`` limits the set to intakes with the needed data."""

    id: str
    name: str
    kind: Literal["classification", "diagnosis"]
    applies_when: Condition | None = None
    required: list[Criterion] = []
    items: list[Criterion] = []
    at_least: Annotated[int, Field(ge=0)] = 0
    sensitivity_percent: Annotated[float | None, Field(ge=0, le=100)] = None
    specificity_percent: Annotated[float | None, Field(ge=0, le=100)] = None
    performance_source: list[str] = []
    note: str | None = None

    @model_validator(mode="after")
    def _countable(self) -> CriteriaSet:
        if not self.required and not self.items:
            raise ValueError("a criteria set needs required items or counted items")
        if self.at_least > len(self.items):
            raise ValueError("at_least cannot exceed the number of items")
        return self


# --- instruments --------------------------------------------------------------------------------


class Mic(Sourced):
    """A minimal important change (or detectable change), with the population it came from."""

    kind: Literal["mic", "mcid", "mcii", "mdc"]
    value: float
    relative_percent: float | None = None
    """The same threshold as a percent of the baseline, where the source gives one: a change
    that reaches either reaches the MIC (``response.mic_check``)."""
    population: str


class Item(CoreModel):
    code: str
    label: str  # the practitioner's short label (may say how an answer is coded)
    min: float = 0
    max: float = 4
    integer: bool = True
    loinc: str | None = None
    anchors: list[str] = []  # labels of the coded values min, min+1, ... (e.g. effusion grades)
    unit: str | None = None
    scale: str | None = None  # the id of the instrument's answer scale (words for the answers)
    ask: str | None = None  # the question as put to a patient: a short second-person paraphrase


class AnswerScale(Sourced):
    """The words of an instrument's response scale, as the form shows them beside the answers:
    every coded value's label (``anchors``, from the lowest code up, e.g. KOOS None ... Extreme),
    or only what the two ends mean (``low`` and ``high``, e.g. a 0-10 rating)."""

    id: str
    anchors: list[str] = []
    low: str | None = None
    high: str | None = None

    @model_validator(mode="after")
    def _labelled(self) -> AnswerScale:
        if bool(self.anchors) == bool(self.low or self.high):
            raise ValueError("an answer scale has either anchors or low and high")
        if not self.anchors and not (self.low and self.high):
            raise ValueError("an answer scale with ends needs both low and high")
        return self


class Subscale(CoreModel):
    """One score an instrument yields, with its scale, direction, domain and MIC."""

    id: str
    name: str
    items: list[str]
    # difference: items[0] - items[1]; reciprocal: factor / the one item (e.g. 40 m / seconds).
    scoring: Literal["koos", "sum", "mean", "table", "value", "difference", "reciprocal"]
    min_answered: int | None = None
    table: list[float] | None = None
    factor: float | None = None
    range_min: float
    range_max: float
    unit: str
    direction: Direction
    domain: Domain | None = None
    loinc: str | None = None
    mic: list[Mic] = []
    exploratory: bool = False
    note: str | None = None
    source: list[str] = []  # sources for this subscale's own rule, codes and notes
    decimals: Annotated[int, Field(ge=0, le=4)] = 1  # shown to people with this many decimals


class Instrument(Sourced):
    id: str
    name: str
    kind: Literal["questionnaire", "rating", "performance", "clinical"]
    recall: str | None = None
    licence: str
    items: list[Item]
    subscales: list[Subscale]
    reverse_items: list[str] = []
    exploratory: bool = False
    derived_from: str | None = None  # a short form whose items are a subset of this instrument's
    note: str | None = None
    scales: list[AnswerScale] = []
    ask: str | None = None  # what the questions are about, said to a patient ("your knee")
    patient_title: str | None = None  # the heading a patient sees instead of the full name

    @property
    def items_by_code(self) -> Mapping[str, Item]:
        """Each item by its code (read it, never change it), made once per list of items:
        scoring looks up every answer's item, and made this map anew for each measurement and
        subscale scored (issue 15). Kept beside the fields with the list it was made from, so a
        copy with other items (``model_copy(update=...)``) makes its own."""
        kept = self.__dict__.get("_items_by_code")
        if kept is None or kept[0] is not self.items:
            kept = (self.items, {i.code: i for i in self.items})
            self.__dict__["_items_by_code"] = kept  # frozen: beside the fields, not one of them
        return kept[1]

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: list[Item]) -> list[Item]:
        codes = [i.code for i in items]
        if len(codes) != len(set(codes)):
            raise ValueError("item codes must be unique")
        return items

    @model_validator(mode="after")
    def _scales_fit(self) -> Instrument:
        scales = {s.id: s for s in self.scales}
        for item in self.items:
            if item.scale is None:
                continue
            scale = scales.get(item.scale)
            if scale is None:
                raise ValueError(f"item {item.code}: unknown answer scale {item.scale!r}")
            values = int(item.max - item.min) + 1
            if scale.anchors and len(scale.anchors) != values:
                raise ValueError(
                    f"item {item.code}: scale {scale.id!r} labels {len(scale.anchors)} answers, "
                    f"the item has {values}"
                )
        return self

    def answer_labels(self, item: Item) -> dict[int, str]:
        """The words for an item's coded answers (value -> label): every value of a fully
        labelled scale, the two ends of a rating, or nothing when the data holds none."""
        low = int(item.min)
        if item.anchors:
            return {low + k: text for k, text in enumerate(item.anchors)}
        scale = next((s for s in self.scales if s.id == item.scale), None)
        if scale is None:
            return {}
        if scale.anchors:
            return {low + k: text for k, text in enumerate(scale.anchors)}
        return {low: scale.low or "", int(item.max): scale.high or ""}


class DomainInfo(Sourced):
    """What one of the five domains is measured by, said plainly (e.g. that no validated clinical
    measure of knee circulation exists, or that PSS-4 is a perceived-stress proxy for
    relaxation). Shown with the domain wherever outcomes are grouped by domain."""

    id: Domain
    name: str
    about: str


# --- response -----------------------------------------------------------------------------------


class MeasureRef(CoreModel):
    """One score: an instrument and one of its subscales."""

    instrument: str
    subscale: str


class ResponderDomain(CoreModel):
    """A responder-criteria domain and the measures that may feed it, in order of preference."""

    id: Literal["pain", "function", "patient_global"]
    name: str
    high_improvement: bool = False
    measures: Annotated[list[MeasureRef], Field(min_length=1)]
    accepts: list[Literal["questionnaire", "rating", "performance", "clinical"]] = Field(
        default_factory=list
    )
    """Instrument kinds whose validated subscales of this outcome domain a course may name in
    place of ``measures`` (patient-reported ones); empty: only ``measures``."""


class ResponderCriteria(Sourced):
    """A responder rule (OMERACT-OARSI) on 0-100 scales where higher is worse: responder when a
    ``high_improvement`` domain improves by both high thresholds, or when ``domains_required``
    domains each improve by both ordinary thresholds."""

    id: str
    name: str
    high_relative_percent: Annotated[float, Field(gt=0)]
    high_absolute: Annotated[float, Field(gt=0)]
    relative_percent: Annotated[float, Field(gt=0)]
    absolute: Annotated[float, Field(gt=0)]
    domains_required: Annotated[int, Field(ge=1)]
    domains: list[ResponderDomain]
    note: str | None = None


# --- the whole base -----------------------------------------------------------------------------


class KnowledgeBase(CoreModel):
    sources: dict[str, Source]
    files: dict[str, FileMeta]
    regions: dict[str, Region]
    points: dict[str, Point]
    meridians: dict[str, Meridian] = Field(default_factory=dict)
    protocols: dict[str, Protocol]
    patterns: dict[str, Pattern]
    red_flags: dict[str, RedFlag]
    safety_rules: dict[str, SafetyRule]
    cause_rules: list[CauseRule]
    severity_bands: list[SeverityBand]
    criteria_sets: dict[str, CriteriaSet] = Field(default_factory=dict)
    instruments: dict[str, Instrument]
    responder_criteria: dict[str, ResponderCriteria] = Field(default_factory=dict)
    domains: dict[Domain, DomainInfo] = Field(default_factory=dict)

    def point(self, code: str) -> Point:
        try:
            return self.points[code]
        except KeyError:
            raise KnowledgeError(f"unknown point code {code!r}") from None

    def protocols_for(self, cause: Cause) -> list[Protocol]:
        return [p for p in self.protocols.values() if p.cause is cause]

    def cite(self, ids: Iterable[str]) -> list[Source]:
        return [self.sources[i] for i in ids]


_COLLECTIONS: dict[str, tuple[str, type[CoreModel], str | None]] = {
    # toml array name -> (knowledge base attribute, model, key field or None for ordered lists)
    "region": ("regions", Region, "id"),
    "point": ("points", Point, "code"),
    "meridian": ("meridians", Meridian, "code"),
    "protocol": ("protocols", Protocol, "id"),
    "pattern": ("patterns", Pattern, "id"),
    "red_flag": ("red_flags", RedFlag, "id"),
    "safety_rule": ("safety_rules", SafetyRule, "id"),
    "cause_rule": ("cause_rules", CauseRule, None),
    "severity_band": ("severity_bands", SeverityBand, None),
    "criteria_set": ("criteria_sets", CriteriaSet, "id"),
    "instrument": ("instruments", Instrument, "id"),
    "responder_criteria": ("responder_criteria", ResponderCriteria, "id"),
    "domain": ("domains", DomainInfo, "id"),
}


def _knowledge_files(directory: Path | None) -> list[tuple[str, bytes]]:
    if directory is not None:
        return [(p.name, p.read_bytes()) for p in sorted(directory.glob("*.toml"))]
    root = resources.files("acuknee.clinical") / "knowledge"
    entries = [e for e in root.iterdir() if e.name.endswith(".toml")]
    return [(e.name, e.read_bytes()) for e in sorted(entries, key=lambda e: e.name)]


def build_knowledge(files: list[tuple[str, bytes]]) -> KnowledgeBase:
    """Validate raw TOML files into a knowledge base; raise KnowledgeError naming file and entry."""
    sources: dict[str, Source] = {}
    metas: dict[str, FileMeta] = {}
    collected: dict[str, object] = {
        attr: ({} if key else []) for attr, _, key in _COLLECTIONS.values()
    }
    for name, raw in files:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise KnowledgeError(f"{name}: not valid TOML: {exc}") from exc
        try:
            metas[name] = FileMeta.model_validate(data.pop("meta"))
        except KeyError:
            raise KnowledgeError(f"{name}: missing [meta] table") from None
        except ValidationError as exc:
            raise KnowledgeError(f"{name}: [meta]: {exc}") from exc
        for sid, body in data.pop("sources", {}).items():
            try:
                src = Source.model_validate({"id": sid, **body})
            except ValidationError as exc:
                raise KnowledgeError(f"{name}: [sources.{sid}]: {exc}") from exc
            if sid in sources and sources[sid] != src:
                raise KnowledgeError(f"{name}: source {sid!r} is defined differently elsewhere")
            sources[sid] = src
        for array, entries in data.items():
            if array not in _COLLECTIONS:
                raise KnowledgeError(f"{name}: unknown table [[{array}]]")
            attr, model, key = _COLLECTIONS[array]
            for index, body in enumerate(entries):
                label = f"{name}: [[{array}]] #{index + 1} ({body.get(key or 'id', '')})"
                try:
                    entry = model.model_validate(body)
                except ValidationError as exc:
                    raise KnowledgeError(f"{label}: {exc}") from exc
                target = collected[attr]
                if key is None:
                    assert isinstance(target, list)
                    target.append(entry)
                else:
                    assert isinstance(target, dict)
                    ident = getattr(entry, key)
                    if ident in target:
                        raise KnowledgeError(f"{label}: duplicate {key} {ident!r}")
                    target[ident] = entry
    try:
        kb = KnowledgeBase.model_validate({"sources": sources, "files": metas, **collected})
    except ValidationError as exc:
        raise KnowledgeError(str(exc)) from exc
    problems = cross_reference_problems(kb)
    if problems:
        raise KnowledgeError("knowledge base cross-references failed:\n- " + "\n- ".join(problems))
    return kb


def cross_reference_problems(kb: KnowledgeBase) -> list[str]:
    """Every broken reference in the base, as readable sentences (empty when all is well)."""
    problems: list[str] = []
    paths = field_paths()

    def need_sources(where: str, ids: Iterable[str]) -> None:
        problems.extend(f"{where}: unknown source {s!r}" for s in ids if s not in kb.sources)

    def need_points(where: str, codes: Iterable[str]) -> None:
        problems.extend(f"{where}: unknown point {c!r}" for c in codes if c not in kb.points)

    def need_paths(where: str, condition: Condition | None, *extra: str | None) -> None:
        fields = list(condition.fields()) if condition else []
        fields += [e for e in extra if e]
        problems.extend(f"{where}: unknown intake field {f!r}" for f in fields if f not in paths)

    tags = {t for p in kb.points.values() for t in p.tags}
    for region in kb.regions.values():
        need_sources(f"region {region.id}", region.source)
    for point in kb.points.values():
        where = f"point {point.code}"
        need_sources(where, point.source)
        for caution in point.cautions:
            need_sources(f"{where} caution", caution.source)
        if point.region not in kb.regions:
            problems.append(f"{where}: unknown region {point.region!r}")
        need_points(where, point.alias_for)
    for protocol in kb.protocols.values():
        where = f"protocol {protocol.id}"
        need_sources(where, protocol.source)
        need_points(where, (p.code for p in protocol.points))
        if protocol.electro:
            wired = {c for pair in protocol.electro.pairs for c in pair}
            need_points(f"{where} electro pair", wired)
            listed = {p.code for p in protocol.points}
            problems.extend(
                f"{where}: electro pair point {c!r} is not among the protocol's points"
                for c in wired - listed
            )
        if protocol.reassessment_weeks and max(protocol.reassessment_weeks) > 104:
            problems.append(f"{where}: reassessment beyond two years")
        if protocol.without_current is not None:
            arm = kb.protocols.get(protocol.without_current)
            if arm is None:
                problems.append(f"{where}: unknown protocol {protocol.without_current!r}")
            elif protocol.electro is None or arm.electro is not None or arm.cause != protocol.cause:
                problems.append(
                    f"{where}: without_current must name a non-electro protocol for the same cause"
                )
            elif {p.code for p in arm.points} != {p.code for p in protocol.points}:
                problems.append(f"{where}: without_current arm must needle the same points")
    for cause in Cause:
        # A cause without protocols is planned with the unspecified-knee-pain default.
        defaults = [p for p in kb.protocols_for(cause) if p.default_for_cause]
        needs_one = cause is Cause.UNSPECIFIED or bool(kb.protocols_for(cause))
        if kb.protocols and needs_one and len(defaults) != 1:
            problems.append(f"cause {cause.value}: needs exactly one default protocol")
    for pattern in kb.patterns.values():
        where = f"pattern {pattern.id}"
        need_sources(where, pattern.source)
        need_points(where, [p.code for p in pattern.add_points] + pattern.remove_points)
        problems.extend(
            f"{where}: unknown red flag {f!r}"
            for f in pattern.not_with_red_flags
            if f not in kb.red_flags
        )
    for flag in kb.red_flags.values():
        need_sources(f"red flag {flag.id}", flag.source)
        need_paths(f"red flag {flag.id}", flag.when)
    for rule in kb.safety_rules.values():
        where = f"safety rule {rule.id}"
        need_sources(where, rule.source)
        e = rule.effects
        need_paths(
            where,
            rule.when,
            e.block_regions_from,
            e.block_local_on_side_from,
            e.block_limb_on_side_from,
        )
        need_points(where, e.block_points + e.warn_points)
        need_paths(where, None, e.warn_regions_from)
        for code in expand_codes(e.block_codes):
            parts = re.match(r"^([A-Z]{2})([0-9]+)$", code)
            meridian = kb.meridians.get(parts.group(1)) if parts else None
            if (
                parts
                and kb.meridians
                and (meridian is None or int(parts.group(2)) > meridian.points)
            ):
                problems.append(f"{where}: {code} is not a WHO standard point code")
        problems.extend(
            f"{where}: no point carries tag {t!r}"
            for t in e.block_points_tagged + e.warn_points_tagged
            if t not in tags
        )
    for cause_rule in kb.cause_rules:
        need_sources(f"cause rule {cause_rule.cause.value}", cause_rule.source)
        need_paths(f"cause rule {cause_rule.cause.value}", cause_rule.when)
    for band in kb.severity_bands:
        need_sources(f"severity band {band.measure}/{band.band.value}", band.source)
    for cset in kb.criteria_sets.values():
        where = f"criteria set {cset.id}"
        need_sources(where, cset.source + cset.performance_source)
        need_paths(where, cset.applies_when)
        for item in cset.required + cset.items:
            need_paths(f"{where} item {item.id}", item.when)
    for instrument in kb.instruments.values():
        where = f"instrument {instrument.id}"
        need_sources(where, instrument.source)
        for scale in instrument.scales:
            need_sources(f"{where} answer scale {scale.id}", scale.source)
        codes = {i.code for i in instrument.items}
        for sub in instrument.subscales:
            problems.extend(
                f"{where} subscale {sub.id}: unknown item {c!r}"
                for c in sub.items
                if c not in codes
            )
            for mic in sub.mic:
                need_sources(f"{where} subscale {sub.id} MIC", mic.source)
    for info in kb.domains.values():
        need_sources(f"domain {info.id.value}", info.source)
    for criteria in kb.responder_criteria.values():
        where = f"responder criteria {criteria.id}"
        need_sources(where, criteria.source)
        for domain in criteria.domains:
            for ref in domain.measures:
                found = kb.instruments.get(ref.instrument)
                if found is None or ref.subscale not in {s.id for s in found.subscales}:
                    measure = f"{ref.instrument}.{ref.subscale}"
                    problems.append(f"{where} domain {domain.id}: unknown measure {measure}")
    return problems


@cache
def load_knowledge(directory: Path | None = None) -> KnowledgeBase:
    """The validated knowledge base, read once per process."""
    return build_knowledge(_knowledge_files(directory))
