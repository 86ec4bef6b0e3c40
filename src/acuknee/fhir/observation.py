"""Observation: one per scored subscale of a measurement, LOINC-coded where a code was verified."""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.observation import Observation

from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.instruments import Scores
from acuknee.clinical.knowledge import Instrument, KnowledgeBase, Subscale
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, date_text, knowledge, reference, validating_each

# observation-category: self-reports are surveys; performance tests and examination measures are
# examination findings.
CATEGORY: dict[str, tuple[str, str]] = {
    "questionnaire": ("survey", "Survey"),
    "rating": ("survey", "Survey"),
    "performance": ("exam", "Exam"),
    "clinical": ("exam", "Exam"),
}


def _code(inst: Instrument, sub: Subscale) -> Json:
    """The subscale's LOINC code (instruments.toml ``loinc``, with its source there) plus
    acuknee's own ``<instrument>.<subscale>`` code, which tells apart scores sharing one LOINC."""
    listed: list[Json] = []
    if sub.loinc:
        listed.append(coding(codes.LOINC, sub.loinc))
    listed.append(coding(codes.SUBSCALE_SYSTEM, f"{inst.id}.{sub.id}", sub.name))
    return {"coding": listed, "text": sub.name}


def _quantity(sub: Subscale, value: float) -> Json:
    out: Json = {"value": value, "unit": sub.unit}
    ucum = codes.UCUM_UNITS.get(sub.unit)
    if ucum is not None:
        out["system"] = codes.UCUM
        out["code"] = ucum
    return out


def observation_data(
    scores: Scores,
    instrument: str,
    date: dt.date,
    patient_ref: str,
    questionnaire_response_ref: str | None = None,
    *,
    kb: KnowledgeBase | None = None,
) -> list[Json]:
    """One final Observation per subscale that could be scored, in the instrument's order.

    A subscale with too few answers (``value`` None) is left out: the QuestionnaireResponse keeps
    what was answered. Values keep full precision; the unit is the instrument's, with a UCUM code
    where ``codes.UCUM_UNITS`` has one. ``derivedFrom`` points at the QuestionnaireResponse.
    """
    kb = knowledge(kb)
    if scores.instrument != instrument:
        raise InvalidInput(
            "instrument", f"scores are of {scores.instrument!r}, not of {instrument!r}"
        )
    inst = kb.instruments.get(instrument)
    if inst is None:
        raise InvalidInput("instrument", f"unknown instrument {instrument!r}")
    category_code, category_display = CATEGORY[inst.kind]
    out: list[Json] = []
    for sub in inst.subscales:
        score = scores.subscales.get(sub.id)
        if score is None or score.value is None:
            continue
        data: Json = {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {"coding": [coding(codes.OBSERVATION_CATEGORY, category_code, category_display)]}
            ],
            "code": _code(inst, sub),
            "subject": reference(patient_ref),
            "effectiveDateTime": date_text(date),
            "valueQuantity": _quantity(sub, score.value),
        }
        notes = [f"{inst.name}: {sub.direction.value.replace('_', ' ')}."]
        if score.note:
            notes.append(score.note)
        data["note"] = [{"text": n} for n in notes]
        if questionnaire_response_ref is not None:
            data["derivedFrom"] = [reference(questionnaire_response_ref)]
        out.append(data)
    return out


observation_resources = validating_each(Observation, observation_data)
