"""The CapabilityStatement at ``/fhir/metadata``: what this server does, built from
``RESOURCE_TYPES`` so it cannot list a type, interaction or search parameter that is not served.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from acuknee.api.fhir_api.query import DEFAULT_COUNT, MAX_COUNT, PARAM_DOCS
from acuknee.api.fhir_api.resources import RESOURCE_TYPES
from acuknee.api.fhir_api.responses import FhirError, Json, base_url, fhir_response, fhir_view

FHIR_VERSION = "4.0.1"


def capability_statement(request: HttpRequest) -> Json:
    """What this server does, truthfully: types, interactions and search parameters."""
    resources = []
    for kind in RESOURCE_TYPES.values():
        params = [{"name": "_id", "type": "token", "documentation": "Resource id(s)."}]
        params += [
            {"name": n, "type": PARAM_DOCS[n][0], "documentation": PARAM_DOCS[n][1]}
            for n in kind.patient_params
        ]
        if kind.date_param:
            params.append(
                {
                    "name": kind.date_param,
                    "type": "date",
                    "documentation": "Prefixes eq, ne, lt, le, gt, ge, sa, eb; to the day.",
                }
            )
        if kind.code_param:
            params.append({"name": "code", "type": "token", "documentation": PARAM_DOCS["code"][1]})
        params += [{"name": n, "type": t, "documentation": d} for n, t, d in kind.extra_params]
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if kind.name == "QuestionnaireResponse":
            interactions.append({"code": "create"})
        entry: Json = {
            "type": kind.name,
            "documentation": kind.doc,
            "interaction": interactions,
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": params,
        }
        if kind.name == "Patient":
            entry["operation"] = [_export_operation("patient-export")]
        resources.append(entry)
    resources.append(
        {
            "type": "Group",
            "documentation": "Only for Bulk Data $export: a Group is a clinic's patients "
            "(its id is the clinic's); Groups are not read or searched.",
            "operation": [_export_operation("group-export")],
        }
    )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "publisher": "acuknee",
        "kind": "instance",
        "software": {"name": "acuknee"},
        "implementation": {
            "description": "acuknee FHIR R4 server (resources validated with R4B models, "
            "wire-compatible with R4 for these types)",
            "url": base_url(request),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Bearer token (create at /account/tokens/). Paging: _count (at "
                f"most {MAX_COUNT}, default {DEFAULT_COUNT}) and _offset, with next/previous "
                "links. _sort by the type's date parameter (date, authored or recorded-date; "
                "-date descending), ties in id order. Unknown search parameters are refused (400).",
                "security": {
                    "service": [
                        {
                            "text": "Bearer token",
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                        }
                    ],
                    "description": "Authorization: Bearer <acuknee API token>; the token's user "
                    "sees only their clinic, with the clinic app's role rules.",
                },
                "resource": resources,
                "operation": [_export_operation("export")],
            }
        ],
    }


BULK_DATA_OPERATIONS = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
"""The FHIR Bulk Data Access IG's OperationDefinitions (export, patient-export, group-export)."""


def _export_operation(definition: str) -> Json:
    """A ``$export`` kick-off this server offers (``acuknee.api.bulk_export``), by the IG's
    OperationDefinition."""
    return {"name": "export", "definition": BULK_DATA_OPERATIONS + definition}


def _metadata(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        raise FhirError(405, "metadata is read with GET", "not-supported")
    return fhir_response(capability_statement(request))


metadata_view = fhir_view(_metadata, public=True)
