"""Synthetic intakes for the batch benchmark: random, seeded, valid, never a real patient.

Field names, item codes and answer ranges are read from the intake model and the knowledge base,
so the generator follows the data instead of repeating it. Rates are chosen to exercise every
path (red flags, contraindications, preferences, patterns), not to mirror a clinic population.
"""

from __future__ import annotations

import json
import random
from typing import Any

from acuknee.clinical.intake import Examination, Health, Injury, RedFlagFindings
from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.vocabulary import Method, PainLocation, Sex, Side

_RED_FLAG_RATE = 0.01  # per finding: about one intake in six has at least one red flag
_HEALTH_RATE = 0.04  # per yes/no health item
_SIDED_RATE = 0.04  # prosthesis, lymphoedema, varicose veins, tumour near the knee
_SINGLE_SIDES = [Side.LEFT.value, Side.RIGHT.value]


def _bool_fields(model: type[Any]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.annotation is bool]


def _tristate_fields(model: type[Any]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.annotation == bool | None]


def _answers(rng: random.Random, kb: KnowledgeBase, instrument: str, skip: float) -> dict[str, Any]:
    """One measurement: every item in its range, integer where the item is, some skipped."""
    answers: dict[str, Any] = {}
    for item in kb.instruments[instrument].items:
        if rng.random() < skip:
            answers[item.code] = None
        elif item.integer:
            answers[item.code] = rng.randint(int(item.min), int(item.max))
        else:
            answers[item.code] = round(rng.uniform(item.min, item.max), 1)
    return answers


def _health(rng: random.Random, kb: KnowledgeBase, sex: str, age: int) -> dict[str, Any]:
    health: dict[str, Any] = {
        name: rng.random() < _HEALTH_RATE
        for name in _bool_fields(Health)
        if name not in {"pregnant", "able_to_consent"}
    }
    health["able_to_consent"] = rng.random() > 0.01
    if sex == Sex.FEMALE.value and age < 50 and rng.random() < 0.1:
        health["pregnant"] = True
        health["pregnancy_weeks"] = rng.randint(4, 40)
    for name in ("knee_prosthesis", "lymphoedema_leg", "varicose_veins", "malignancy_near_knee"):
        if rng.random() < _SIDED_RATE:
            health[name] = rng.choice(_SINGLE_SIDES)
    if rng.random() < 0.05:
        health["skin_lesions"] = [
            {"region": rng.choice(sorted(kb.regions)), "side": rng.choice(_SINGLE_SIDES)}
        ]
    return health


def _injury(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() >= 0.15:
        return None
    injury: dict[str, Any] = {name: rng.random() < 0.2 for name in _bool_fields(Injury)}
    injury["days_ago"] = rng.randint(0, 30)
    return injury


def _preferences(rng: random.Random, kb: KnowledgeBase) -> dict[str, Any]:
    prefs: dict[str, Any] = {}
    if rng.random() < 0.3:
        prefs["method"] = rng.choice(list(Method)).value
    if rng.random() < 0.2:
        prefs["use_patterns"] = True
        prefs["pattern"] = rng.choice(sorted(kb.patterns))
    return prefs


def intake(rng: random.Random, kb: KnowledgeBase) -> dict[str, Any]:
    """One synthetic intake as the JSON object a practitioner's client would send."""
    age = rng.randint(18, 90)
    sex = rng.choice(list(Sex)).value
    locations = rng.sample(list(PainLocation), k=rng.randint(1, 2))
    examination: dict[str, Any] = {
        name: rng.choice([True, False, None]) for name in _tristate_fields(Examination)
    }
    examination["pain_location"] = [loc.value for loc in locations]
    data: dict[str, Any] = {
        "age": age,
        "sex": sex,
        "side": rng.choice(list(Side)).value,
        "duration_weeks": round(rng.uniform(0.5, 520), 1),
        "activity_related_pain": rng.choice([True, False, None]),
        "morning_stiffness_minutes": rng.choice([None, rng.randint(0, 60)]),
        "red_flags": {n: rng.random() < _RED_FLAG_RATE for n in _bool_fields(RedFlagFindings)},
        "health": _health(rng, kb, sex, age),
        "examination": examination,
        "baseline": {
            "koos": _answers(rng, kb, "koos", skip=0.03),
            "pain_nrs": _answers(rng, kb, "pain_nrs", skip=0.0),
            "patient_global": _answers(rng, kb, "patient_global", skip=0.0),
        },
        "preferences": _preferences(rng, kb),
    }
    injury = _injury(rng)
    if injury is not None:
        data["injury"] = injury
    if rng.random() < 0.4:
        data["investigations"] = {
            "esr_mm_per_hour": rng.choice([None, rng.randint(2, 60)]),
            "rheumatoid_factor_below_1_in_40": rng.choice([True, False, None]),
            "xray_osteophytes": rng.choice([True, False, None]),
            "kellgren_lawrence_grade": rng.choice([None, rng.randint(0, 4)]),
        }
    return data


def intake_texts(count: int, seed: int, kb: KnowledgeBase | None = None) -> list[str]:
    """``count`` intakes as JSON text; the same seed always gives the same intakes."""
    kb = load_knowledge() if kb is None else kb
    rng = random.Random(seed)
    return [json.dumps(intake(rng, kb)) for _ in range(count)]
