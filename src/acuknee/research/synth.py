"""Synthetic cohorts for the research network: realistic, reproducible courses of care at any size.

Synthetic patients let the pooled analytics, the exports and the benchmarks run at 10k to 1M
patients without a single real record. Every draw comes from a seeded numpy ``Generator``; the
cohort is built in fixed blocks of ``BLOCK`` rows, each with its own child seed
(``SeedSequence(seed, spawn_key=(block,))``), so the same seed gives the same rows whether it is
generated at once (``synthesize``) or chunk by chunk (``iter_cohort``), and memory stays at one
block per chunk.

Where the figures come from (everything else is an ASSUMPTION, labelled below and in
docs/research.md, and can be changed in ``SynthConfig``):

- Response. The share of followed-up courses whose KOOS ADL function improves by at least 36 %
  (the GERAC success criterion: >= 36 % better WOMAC at 26 weeks) is set per protocol to the
  trial's success or response rate (facts.md section 6): knee-oa-manual-gerac 53.1 % (Scharf
  2006, GERAC, Ann Intern Med 145:12, TCA arm); knee-oa-electro-tu2021 60.3 % and
  knee-oa-manual-tu2021 58.6 % (Tu 2021, Arthritis Rheumatol 73:448, EA and MA arms). Tu's own
  criterion was the MCII in pain and function together; mapping its rate onto the 36 % function
  criterion is an ASSUMPTION, as is using the GERAC rate for the non-OA protocols (no trial in
  section 6 covers them). Pain, patient global and KOOS Pain move with function (correlated
  noise, ASSUMPTION). The OMERACT-OARSI verdict is then computed from the values with the
  clinical core's rule and thresholds (knowledge/response.toml, Pham 2004), vectorised; the test
  ``test_verdicts_agree_with_the_clinical_core`` checks it against ``acuknee.clinical.evaluate``.
- Dropout: 25 % of courses stop early and are not followed up (Berman 2004, Ann Intern Med
  141:901: 25 % dropout in the acupuncture arms over 26 weeks). Using a 26-week trial figure for
  every protocol is an ASSUMPTION (likely high for 8-10 session courses).
- Adverse events: 111 per 10,000 sessions (Witt 2009, Forsch Komplementmed 16:91, 229,230
  patients, on average 10.2 treatments each; the per-session incidence as tabulated by Park et
  al. 2014, Acupunct Med 32:257, Table 1, PMC4112450). Types: bleeding or haematoma 58 % of
  events, pain 22 %, vegetative symptoms 11 %, other 9 % (Witt 2009 reported bleeding/haematoma
  in about 6 % of patients = 58 % of all adverse effects, pain in about 2 % and vegetative
  symptoms in about 1 %, as summarised secondarily in thecamreport.com, May 2009; shares of
  about 9 % of patients with any side effect, rounded). Severity: 2.2 % of patients needed
  treatment for an adverse effect (4,963 of 229,230; Witt 2009 as restated by Zhang et al. 2010,
  Bull World Health Organ 88:915) against about 9 % with any, so 24.4 % of events are
  "moderate"; serious events about 1 per 10,000 patients (Baeumler 2021, BMJ Open 11:e045961,
  as summarised secondarily), so 0.1 % of events are "severe" (derived, rounded; reading
  "needed treatment" as moderate is an ASSUMPTION).
- Age for knee OA: mean 65.5 (Berman 2004). Severity bands from the baseline average-pain NRS
  with the core's Kapstad 2008 cut-points (1-4 mild, 5-7 moderate, 8-10 severe).
- ASSUMPTIONS (no source): the cause mix, the OA protocol mix, age spreads and the other causes'
  ages, sex shares, comorbidity and contraindication rates, side, baseline score distributions,
  the 5 % of sessions missed, follow-up timing (a reassessment week of the protocol at or after
  the course's end), how often circumference, PSS-4 and skin temperature are measured and how
  they change, 3 % missing patient global at follow-up, clinic sizes (log-normal) and regions.

Contraindications are respected: a cardiac device never gets electroacupuncture (the core blocks
EA with an implanted device); protocols and methods come from ``load_knowledge().protocols``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from acuknee.clinical import load_knowledge
from acuknee.research.schema import AGE_BANDS, COURSE_COLUMNS, SEXES, VERDICTS, age_band_codes

BLOCK = 100_000
"""Rows per independently seeded block (and per chunk of ``iter_cohort``)."""

REGIONS = ("north", "south", "east", "west", "central")
"""Synthetic region labels (ASSUMPTION): five, so small clinics still share a region."""

AE_TYPES = ("bleeding_haematoma", "pain", "vegetative", "other")
AE_SEVERITIES = ("mild", "moderate", "severe")
SIDES = ("left", "right", "both")
SEVERITY_BANDS = ("mild", "moderate", "severe")
EPSILON = 1e-9
"""The core's tolerance for a threshold met (response._EPSILON)."""

