"""A collection Bundle of already-mapped resources (a patient's export, a test fixture)."""

from __future__ import annotations

from collections.abc import Iterable

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from acuknee.fhir._build import validated


def collection_bundle(entries: Iterable[tuple[str, Resource]]) -> Bundle:
    """A ``collection`` Bundle; each entry is (fullUrl, resource), and references between the
    resources use those fullUrls (``urn:uuid:...``), so the bundle stands alone."""
    return validated(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": url, "resource": resource.model_dump(mode="json", exclude_none=True)}
                for url, resource in entries
            ],
        },
    )
