"""FHIR Bulk Data export: NDJSON lines from plain database rows, one resource type at a time.

The export reads rows the caller already fetched (plain DB-API tuples, ``TABLE_COLUMNS`` order,
streamed with ``fetchmany``), so every function here is a generator over an iterable: one row in,
its lines out, nothing kept. Memory therefore stays flat however many patients a clinic has.
Lines are UTF-8 bytes from ``orjson.dumps`` (several times faster than the stdlib encoder, the
largest cost of an export once rows are read raw); the dict-row functions (``patient_dict`` ...)
build the same resources for callers holding ``.values()`` dicts.

Resources are built as the mapping functions build them (``patient_resource``,
``questionnaire_response_resource``, ``observation_resources``: same elements, same codes) but
without validating each one with fhir.resources, which would cost ~100x the serialising; the
tests validate the exported lines against fhir.resources and against the mapping functions.
What never changes per instrument (codes, categories, units) is built once per export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.fhir import codes
from acuknee.fhir._build import Json, coding, knowledge
from acuknee.fhir.observation import CATEGORY
from acuknee.fhir.patient import GENDER

Row = Mapping[str, Any]
Lines = Iterator[bytes]
Tuple = Sequence[Any]

RESOURCE_TYPES: tuple[str, ...] = (
    "Patient",
    "QuestionnaireResponse",
    "Observation",
    "Condition",
    "CarePlan",
    "Procedure",
    "AdverseEvent",
    "Flag",
    "ServiceRequest",
)
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

_NEWLINE = orjson.OPT_APPEND_NEWLINE


def _encode(resource: Json) -> bytes:
    """One NDJSON line: compact UTF-8 JSON and its newline."""
    return orjson.dumps(resource, option=_NEWLINE)


def _json(value: Any) -> Any:
    """A JSON column as read raw: text on SQLite (and PostgreSQL under Django), decoded here."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


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


def _patient(row: Tuple, system: str) -> Json:
    """The Patient from a ``TABLE_COLUMNS["Patient"]`` tuple."""
    pk, record_number, given, family, born, sex = row
    return {
        "resourceType": "Patient",
        "id": str(pk),
        "identifier": [{"use": "usual", "system": system, "value": record_number}],
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": _GENDER[sex],
        "birthDate": born if born.__class__ is str else born.isoformat(),
    }


def patient_dict(row: Row) -> Json:
    """The Patient ``patient_resource`` makes, from a Patient row (``PATIENT_FIELDS``)."""
    fields = ("id", "record_number", "given_name", "family_name", "date_of_birth", "sex")
    return _patient(tuple(row[f] for f in fields), record_system(row["clinic__slug"]))


def patient_lines(rows: Iterable[Row]) -> Lines:
    for row in rows:
        yield _encode(patient_dict(row))


# --- QuestionnaireResponse and Observation, from Measurement rows --------------------------------


@dataclass(frozen=True)
class _SubscaleTemplate:
    id: str
    id_suffix: str  # "-<fhir id of the subscale>": an Observation id is "meas-<pk>" + this
    code: Json
    unit: Json
    note_item: Json  # {"text": what the subscale measures}, every Observation's first note
    notes: list[Json]  # [note_item], shared by the Observations with no note of their own
    head: bytes  # an Observation line from after "meas-<pk>" to the subject's "Patient/"
    unit_tail: bytes  # valueQuantity after its value: ',"unit":...}'


@dataclass(frozen=True)
class _InstrumentTemplate:
    questionnaire: str
    items: tuple[tuple[str, bool], ...]  # (item code, integer answer)
    category: list[Json]
    subscales: tuple[_SubscaleTemplate, ...]
    response_head: bytes  # a QuestionnaireResponse line from after "meas-<pk>" to "Patient/"


_built: list[tuple[KnowledgeBase, dict[str, _InstrumentTemplate]]] = []
"""The templates of the last knowledge base asked for (held with it, so its identity stays
valid): each measurement saved renders its lines with them, and building them costs more than
rendering one measurement (issue 15)."""