Array = npt.NDArray[Any]


class SynthError(ValueError):
    """Bad synthesis arguments; the message names the argument."""


@dataclass(frozen=True)
class CauseProfile:
    share: float
    age_mean: float
    age_sd: float
    age_min: int
    age_max: int
    female: float


@dataclass(frozen=True)
class SynthConfig:
    """Every rate the generator uses; see the module docstring for which are sourced."""

    causes: dict[str, CauseProfile] = field(
        default_factory=lambda: {
            # share, age mean/sd/min/max, female share: ASSUMPTIONS except the OA mean age
            # (Berman 2004: 65.5).
            "knee_osteoarthritis": CauseProfile(0.55, 65.5, 9.5, 40, 98, 0.62),
            "patellofemoral_pain": CauseProfile(0.12, 32.0, 11.0, 18, 80, 0.60),
            "pes_anserine_tendinopathy_bursitis": CauseProfile(0.08, 58.0, 11.0, 30, 95, 0.70),
            "patellar_tendinopathy": CauseProfile(0.06, 30.0, 9.0, 18, 70, 0.35),
            "iliotibial_band_syndrome": CauseProfile(0.05, 33.0, 10.0, 18, 75, 0.45),
            "unspecified_knee_pain": CauseProfile(0.14, 52.0, 16.0, 18, 98, 0.55),
        }
    )
    other_sex: float = 0.005
    unknown_sex: float = 0.005
    protocol_weights: dict[str, float] = field(
        default_factory=lambda: {"knee-oa-electro-tu2021": 0.25, "knee-oa-manual-tu2021": 0.15}
    )
    """Weights of non-default protocols within their cause; the default gets the rest
    (ASSUMPTION)."""
    success_rate: dict[str, float] = field(
        default_factory=lambda: {
            "knee-oa-manual-gerac": 0.531,  # Scharf 2006 (GERAC), TCA arm
            "knee-oa-electro-tu2021": 0.603,  # Tu 2021, EA arm
            "knee-oa-manual-tu2021": 0.586,  # Tu 2021, MA arm
        }
    )
    default_success_rate: float = 0.531
    """For protocols without a trial figure: the GERAC rate (ASSUMPTION)."""
    success_threshold: float = 0.36
    """GERAC success: >= 36 % improvement (Scharf 2006)."""
    response_sd: float = 0.30
    dropout: float = 0.25
    missed_session: float = 0.05
    ae_per_session: float = 0.0111
    ae_types: tuple[float, ...] = (0.58, 0.22, 0.11, 0.09)
    ae_severity: tuple[float, ...] = (0.755, 0.244, 0.001)
    # comorbidity rates (under 60, 60 and over): ASSUMPTIONS
    diabetes: tuple[float, float] = (0.06, 0.15)
    anticoagulated: tuple[float, float] = (0.02, 0.09)
    cardiac_device: tuple[float, float] = (0.002, 0.02)
    knee_prosthesis_oa: float = 0.06
    knee_prosthesis_other: float = 0.005
    sides: tuple[float, float, float] = (0.35, 0.35, 0.30)
    measured_circumference: float = 0.6
    measured_pss4: float = 0.5
    measured_skin_temperature: float = 0.2
    missing_patient_global: float = 0.03
    first_start: dt.date = dt.date(2019, 1, 1)
    start_span_days: int = 7 * 365


