"""Small builders of FHIR JSON fragments shared by the mappings (references, codings, concepts).

Resources are built as plain JSON-shaped dicts (``*_data``), which the ``/fhir`` read path serves
as they are, and validated by fhir.resources in the ``*_resource`` form (``validating``), which
is what tests check. The dicts are written in the order fhir.resources dumps their elements, with
no empty list, so a dict and its validated resource's ``model_dump`` are the same JSON, byte for
byte (tests/fhir/test_mapping_data.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from fhir.resources.R4B.resource import Resource

from acuknee.clinical.knowledge import KnowledgeBase, load_knowledge
from acuknee.clinical.vocabulary import Side

Json = dict[str, Any]
R = TypeVar("R", bound=Resource)
P = ParamSpec("P")

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
    listed = [coding(system, code, display) for system, code, display in codings]
    return {"coding": listed, "text": text} if listed else {"text": text}


def date_text(day: dt.date) -> str:
    return day.isoformat()


def with_id(data: Json, resource_id: str | None) -> Json:
    """``data`` with its id, placed where FHIR JSON has it: just after ``resourceType``."""
    if resource_id is None:
        return data
    return {"resourceType": data["resourceType"], "id": resource_id, **data}


def validated(model: type[R], data: Json) -> R:
    """The resource built by fhir.resources from ``data``; raises pydantic's ValidationError when
    the mapping produced something FHIR does not allow (a bug here, never a user error)."""
    return model.model_validate(data)


def validating(model: type[R], build: Callable[P, Json]) -> Callable[P, R]:
    """The mapping ``build`` (a ``*_data`` function) whose resource is validated as ``model``."""

    def resource(*args: P.args, **kwargs: P.kwargs) -> R:
        return validated(model, build(*args, **kwargs))

    resource.__doc__ = f"``{build.__name__}``'s resource, validated as a {model.__name__}."
    return resource


def validating_each(model: type[R], build: Callable[P, list[Json]]) -> Callable[P, list[R]]:
    """As ``validating``, for a mapping that makes a list of resources."""

    def resources(*args: P.args, **kwargs: P.kwargs) -> list[R]:
        return [validated(model, data) for data in build(*args, **kwargs)]

    resources.__doc__ = f"``{build.__name__}``'s resources, each validated as a {model.__name__}."
    return resources


def knowledge(kb: KnowledgeBase | None) -> KnowledgeBase:
    return kb if kb is not None else load_knowledge()
