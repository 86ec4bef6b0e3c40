"""Small builders of FHIR JSON fragments shared by the mappings (references, codings, concepts).

Resources are built as plain JSON-shaped dicts and validated once by fhir.resources, so a mapping
reads like the resource it makes and every resource leaves here checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeVar

from fhir.resources.R4B.resource import Resource

from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.vocabulary import Side

Json = dict[str, Any]
R = TypeVar("R", bound=Resource)

SIDE_TEXT: dict[Side, str] = {Side.LEFT: "left", Side.RIGHT: "right", Side.BOTH: "left and right"}


def reference(ref: str, display: str | None = None) -> Json:
    """A literal reference (``Patient/1`` or ``urn:uuid:...`` inside a bundle)."""
    out: Json = {"reference": ref}
    if display:
        out["display"] = display
    return out


def coding(system: str, code: str, display: str | None = None) -> Json:
    out: Json = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(text: str, codings: Iterable[tuple[str, str, str | None]] = ()) -> Json:
    """A CodeableConcept; text only when ``codings`` is empty (no verified code)."""
    out: Json = {"text": text}
    listed = [coding(system, code, display) for system, code, display in codings]
    if listed:
        out["coding"] = listed
    return out


def date_text(day: dt.date) -> str:
    return day.isoformat()


def with_id(data: Json, resource_id: str | None) -> Json:
    if resource_id is not None:
        data["id"] = resource_id
    return data


def validated(model: type[R], data: Json) -> R:
    """The resource built by fhir.resources from ``data``; raises pydantic's ValidationError when
    the mapping produced something FHIR does not allow (a bug here, never a user error)."""
    return model.model_validate(data)


def knowledge(kb: KnowledgeBase | None) -> KnowledgeBase:
    return kb if kb is not None else load_knowledge()