DEFAULT_CONFIG = SynthConfig()


@dataclass(frozen=True)
class SynthClinic:
    number: int
    """1..K within the cohort; ``clinic_id`` in the Parquet output (the database writer maps it
    to the Clinic row's id)."""
    name: str
    slug: str
    region: str


@dataclass
class Cohort:
    """Columns of both research tables as numpy arrays, in schema order.

    Nulls: NaN in float columns, NaT in date columns, None in text columns, and -1 in nullable
    bool columns (stored as int8 0/1/-1)."""

    courses: dict[str, Array]
    adverse_events: dict[str, Array]
    clinics: tuple[SynthClinic, ...]

    def __len__(self) -> int:
        return len(self.courses["course_id"])

    @staticmethod
    def concat(parts: Sequence[Cohort]) -> Cohort:
        if not parts:
            raise SynthError("no chunks to concatenate")
        return Cohort(
            {k: np.concatenate([p.courses[k] for p in parts]) for k in parts[0].courses},
            {
                k: np.concatenate([p.adverse_events[k] for p in parts])
                for k in parts[0].adverse_events
            },
            parts[0].clinics,
        )


# --- the knowledge the generator follows -----------------------------------------------------


@dataclass(frozen=True)
class _Protocols:
    ids: tuple[str, ...]
    methods: tuple[str, ...]
    sessions: npt.NDArray[np.int64]
    course_weeks: Array
    follow_up_weeks: tuple[tuple[int, ...], ...]
    success: Array
    by_cause: dict[str, tuple[list[int], list[float]]]
    manual_twin: npt.NDArray[np.int64]
    """Per protocol: itself, or for an electro protocol the manual one of the same cause."""


@dataclass(frozen=True)
class _Thresholds:
    relative: float
    absolute: float
    high_relative: float
    high_absolute: float
    required: int
    mic_pain: float | None
    mic_function: float | None


def _protocols(config: SynthConfig) -> _Protocols:
    kb = load_knowledge()
    protocols = sorted(kb.protocols.values(), key=lambda p: p.id)
    ids = tuple(p.id for p in protocols)
    by_cause: dict[str, tuple[list[int], list[float]]] = {}
    for cause in config.causes:
        members = [i for i, p in enumerate(protocols) if p.cause == cause]
        if not members:
            raise SynthError(f"cause {cause!r}: no protocol in the knowledge base")
        weights = [config.protocol_weights.get(protocols[i].id, 0.0) for i in members]
        default = next((i for i in members if protocols[i].default_for_cause), members[0])
        weights[members.index(default)] = max(0.0, 1.0 - sum(weights))
        by_cause[cause] = (members, weights)
    twin = []
    for i, p in enumerate(protocols):
        if p.method == "manual":
            twin.append(i)
            continue
        manual = [j for j, q in enumerate(protocols) if q.cause == p.cause and q.method == "manual"]
        twin.append(manual[0] if manual else i)
    sessions = np.array([p.number_of_sessions or 10 for p in protocols], dtype=np.int64)
    per_week = np.array([p.sessions_per_week or 2 for p in protocols], dtype=np.float64)
    weeks = sessions / per_week
    follow_ups = tuple(
        tuple(w for w in (p.reassessment_weeks or [6]) if w >= weeks[i])
        or (max(p.reassessment_weeks or [6]),)
        for i, p in enumerate(protocols)
    )
    success = np.array(
        [config.success_rate.get(p.id, config.default_success_rate) for p in protocols]
    )
    return _Protocols(
        ids=ids,
        methods=tuple(str(p.method) for p in protocols),
        sessions=sessions,
        course_weeks=weeks,
        follow_up_weeks=follow_ups,
        success=success,
        by_cause=by_cause,
        manual_twin=np.array(twin, dtype=np.int64),
    )