def _templates(kb: KnowledgeBase) -> dict[str, _InstrumentTemplate]:
    """Per instrument, the parts of its resources that no measurement changes; built once per
    knowledge base (the process's one, ``load_knowledge``, in practice)."""
    if _built and _built[0][0] is kb:
        return _built[0][1]
    templates = _build_templates(kb)
    _built[:] = [(kb, templates)]
    return templates


def _build_templates(kb: KnowledgeBase) -> dict[str, _InstrumentTemplate]:
    out: dict[str, _InstrumentTemplate] = {}
    for inst in kb.instruments.values():
        category_code, category_display = CATEGORY[inst.kind]
        category = [
            {"coding": [coding(codes.OBSERVATION_CATEGORY, category_code, category_display)]}
        ]
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
            note_item: Json = {"text": f"{inst.name}: {sub.direction.value.replace('_', ' ')}."}
            code: Json = {"coding": listed, "text": sub.name}
            id_suffix = f"-{fhir_id(sub.id)}"
            subscales.append(
                _SubscaleTemplate(
                    id=sub.id,
                    id_suffix=id_suffix,
                    code=code,
                    unit=unit,
                    note_item=note_item,
                    notes=[note_item],
                    head=b"".join(
                        (
                            orjson.dumps(id_suffix)[1:-1],
                            b'","status":"final","category":',
                            orjson.dumps(category),
                            b',"code":',
                            orjson.dumps(code),
                            b',"subject":{"reference":"Patient/',
                        )
                    ),
                    unit_tail=b"," + orjson.dumps(unit)[1:],
                )
            )
        out[inst.id] = _InstrumentTemplate(
            questionnaire=codes.questionnaire_url(inst.id),
            items=tuple((item.code, item.integer) for item in inst.items),
            category=category,
            subscales=tuple(subscales),
            response_head=b"".join(
                (
                    b'","questionnaire":',
                    orjson.dumps(codes.questionnaire_url(inst.id)),
                    b',"status":"completed","subject":{"reference":"Patient/',
                )
            ),
        )
    return out


def templates(kb: KnowledgeBase | None = None) -> dict[str, _InstrumentTemplate]:
    """The per-instrument templates ``questionnaire_response_dict`` and ``observation_dicts``
    take (built per call, under a millisecond: a /fhir search builds them once per page)."""
    return _templates(knowledge(kb))


def _template(templates: Mapping[str, _InstrumentTemplate], instrument: str) -> _InstrumentTemplate:
    found = templates.get(instrument)
    if found is None:
        raise ValueError(f"measurement of unknown instrument {instrument!r}")
    return found


def _items(tpl: _InstrumentTemplate, answers: Mapping[str, Any]) -> list[Json]:
    items: list[Json] = []
    for code, integer in tpl.items:
        value = answers.get(code)
        if value is None:
            continue
        answer = {"valueInteger": int(value)} if integer else {"valueDecimal": value}
        items.append({"linkId": code, "answer": [answer]})
    return items


def _response(
    pk: int, patient: int, day: str, tpl: _InstrumentTemplate, answers: Mapping[str, Any]
) -> Json:
    response: Json = {
        "resourceType": "QuestionnaireResponse",
        "id": f"meas-{pk}",
        "questionnaire": tpl.questionnaire,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": day,
    }
    items = _items(tpl, answers)
    if items:  # FHIR JSON has no empty arrays: a response with every answer skipped has no item
        response["item"] = items
    return response


def _observations(
    pk: int, patient: int, day: str, tpl: _InstrumentTemplate, scores: Mapping[str, Any]
) -> list[Json]:
    subscales: Mapping[str, Any] = scores.get("subscales", {})
    subject = {"reference": f"Patient/{patient}"}
    derived = [{"reference": f"QuestionnaireResponse/meas-{pk}"}]
    out: list[Json] = []
    for sub in tpl.subscales:
        score = subscales.get(sub.id)
        if score is None:
            continue
        value = score.get("value")
        if value is None:
            continue
        note = score.get("note")
        out.append(
            {
                "resourceType": "Observation",
                "id": f"meas-{pk}{sub.id_suffix}",
                "status": "final",
                "category": tpl.category,
                "code": sub.code,
                "subject": subject,
                "effectiveDateTime": day,
                "valueQuantity": {"value": value, **sub.unit},
                "note": [sub.note_item, {"text": note}] if note else sub.notes,
                "derivedFrom": derived,
            }
        )
    return out


