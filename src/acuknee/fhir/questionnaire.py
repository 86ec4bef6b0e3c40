"""Questionnaire and QuestionnaireResponse for every instrument, and the way back to answers.

Item ``linkId`` is the instrument's item code (``P1``, ``average_last_week``), so a response maps
to the core's answers without a lookup table. Licensed instruments (the KOOS family) carry only the
paraphrased labels of ``knowledge/instruments.toml`` unless the clinic passes its licensed wording.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from acuknee.clinical.errors import InvalidInput, InvalidInputs
from acuknee.clinical.instruments import validate_answers
from acuknee.clinical.knowledge import Instrument, Item, KnowledgeBase
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, date_text, knowledge, reference, validating, with_id

ACCEPTED_STATUSES = ("completed", "amended")
"""A response is scored only when the patient finished it (FHIR QuestionnaireResponse.status)."""


def _instrument(kb: KnowledgeBase, instrument: str, field: str = "instrument") -> Instrument:
    found = kb.instruments.get(instrument)
    if found is None:
        known = ", ".join(sorted(kb.instruments))
        raise InvalidInput(field, f"unknown instrument {instrument!r}; known: {known}")
    return found


def _item(item: Item, text: str) -> Json:
    out: Json = {"linkId": item.code}
    if item.loinc:
        out["code"] = [coding(codes.LOINC, item.loinc)]
    out |= {"text": text, "type": "integer" if item.integer else "decimal", "required": False}
    return out


def questionnaire_data(
    instrument: str,
    *,
    item_text: Mapping[str, str] | None = None,
    kb: KnowledgeBase | None = None,
) -> Json:
    """The instrument as a Questionnaire: item codes and paraphrased labels only.

    ``item_text`` (item code -> wording) is the clinic's licensed wording, e.g. one instrument's
    part of ``acuknee.clinical.instruments.load_item_text``; items it lacks keep their label.
    Item LOINC codes are those of ``instruments.toml`` (KOOS JR items: PACIO sample data).
    Every item is optional, because the missing-item rules of the scoring decide what counts.
    """
    kb = knowledge(kb)
    inst = _instrument(kb, instrument)
    texts = dict(item_text or {})
    unknown = sorted(set(texts) - {i.code for i in inst.items})
    if unknown:
        raise InvalidInput(f"{inst.id}.{unknown[0]}", "unknown item code for this instrument")
    data: Json = {
        "resourceType": "Questionnaire",
        "id": inst.id.replace("_", "-"),
        "url": codes.questionnaire_url(inst.id),
        "name": "".join(part.capitalize() for part in inst.id.split("_")),
        "title": inst.name,
        "status": "active",
        "subjectType": ["Patient"],
    }
    if inst.recall:
        data["description"] = f"Recall period: {inst.recall}."
    data["copyright"] = inst.licence
    items = [_item(i, texts.get(i.code, i.label)) for i in inst.items]
    if items:
        data["item"] = items
    return data


questionnaire_resource = validating(Questionnaire, questionnaire_data)


def questionnaire_response_data(
    instrument: str,
    answers: Mapping[str, float | None],
    date: dt.date,
    patient_ref: str,
    *,
    resource_id: str | None = None,
    kb: KnowledgeBase | None = None,
) -> Json:
    """One measurement's answers as a completed QuestionnaireResponse.

    Answers are validated first (``InvalidInput`` naming ``<instrument>.<item>``); skipped items
    (``None``) are left out, as FHIR does for unanswered questions. Items of a parent instrument
    that a short form does not ask are not part of its Questionnaire and are left out too.
    """
    kb = knowledge(kb)
    inst = _instrument(kb, instrument)
    values = validate_answers(inst.id, answers, kb)
    items: list[Json] = []
    for item in inst.items:
        if item.code not in values:
            continue
        value = values[item.code]
        answer: Json = {"valueInteger": int(value)} if item.integer else {"valueDecimal": value}
        items.append({"linkId": item.code, "answer": [answer]})
    data: Json = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": codes.questionnaire_url(inst.id),
        "status": "completed",
        "subject": reference(patient_ref),
        "authored": date_text(date),
    }
    if items:
        data["item"] = items
    return with_id(data, resource_id)


questionnaire_response_resource = validating(QuestionnaireResponse, questionnaire_response_data)


def _answer_value(field: str, answers: list[Any]) -> tuple[float | None, InvalidInput | None]:
    if not answers:
        return None, None
    if len(answers) > 1:
        return None, InvalidInput(field, f"one answer expected, {len(answers)} given")
    answer = answers[0]
    if answer.valueInteger is not None:
        return float(answer.valueInteger), None
    if answer.valueDecimal is not None:
        return float(answer.valueDecimal), None
    return None, InvalidInput(field, "must be a number (valueInteger or valueDecimal)")


def answers_from_questionnaire_response(
    resource: QuestionnaireResponse, *, kb: KnowledgeBase | None = None
) -> tuple[str, dict[str, float | None]]:
    """(instrument id, answers) from a QuestionnaireResponse, validated as the core validates.

    The instrument comes from ``questionnaire`` (``urn:acuknee:questionnaire:<id>``, a
    ``|version`` suffix ignored); each item's ``linkId`` is an item code and carries at most one
    numeric answer. Raises ``InvalidInput`` (or ``InvalidInputs`` for several problems), naming
    ``<instrument>.<item>`` for an item's problem and the element for a response-level one.
    """
    kb = knowledge(kb)
    canonical = (resource.questionnaire or "").split("|", 1)[0]
    if not canonical.startswith(codes.QUESTIONNAIRE_BASE):
        raise InvalidInput(
            "QuestionnaireResponse.questionnaire",
            f"must be {codes.QUESTIONNAIRE_BASE}<instrument>, not {resource.questionnaire!r}",
        )
    inst = _instrument(
        kb, canonical[len(codes.QUESTIONNAIRE_BASE) :], "QuestionnaireResponse.questionnaire"
    )
    if resource.status not in ACCEPTED_STATUSES:
        raise InvalidInput(
            "QuestionnaireResponse.status",
            f"must be {' or '.join(ACCEPTED_STATUSES)} to be scored, not {resource.status!r}",
        )
    own = {i.code for i in inst.items}
    errors: list[InvalidInput] = []
    answers: dict[str, float | None] = {}
    for item in resource.item or []:
        code = item.linkId
        field = f"{inst.id}.{code}"
        if code not in own:
            errors.append(InvalidInput(field, "unknown item code for this instrument"))
            continue
        if code in answers:
            errors.append(InvalidInput(field, "the item is answered twice"))
            continue
        if item.item:
            errors.append(InvalidInput(field, "nested items are not part of this instrument"))
            continue
        value, problem = _answer_value(field, list(item.answer or []))
        if problem is not None:
            errors.append(problem)
            continue
        answers[code] = value
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidInputs(errors)
    validate_answers(inst.id, answers, kb)
    return inst.id, answers