def _thresholds() -> _Thresholds:
    kb = load_knowledge()
    criteria = kb.responder_criteria["omeract_oarsi"]

    def mic(instrument: str, subscale: str) -> float | None:
        sub = next(s for s in kb.instruments[instrument].subscales if s.id == subscale)
        found = next((m for m in sub.mic if m.kind in ("mic", "mcid", "mcii")), None)
        return None if found is None else abs(found.value)

    return _Thresholds(
        relative=criteria.relative_percent,
        absolute=criteria.absolute,
        high_relative=criteria.high_relative_percent,
        high_absolute=criteria.high_absolute,
        required=criteria.domains_required,
        mic_pain=mic("koos", "pain"),
        mic_function=mic("koos", "adl"),
    )


# --- scores, exactly as the core computes them -------------------------------------------------


def koos_score(item_sum: Array, items: int) -> Array:
    """KOOS subscale from the sum of ``items`` answers coded 0-4: 100 - mean x 100 / 4, in the
    same floating-point steps as ``instruments.score`` so the core reproduces it bit for bit."""
    mean = item_sum / items
    return 100 - (mean - 0) * 100 / (4 - 0)


def worse_0_100(value: Array, low: float, high: float, higher_is_better: bool) -> Array:
    """``response.normalise_worse`` vectorised: 0-100, higher = worse."""
    share = (value - low) / (high - low) * 100
    return 100 - share if higher_is_better else share