def questionnaire_response_dict(row: Row, templates: Mapping[str, _InstrumentTemplate]) -> Json:
    """The QuestionnaireResponse ``questionnaire_response_resource`` makes, from a Measurement
    row (answers were validated when the measurement was saved)."""
    tpl = _template(templates, row["instrument"])
    return _response(row["id"], row["patient_id"], _day(row["measured_on"]), tpl, row["answers"])


def observation_dicts(row: Row, templates: Mapping[str, _InstrumentTemplate]) -> list[Json]:
    """The Observations ``observation_resources`` makes (one per scored subscale), from a
    Measurement row; each is ``derivedFrom`` the row's QuestionnaireResponse."""
    tpl = _template(templates, row["instrument"])
    return _observations(row["id"], row["patient_id"], _day(row["measured_on"]), tpl, row["scores"])


def questionnaire_response_lines(rows: Iterable[Row], kb: KnowledgeBase | None = None) -> Lines:
    templates = _templates(knowledge(kb))
    for row in rows:
        yield _encode(questionnaire_response_dict(row, templates))


def observation_lines(rows: Iterable[Row], kb: KnowledgeBase | None = None) -> Lines:
    templates = _templates(knowledge(kb))
    for row in rows:
        for resource in observation_dicts(row, templates):
            yield _encode(resource)


SOURCE: dict[str, str] = {
    "Patient": "Patient",
    "QuestionnaireResponse": "Measurement",
    "Observation": "Measurement",
    "Condition": "IntakeRecord",
    "CarePlan": "PlanRecord",
    "Procedure": "TreatmentSession",
    "AdverseEvent": "TreatmentSession",
    "Flag": "IntakeRecord",
    "ServiceRequest": "IntakeRecord",
}
"""Which table each type is built from."""

TABLES: tuple[str, ...] = ("Patient", "Measurement")
"""The tables read as raw rows into ``write_table`` (the many resources a patient has)."""

RECORD_TABLES: tuple[str, ...] = ("IntakeRecord", "PlanRecord", "TreatmentSession")
"""The tables whose resources the caller builds with the ``/fhir`` reads' own mappings (a few per
course of care, each a clinical document: not worth a second, faster mapping)."""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "Patient": ("id", "record_number", "given_name", "family_name", "date_of_birth", "sex"),
    "Measurement": ("id", "patient_id", "measured_on", "instrument", "answers", "scores"),
}
"""The columns of the raw row tuples ``table_lines`` reads, in order (model field names)."""


def reads(table: str, types: Iterable[str]) -> bool:
    """Whether any asked type is built from ``table``."""
    return any(SOURCE[t] == table for t in types)


Sink = Callable[[bytes], object]
"""Where a type's lines go (a binary file's ``write``)."""

Failed = Callable[[str, Any, Exception], object]
"""Told ``(table, primary key, error)`` of a row whose resources could not be built: the row is
left out and the export goes on (FHIR Bulk Data reports it in the manifest's ``error`` files).
Without one, the error propagates."""


def encode(resource: Json) -> bytes:
    """One NDJSON line of an already built resource."""
    return orjson.dumps(resource, option=_NEWLINE)


