"""FHIR Bulk Data export: NDJSON lines from plain database rows, one resource type at a time.

The export reads rows the caller already fetched (``QuerySet.values()`` dicts, streamed with
``.iterator()``), so every function here is a generator over an iterable: one row in, its lines
out, nothing kept. Memory therefore stays flat however many patients a clinic has.

Resources are built as the mapping functions build them (``patient_resource``,
``questionnaire_response_resource``, ``observation_resources``: same elements, same codes) but
without validating each one with fhir.resources, which would cost ~100x the serialising; the
tests validate the exported lines against fhir.resources and against the mapping functions.
What never changes per instrument (codes, categories, units) is built once per export.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, knowledge
from acuknee.fhir.observation import CATEGORY
from acuknee.fhir.patient import GENDER

Row = Mapping[str, Any]
Lines = Iterator[str]

RESOURCE_TYPES: tuple[str, ...] = ("Patient", "QuestionnaireResponse", "Observation")
"""What ``$export`` writes, one NDJSON file each, in this order."""

PATIENT_FIELDS = (
    "id",
    "clinic__slug",
    "record_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
)
"""The ``.values()`` columns of a Patient row."""
_MEASUREMENT = ("id", "patient_id", "measured_on", "instrument")

_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False
).encode
"""Compact JSON, one resource per line; the C encoder, with no per-call set-up."""


def record_system(clinic_slug: str) -> str:
    """``Identifier.system`` of a clinic's record numbers (as ``/fhir`` reads serve them): each
    clinic is its own namespace."""
    return f"{codes.ACUKNEE}:clinic:{clinic_slug}:record-number"


def fhir_id(text: str) -> str:
    """A FHIR id (``[A-Za-z0-9-.]``): subscale ids carry underscores."""
    return text.replace("_", "-")


def _day(value: dt.date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


_GENDER: dict[str, str] = {sex.value: gender for sex, gender in GENDER.items()}
"""``patient.GENDER`` keyed by the stored value (a row holds ``Sex``'s value, not the enum)."""

# --- Patient -------------------------------------------------------------------------------------


def patient_dict(row: Row) -> Json:
    """The Patient ``patient_resource`` makes, from a Patient row (``PATIENT_FIELDS``)."""
    return {
        "resourceType": "Patient",
        "id": str(row["id"]),
        "identifier": [
            {
                "use": "usual",
                "system": record_system(row["clinic__slug"]),
                "value": row["record_number"],
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": row["family_name"], "given": [row["given_name"]]}],
        "gender": _GENDER[row["sex"]],
        "birthDate": _day(row["date_of_birth"]),
    }


def patient_lines(rows: Iterable[Row]) -> Lines:
    for row in rows:
        yield _encode(patient_dict(row)) + "\n"


# --- QuestionnaireResponse and Observation, from Measurement rows --------------------------------


@dataclass(frozen=True)
class _SubscaleTemplate:
    id: str
    code: Json
    unit: Json
    note: str


@dataclass(frozen=True)
class _InstrumentTemplate:
    questionnaire: str
    items: tuple[tuple[str, bool], ...]  # (item code, integer answer)
    category: list[Json]
    subscales: tuple[_SubscaleTemplate, ...]


def _templates(kb: KnowledgeBase) -> dict[str, _InstrumentTemplate]:
    """Per instrument, the parts of its resources that no measurement changes."""
    out: dict[str, _InstrumentTemplate] = {}
    for inst in kb.instruments.values():
        category_code, category_display = CATEGORY[inst.kind]
        subscales = []
        for sub in inst.subscales:
            listed: list[Json] = []
            if sub.loinc:
                listed.append(coding(codes.LOINC, sub.loinc))
            listed.append(coding(codes.SUBSCALE_SYSTEM, f"{inst.id}.{sub.id}", sub.name))
            unit: Json = {"unit": sub.unit}
            ucum = codes.UCUM_UNITS.get(sub.unit)
            if ucum is not None:
                unit |= {"system": codes.UCUM, "code": ucum}
            subscales.append(
                _SubscaleTemplate(
                    id=sub.id,
                    code={"coding": listed, "text": sub.name},
                    unit=unit,
                    note=f"{inst.name}: {sub.direction.value.replace('_', ' ')}.",
                )
            )
        out[inst.id] = _InstrumentTemplate(
            questionnaire=codes.questionnaire_url(inst.id),
            items=tuple((item.code, item.integer) for item in inst.items),
            category=[
                {"coding": [coding(codes.OBSERVATION_CATEGORY, category_code, category_display)]}
            ],
            subscales=tuple(subscales),
        )
    return out


def _template(templates: Mapping[str, _InstrumentTemplate], instrument: str) -> _InstrumentTemplate:
    found = templates.get(instrument)
    if found is None:
        raise ValueError(f"measurement of unknown instrument {instrument!r}")
    return found


def questionnaire_response_dict(row: Row, templates: Mapping[str, _InstrumentTemplate]) -> Json:
    """The QuestionnaireResponse ``questionnaire_response_resource`` makes, from a Measurement
    row (answers were validated when the measurement was saved)."""
    tpl = _template(templates, row["instrument"])
    answers: Mapping[str, Any] = row["answers"]
    items: list[Json] = []
    for code, integer in tpl.items:
        value = answers.get(code)
        if value is None:
            continue
        answer = {"valueInteger": int(value)} if integer else {"valueDecimal": value}
        items.append({"linkId": code, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"meas-{row['id']}",
        "questionnaire": tpl.questionnaire,
        "status": "completed",
        "subject": {"reference": f"Patient/{row['patient_id']}"},
        "authored": _day(row["measured_on"]),
        "item": items,
    }


def observation_dicts(row: Row, templates: Mapping[str, _InstrumentTemplate]) -> list[Json]:
    """The Observations ``observation_resources`` makes (one per scored subscale), from a
    Measurement row; each is ``derivedFrom`` the row's QuestionnaireResponse."""
    tpl = _template(templates, row["instrument"])
    scores: Mapping[str, Any] = row["scores"].get("subscales", {})
    subject = {"reference": f"Patient/{row['patient_id']}"}
    derived = [{"reference": f"QuestionnaireResponse/meas-{row['id']}"}]
    day = _day(row["measured_on"])
    out: list[Json] = []
    for sub in tpl.subscales:
        score = scores.get(sub.id)
        if score is None or score.get("value") is None:
            continue
        notes = [{"text": sub.note}]
        if score.get("note"):
            notes.append({"text": score["note"]})
        out.append(
            {
                "resourceType": "Observation",
                "id": fhir_id(f"meas-{row['id']}-{sub.id}"),
                "status": "final",
                "category": tpl.category,
                "code": sub.code,
                "subject": subject,
                "effectiveDateTime": day,
                "valueQuantity": {"value": score["value"], **sub.unit},
                "note": notes,
                "derivedFrom": derived,
            }
        )
    return out


def questionnaire_response_lines(rows: Iterable[Row], kb: KnowledgeBase | None = None) -> Lines:
    templates = _templates(knowledge(kb))
    for row in rows:
        yield _encode(questionnaire_response_dict(row, templates)) + "\n"


def observation_lines(rows: Iterable[Row], kb: KnowledgeBase | None = None) -> Lines:
    templates = _templates(knowledge(kb))
    for row in rows:
        for resource in observation_dicts(row, templates):
            yield _encode(resource) + "\n"


SOURCE: dict[str, tuple[str, tuple[str, ...]]] = {
    "Patient": ("Patient", PATIENT_FIELDS),
    "QuestionnaireResponse": ("Measurement", (*_MEASUREMENT, "answers")),
    "Observation": ("Measurement", (*_MEASUREMENT, "scores")),
}
"""Which table each type is read from, and the ``.values()`` columns its builder needs (only
those: a JSON column not read is a JSON document not decoded)."""

TABLES: tuple[str, ...] = ("Patient", "Measurement")


def columns(table: str, types: Iterable[str]) -> tuple[str, ...]:
    """The columns to read from ``table`` for the asked ``types`` (empty: nothing to read)."""
    out: dict[str, None] = {}
    for resource_type in types:
        source, fields = SOURCE[resource_type]
        if source == table:
            out |= dict.fromkeys(fields)
    return tuple(out)


def table_lines(
    table: str, rows: Iterable[Row], types: Iterable[str], kb: KnowledgeBase | None = None
) -> Iterator[tuple[str, str]]:
    """``(resource type, NDJSON line)`` for every asked type built from ``table``'s rows, in one
    pass over the rows (a Measurement row gives its QuestionnaireResponse and Observations)."""
    wanted = [t for t in types if SOURCE[t][0] == table]
    if not wanted:
        return
    if table == "Patient":
        for line in patient_lines(rows):
            yield "Patient", line
        return
    templates = _templates(knowledge(kb))
    response = "QuestionnaireResponse" in wanted
    observations = "Observation" in wanted
    for row in rows:
        if response:
            yield (
                "QuestionnaireResponse",
                _encode(questionnaire_response_dict(row, templates)) + "\n",
            )
        if observations:
            for resource in observation_dicts(row, templates):
                yield "Observation", _encode(resource) + "\n"


def parse_types(text: str | None) -> list[str]:
    """``_type``: a comma list of exported types (all when absent); an unknown type raises
    ``ValueError`` naming it (the kick-off answers 400)."""
    if text is None or not text.strip():
        return list(RESOURCE_TYPES)
    asked = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in asked if t not in RESOURCE_TYPES]
    if unknown:
        raise ValueError(
            f"_type {', '.join(unknown)} is not exported; supported: {', '.join(RESOURCE_TYPES)}"
        )
    return [t for t in RESOURCE_TYPES if t in asked]