def oarsi_verdicts(
    pain: tuple[Array, Array],
    function: tuple[Array, Array],
    patient_global: tuple[Array, Array],
    t: _Thresholds | None = None,
) -> npt.NDArray[np.int8]:
    """OMERACT-OARSI (Pham 2004; thresholds from knowledge/response.toml) for arrays of
    (baseline, follow-up) on 0-100, higher = worse, NaN = missing: 0 responder, 1 non-responder,
    2 not evaluable. The same decision as ``response._verdict``, including when a missing domain
    leaves the verdict open."""
    t = t or _thresholds()

    def judge(
        pair: tuple[Array, Array],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        before, after = pair
        gap = np.isnan(before) | np.isnan(after)
        absolute = before - after
        positive = before > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.where(positive, absolute / np.where(positive, before, 1) * 100, 0.0)
        ok = ~gap & positive
        improved = ok & (relative >= t.relative - EPSILON) & (absolute >= t.absolute - EPSILON)
        high = (
            ok & (relative >= t.high_relative - EPSILON) & (absolute >= t.high_absolute - EPSILON)
        )
        return gap, improved, high

    pain_gap, pain_improved, pain_high = judge(pain)
    fn_gap, fn_improved, fn_high = judge(function)
    pg_gap, pg_improved, _ = judge(patient_global)
    met = pain_improved.astype(np.int8) + fn_improved + pg_improved
    gaps = pain_gap.astype(np.int8) + fn_gap + pg_gap
    responder = pain_high | fn_high | (met >= t.required)
    open_ = pain_gap | fn_gap | (met + gaps >= t.required)
    out = np.where(responder, 0, np.where(open_, 2, 1)).astype(np.int8)
    return out


# --- generation --------------------------------------------------------------------------------


def _check(patients: int, clinics: int, seed: int) -> None:
    if patients < 1:
        raise SynthError(f"--patients must be at least 1 (got {patients})")
    if clinics < 1:
        raise SynthError(f"--clinics must be at least 1 (got {clinics})")
    if clinics > patients:
        raise SynthError(f"--clinics ({clinics}) cannot exceed --patients ({patients})")
    if seed < 0:
        raise SynthError(f"--seed must be 0 or more (got {seed})")


def synth_clinics(clinics: int, seed: int) -> tuple[tuple[SynthClinic, ...], Array]:
    """The K synthetic clinics (marked synthetic in name and slug) and their patient shares."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2**31,))))
    weights = rng.lognormal(0.0, 0.8, clinics)
    regions = rng.integers(0, len(REGIONS), clinics)
    found = tuple(
        SynthClinic(
            number=i + 1,
            name=f"Synthetic clinic {i + 1:04d} (seed {seed})",
            slug=f"synthetic-s{seed}-c{i + 1:04d}",
            region=REGIONS[regions[i]],
        )
        for i in range(clinics)
    )
    return found, weights / weights.sum()


def _pick(
    rng: np.random.Generator, n: int, probabilities: Sequence[float]
) -> npt.NDArray[np.int64]:
    cumulative = np.cumsum(np.asarray(probabilities, dtype=np.float64))
    cumulative /= cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), len(cumulative) - 1)


def _labels(values: Sequence[str], codes: npt.NDArray[np.integer]) -> Array:
    return np.asarray(values, dtype=object)[codes]


def _rate(pair: tuple[float, float], old: npt.NDArray[np.bool_]) -> Array:
    return np.where(old, pair[1], pair[0])


def _block(
    block: int,
    patients: int,
    seed: int,
    clinics: tuple[SynthClinic, ...],
    clinic_weights: Array,
    config: SynthConfig,
    protocols: _Protocols,
    t: _Thresholds,
) -> Cohort:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    first = block * BLOCK
    n = min(BLOCK, patients - first)
    index = np.arange(first, first + n, dtype=np.int64)
    k = len(clinics)

    # clinic: the first K patients give every clinic at least one course
    clinic = np.where(index < k, index, _pick(rng, n, clinic_weights.tolist()))
    region_codes = np.array([REGIONS.index(c.region) for c in clinics])[clinic]

    # cause, age, sex
    causes = list(config.causes)
    profiles = [config.causes[c] for c in causes]
    cause = _pick(rng, n, [p.share for p in profiles])
    mean = np.array([p.age_mean for p in profiles])[cause]
    sd = np.array([p.age_sd for p in profiles])[cause]
    low = np.array([p.age_min for p in profiles])[cause]
    high = np.array([p.age_max for p in profiles])[cause]
    age = np.clip(np.rint(rng.normal(mean, sd)), low, high).astype(np.int64)
    female = np.array([p.female for p in profiles])[cause]
    u = rng.random(n)
    sex = np.where(
        u < config.other_sex,
        2,
        np.where(
            u < config.other_sex + config.unknown_sex,
            3,
            np.where(u < config.other_sex + config.unknown_sex + female, 0, 1),
        ),
    )
    old = age >= 60
    diabetes = rng.random(n) < _rate(config.diabetes, old)
    anticoagulated = rng.random(n) < _rate(config.anticoagulated, old)
    cardiac_device = rng.random(n) < _rate(config.cardiac_device, old)
    is_oa = np.array([c == "knee_osteoarthritis" for c in causes])[cause]
    knee_prosthesis = rng.random(n) < np.where(
        is_oa, config.knee_prosthesis_oa, config.knee_prosthesis_other
    )
    side = _pick(rng, n, config.sides)

    # protocol (consistent with the cause; no electro with a cardiac device)
    protocol = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    for c, name in enumerate(causes):
        members, weights = protocols.by_cause[name]
        rows = cause == c
        cumulative = np.cumsum(weights) / max(sum(weights), 1e-12)
        chosen = np.minimum(np.searchsorted(cumulative, u[rows], side="right"), len(members) - 1)
        protocol[rows] = np.asarray(members)[chosen]
    protocol = np.where(cardiac_device, protocols.manual_twin[protocol], protocol)
    method = _labels(protocols.methods, protocol)

    # sessions and dropout
    planned = protocols.sessions[protocol]
    dropped = rng.random(n) < config.dropout
    early = 1 + np.floor(rng.random(n) * np.maximum(planned - 1, 1)).astype(np.int64)
    missed = rng.binomial(planned, config.missed_session)
    attended = np.where(dropped, np.minimum(early, planned - 1), planned - missed)
    attended = np.maximum(attended, 1)
    dropped &= planned > 1
    completed = attended == planned
    followed = ~dropped

    # dates
    start_day = rng.integers(0, config.start_span_days, n)
    start = np.datetime64(config.first_start, "D") + start_day.astype("timedelta64[D]")
    weeks_choice = rng.random(n)
    target_week = np.empty(n, dtype=np.float64)
    for p, weeks in enumerate(protocols.follow_up_weeks):
        rows = protocol == p
        options = np.asarray(weeks, dtype=np.float64)
        target_week[rows] = options[
            np.minimum((weeks_choice[rows] * len(options)).astype(np.int64), len(options) - 1)
        ]
    days = np.maximum(1, np.rint(target_week * 7 + rng.normal(0, 2, n))).astype(np.int64)
    follow_up_date = np.where(
        followed, start + days.astype("timedelta64[D]"), np.datetime64("NaT", "D")
    )
    follow_up_weeks = np.where(followed, days / 7, np.nan)

    # baseline values
    nrs0 = np.clip(np.rint(rng.normal(5.6, 1.8, n)), 1, 10)
    severity = np.where(nrs0 <= 4, 0, np.where(nrs0 <= 7, 1, 2))
    pain_sum0 = np.clip(np.rint((nrs0 * 9 + rng.normal(0, 10, n)) / 100 * 36), 0, 36)
    adl_sum0 = np.clip(np.rint((nrs0 * 8 + rng.normal(0, 12, n)) / 100 * 68), 0, 68)
    pg0 = np.clip(np.rint(nrs0 + rng.normal(0, 1.3, n)), 0, 10)

    # response: P(function improves >= 36 %) = the protocol's trial success rate
    z = np.array([NormalDist().inv_cdf(p) for p in protocols.success])
    mu = config.success_threshold + config.response_sd * z[protocol]
    r = rng.normal(mu, config.response_sd)

    def moved(before: Array, share: Array, top: int) -> Array:
        return np.clip(np.rint(before * (1 - np.minimum(share, 1.0))), 0, top)

    adl_sum1 = moved(adl_sum0, r, 68)
    pain_sum1 = moved(pain_sum0, r + rng.normal(0, 0.12, n), 36)
    nrs1 = moved(nrs0, r + rng.normal(0, 0.15, n), 10)
    pg1 = moved(pg0, r + rng.normal(0, 0.2, n), 10)
    pg1 = np.where(rng.random(n) < config.missing_patient_global, np.nan, pg1)
    nan = np.full(n, np.nan)
    koos_pain0, koos_adl0 = koos_score(pain_sum0, 9), koos_score(adl_sum0, 17)
    koos_pain1 = np.where(followed, koos_score(pain_sum1, 9), nan)
    koos_adl1 = np.where(followed, koos_score(adl_sum1, 17), nan)
    nrs1 = np.where(followed, nrs1, nan)
    pg1 = np.where(followed, pg1, nan)

    # OMERACT-OARSI, as the core decides it (pain: the NRS, else KOOS Pain)
    nrs_pair = (worse_0_100(nrs0, 0, 10, False), worse_0_100(nrs1, 0, 10, False))
    koos_pair = (worse_0_100(koos_pain0, 0, 100, True), worse_0_100(koos_pain1, 0, 100, True))
    nrs_ok = ~(np.isnan(nrs_pair[0]) | np.isnan(nrs_pair[1]))
    pain_pair = (
        np.where(nrs_ok, nrs_pair[0], koos_pair[0]),
        np.where(nrs_ok, nrs_pair[1], koos_pair[1]),
    )
    verdict = oarsi_verdicts(
        pain_pair,
        (worse_0_100(koos_adl0, 0, 100, True), worse_0_100(koos_adl1, 0, 100, True)),
        (worse_0_100(pg0, 0, 10, False), worse_0_100(pg1, 0, 10, False)),
        t,
    )
    verdict = np.where(followed, verdict, 2).astype(np.int8)
    responder = np.where(verdict == 2, -1, verdict == 0).astype(np.int8)

    # the other domains (ASSUMPTIONS throughout; no MIC exists for them)
    one_knee = side != 2
    circ = rng.random(n) < config.measured_circumference
    circ &= one_knee
    circ0 = np.round(np.abs(rng.normal(1.0, 0.8, n)), 1)
    circ1 = np.round(
        np.maximum(circ0 * (1 - 0.5 * np.clip(r, -0.5, 1)) + rng.normal(0, 0.3, n), -1), 1
    )
    pss = rng.random(n) < config.measured_pss4
    pss0 = np.clip(np.rint(rng.normal(6, 3, n)), 0, 16)
    pss1 = np.clip(np.rint(pss0 - rng.normal(1.0, 2.0, n)), 0, 16)
    skin = rng.random(n) < config.measured_skin_temperature
    skin0 = np.round(rng.normal(0.5, 0.6, n), 1)
    skin1 = np.round(skin0 - rng.normal(0.1, 0.4, n), 1)

    columns: dict[str, Array] = {
        "course_id": index + 1,
        "clinic_id": (clinic + 1).astype(np.int64),
        "clinic_region": _labels(REGIONS, region_codes),
        "sex": _labels(SEXES, sex),
        "age": age,
        "age_band": _labels(AGE_BANDS, _age_band_codes(age)),
        "cause": _labels(causes, cause),
        "severity_band": _labels(SEVERITY_BANDS, severity),
        "side": _labels(SIDES, side),
        "diabetes": diabetes,
        "anticoagulated": anticoagulated,
        "cardiac_device": cardiac_device,
        "knee_prosthesis": knee_prosthesis,
        "protocol_id": _labels(protocols.ids, protocol),
        "method": method,
        "start_date": start,
        "sessions_planned": planned,
        "sessions_attended": attended,
        "completed": completed,
        "dropped_out": dropped,
        "follow_up_weeks": follow_up_weeks,
        "follow_up_date": follow_up_date,
        "verdict": _labels(VERDICTS, verdict),
        "responder": responder,
        "pain_nrs_baseline": nrs0,
        "pain_nrs_final": nrs1,
        "patient_global_baseline": pg0,
        "patient_global_final": pg1,
    }
    measures = {
        "pain": (koos_pain0, koos_pain1, True, t.mic_pain, np.ones(n, dtype=bool)),
        "function": (koos_adl0, koos_adl1, True, t.mic_function, np.ones(n, dtype=bool)),
        "inflammation": (circ0, circ1, False, None, circ),
        "relaxation": (pss0, pss1, False, None, pss),
        "skin_temperature": (skin0, skin1, False, None, skin),
    }
    for domain, (before, after, better_up, mic, measured) in measures.items():
        b = np.where(measured, before, nan)
        f = np.where(measured & followed, after, nan)
        improvement = (f - b) if better_up else (b - f)
        if mic is None:
            reached = np.full(n, -1, dtype=np.int8)
        else:
            reached = np.where(np.isnan(improvement), -1, improvement >= mic - EPSILON)
        columns[f"{domain}_baseline"] = b
        columns[f"{domain}_final"] = f
        columns[f"{domain}_improvement"] = improvement
        columns[f"{domain}_mic_reached"] = reached.astype(np.int8)
    courses = {c.name: columns[c.name] for c in COURSE_COLUMNS}

    # adverse events: binomial per attended session
    count = rng.binomial(attended, config.ae_per_session)
    total = int(count.sum())
    owner = np.repeat(np.arange(n), count)
    events: dict[str, Array] = {
        "course_id": (index + 1)[owner],
        "session_number": 1 + np.floor(rng.random(total) * attended[owner]).astype(np.int64),
        "type": _labels(AE_TYPES, _pick(rng, total, config.ae_types)),
        "severity": _labels(AE_SEVERITIES, _pick(rng, total, config.ae_severity)),
    }
    return Cohort(courses, events, clinics)


def _age_band_codes(age: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``schema.age_band`` vectorised (``schema.age_band_codes``)."""
    codes: npt.NDArray[np.int64] = age_band_codes(age)
    return codes


def iter_cohort(
    patients: int, clinics: int, seed: int, config: SynthConfig = DEFAULT_CONFIG
) -> Iterator[Cohort]:
    """The cohort in chunks of ``BLOCK`` courses; the same seed gives the same rows. Bad sizes
    raise ``SynthError`` at once, before any chunk is made."""
    _check(patients, clinics, seed)
    found, weights = synth_clinics(clinics, seed)
    protocols, t = _protocols(config), _thresholds()
    return (
        _block(block, patients, seed, found, weights, config, protocols, t)
        for block in range((patients + BLOCK - 1) // BLOCK)
    )


def synthesize(
    patients: int, clinics: int, seed: int, config: SynthConfig = DEFAULT_CONFIG
) -> Cohort:
    """The whole cohort in memory (about 0.5 GB at 1M courses; prefer ``iter_cohort``)."""
    return Cohort.concat(list(iter_cohort(patients, clinics, seed, config)))