def write_table(
    table: str,
    rows: Iterable[Tuple],
    sinks: Mapping[str, Sink],
    clinic_slug: str,
    kb: KnowledgeBase | None = None,
    failed: Failed | None = None,
) -> dict[str, int]:
    """Send every NDJSON line built from ``table``'s raw rows (``TABLE_COLUMNS`` tuples) to the
    sink of its type, for the types ``sinks`` holds, in one pass (a Measurement row gives its
    QuestionnaireResponse and Observations); how many lines each type got.

    This is the export's hot loop, so it does the least per row: what never changes (templates,
    the record system) is built once here, and a QuestionnaireResponse or Observation line is
    spliced from bytes its template encoded once (questionnaire, category, code, unit) around the
    row's values (ids and dates: digits; the rest encoded by orjson), the resources that
    ``questionnaire_response_dict`` and ``observation_dicts`` build as dicts: the tests check
    both give the same resources. A row that cannot be built (bad stored data) goes to
    ``failed`` and is left out, when ``failed`` is given; nothing of it is written."""
    counts = {t: 0 for t in sinks if SOURCE[t] == table}
    if not counts:
        return counts
    dumps: Callable[..., bytes] = orjson.dumps
    if table == "Patient":
        system = record_system(clinic_slug)
        write = sinks["Patient"]
        n = 0
        for row in rows:
            try:
                line = dumps(_patient(row, system), option=_NEWLINE)
            except Exception as exc:
                if failed is None:
                    raise
                failed(table, row[0], exc)
                continue
            write(line)
            n += 1
        counts["Patient"] = n
        return counts
    templates = _templates(knowledge(kb))
    write_response = sinks.get("QuestionnaireResponse")
    write_observation = sinks.get("Observation")
    responses = observations = 0
    for pk, patient, measured_on, instrument, answers, scores in rows:
        try:
            response, lines = _measurement_lines(
                _template(templates, instrument),
                str(pk).encode(),
                str(patient).encode(),
                _day(measured_on).encode(),
                answers,
                scores,
                write_response is not None,
                write_observation is not None,
            )
        except Exception as exc:
            if failed is None:
                raise
            failed(table, pk, exc)
            continue
        if write_response is not None and response is not None:
            write_response(response)
            responses += 1
        if write_observation is not None:
            for line in lines:
                write_observation(line)
            observations += len(lines)
    if write_response is not None:
        counts["QuestionnaireResponse"] = responses
    if write_observation is not None:
        counts["Observation"] = observations
    return counts


def _measurement_lines(
    tpl: _InstrumentTemplate,
    pk_text: bytes,
    patient_text: bytes,
    day_text: bytes,
    answers: Any,
    scores: Any,
    response: bool,
    observation: bool,
) -> tuple[bytes | None, list[bytes]]:
    """A measurement's QuestionnaireResponse line and Observation lines, spliced from bytes
    its template encoded once (questionnaire, category, code, unit) around the row's values."""
    dumps: Callable[..., bytes] = orjson.dumps
    qr_line = None
    if response:
        items = _items(tpl, _json(answers))
        qr_line = b"".join(
            (
                b'{"resourceType":"QuestionnaireResponse","id":"meas-',
                pk_text,
                tpl.response_head,
                patient_text,
                b'"},"authored":"',
                day_text,
                b'","item":' + dumps(items) + b"}\n" if items else b'"}\n',
            )
        )
    if not observation:
        return qr_line, []
    subscales: Mapping[str, Any] = _json(scores).get("subscales", {})
    middle = b"".join(
        (patient_text, b'"},"effectiveDateTime":"', day_text, b'","valueQuantity":{"value":')
    )
    tail = b',"derivedFrom":[{"reference":"QuestionnaireResponse/meas-' + pk_text + b'"}]}\n'
    lines: list[bytes] = []
    for sub in tpl.subscales:
        score = subscales.get(sub.id)
        if score is None:
            continue
        value = score.get("value")
        if value is None:
            continue
        note = score.get("note")
        lines.append(
            b"".join(
                (
                    b'{"resourceType":"Observation","id":"meas-',
                    pk_text,
                    sub.head,
                    middle,
                    dumps(value),
                    sub.unit_tail,
                    b',"note":',
                    dumps([sub.note_item, {"text": note}] if note else sub.notes),
                    tail,
                )
            )
        )
    return qr_line, lines


# --- lines rendered when a record is saved -------------------------------------------------------

SYSTEM = b"\x01"
"""Stands for the clinic part of a stored Patient line's identifier system (a clinic may rename
its slug; the export puts the current one in, once per block of lines). A raw control byte never
occurs in JSON text (encoders escape it), so it cannot collide with data."""
MAPPING_REVISION = "3"
"""Raise when a change to this module alters the lines: stored lines of an older revision are
then rendered afresh at export, never served stale. (2: lines carry the record's primary key;
3: a QuestionnaireResponse with every answer skipped has no ``item``, not an empty array.)"""

_versions: dict[int, str] = {}


