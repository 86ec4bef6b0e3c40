"""JSON Schemas of every command-line input, generated from the models so they cannot drift."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def _models() -> dict[str, type[BaseModel]]:
    from acuknee.clinical.intake import Intake
    from acuknee.clinical.response import Course
    from acuknee.clinical.sessions import SessionRecord
    from acuknee.clinical.stricta import StrictaInput

    return {"intake": Intake, "course": Course, "stricta": StrictaInput, "session": SessionRecord}


def schema_names() -> list[str]:
    from acuknee.clinical.knowledge import load_knowledge

    instruments = [f"answers-{i}" for i in load_knowledge().instruments]
    return sorted(_models()) + sorted(instruments)


def answers_schema(instrument_id: str) -> dict[str, Any]:
    """One instrument's answers: an object keyed by item code, each in range or null."""
    from acuknee.clinical.knowledge import load_knowledge

    instrument = load_knowledge().instruments[instrument_id]
    properties: dict[str, Any] = {}
    for item in instrument.items:
        kind = "integer" if item.integer else "number"
        properties[item.code] = {
            "description": item.label,
            "anyOf": [{"type": kind, "minimum": item.min, "maximum": item.max}, {"type": "null"}],
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{instrument.name} answers",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def input_schema(name: str) -> dict[str, Any]:
    if name.startswith("answers-"):
        return answers_schema(name.removeprefix("answers-"))
    schema = _models()[name].model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