def render_version(kb: KnowledgeBase | None = None) -> str:
    """Identifies what stored lines depend on: this mapping's revision and the instruments'
    knowledge (codes, units, names). Lines stored under another version are rebuilt at export."""
    found = knowledge(kb)
    version = _versions.get(id(found))
    if version is None:
        instruments = {k: v.model_dump(mode="json") for k, v in found.instruments.items()}
        payload = orjson.dumps([MAPPING_REVISION, instruments], option=orjson.OPT_SORT_KEYS)
        version = hashlib.sha256(payload).hexdigest()[:32]
        _versions[id(found)] = version
    return version


def render_patient(
    pk: int, record_number: str, given: str, family: str, born: dt.date | str, sex: str
) -> bytes:
    """A Patient's NDJSON line with ``SYSTEM`` for its clinic."""
    system = record_system("\x01")
    line = encode(_patient((pk, record_number, given, family, born, sex), system))
    escaped = orjson.dumps("\x01")[1:-1]  # how orjson wrote the clinic placeholder
    return line.replace(escaped, SYSTEM, 1)


def render_measurement(
    pk: int,
    patient: int,
    measured_on: dt.date | str,
    instrument: str,
    answers: Any,
    scores: Any,
    kb: KnowledgeBase | None = None,
) -> tuple[bytes, bytes, int]:
    """A measurement's QuestionnaireResponse line, its Observation lines (joined) and how many
    those are; ``ValueError`` for an unknown instrument."""
    tpl = _template(_templates(knowledge(kb)), instrument)
    response, lines = _measurement_lines(
        tpl,
        str(pk).encode(),
        str(patient).encode(),
        _day(measured_on).encode(),
        answers,
        scores,
        True,
        True,
    )
    assert response is not None
    return response, b"".join(lines), len(lines)


RENDERED_COLUMNS: dict[str, tuple[str, ...]] = {
    "Patient": ("fhir_line",),
    "Measurement": ("fhir_response", "fhir_observations", "fhir_observation_count"),
}
"""The stored lines' columns (model field names). An export row is the primary key, then these,
NULL where the row's lines are not current (``write_rendered``)."""


def write_rendered(
    table: str,
    chunks: Iterable[Sequence[Tuple]],
    sinks: Mapping[str, Sink],
    clinic_slug: str,
    raw_rows: Callable[[list[Any]], Iterable[Tuple]],
    kb: KnowledgeBase | None = None,
    failed: Failed | None = None,
) -> dict[str, int]:
    """Send every line of ``table``'s export rows (the primary key, then ``RENDERED_COLUMNS``,
    in chunks) to the sinks of their types; how many lines each type got.

    A row's stored lines are current unless the query gave NULL for them: current lines are
    neither built nor parsed, but joined per chunk and written as one block (the clinic's record
    system put into a block of Patient lines with one ``replace``), so an export costs little
    more than reading them. The other rows (saved by ``bulk_create``, under an older mapping, or
    unrenderable) are built from their columns, which ``raw_rows`` reads by primary key
    (``TABLE_COLUMNS`` tuples) a chunk at a time, so memory stays flat either way; one of them
    that cannot be built goes to ``failed`` (``write_table``). Stored lines are bytes, copied
    as they are: nothing there can fail per row."""
    counts = {t: 0 for t in sinks if SOURCE[t] == table}
    if not counts:
        return counts
    clinic = orjson.dumps(clinic_slug)[1:-1]
    write_patient = sinks.get("Patient")
    write_response = sinks.get("QuestionnaireResponse")
    write_observation = sinks.get("Observation")
    for chunk in chunks:
        stale = [row[0] for row in chunk if row[1] is None]
        current = [row for row in chunk if row[1] is not None] if stale else chunk
        if current and table == "Patient" and write_patient is not None:
            write_patient(b"".join([row[1] for row in current]).replace(SYSTEM, clinic))
            counts["Patient"] += len(current)
        elif current and table == "Measurement":
            if write_response is not None:
                write_response(b"".join([row[1] for row in current]))
                counts["QuestionnaireResponse"] += len(current)
            if write_observation is not None:
                write_observation(b"".join([row[2] for row in current]))
                counts["Observation"] += sum([row[3] for row in current])
        if stale:
            built = write_table(table, raw_rows(stale), sinks, clinic_slug, kb, failed)
            for resource_type, n in built.items():
                counts[resource_type] += n
    return counts


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
