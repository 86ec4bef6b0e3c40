"""The ``/fhir`` search and read views: a searchset Bundle paged by ``_count`` and ``_offset``
with ``next``/``previous`` links, one resource by id, and an OperationOutcome 404 for any other
path. Responses are JSON only (XML asked for: 406).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from acuknee.api.fhir_api.query import DEFAULT_COUNT, MAX_COUNT, int_param
from acuknee.api.fhir_api.resources import kind_named, read_resource
from acuknee.api.fhir_api.responses import FhirError, Json, base_url, fhir_response, fhir_view
from acuknee.api.fhir_api.search import search_page
from acuknee.api.fhir_api.writes import create_questionnaire_response


def _page_link(request: HttpRequest, kind: str, relation: str, offset: int, count: int) -> Json:
    params = [(k, v) for k, values in request.GET.lists() for v in values]
    params = [(k, v) for k, v in params if k not in {"_offset", "_count"}]
    params += [("_count", str(count)), ("_offset", str(offset))]
    return {"relation": relation, "url": f"{base_url(request)}/{kind}?{urlencode(params)}"}


@fhir_view
def search_view(request: HttpRequest, kind_name: str) -> HttpResponse:
    """``GET /fhir/<type>?...``: a searchset Bundle, paged by ``_count`` and ``_offset``."""
    if request.method == "POST":
        if kind_name == "QuestionnaireResponse":
            return create_questionnaire_response(request)
        raise FhirError(405, f"{kind_name} cannot be created here", "not-supported")
    if request.method != "GET":
        raise FhirError(405, f"{request.method} is not supported", "not-supported")
    kind = kind_named(kind_name)
    count = int_param(request, "_count", DEFAULT_COUNT, MAX_COUNT)
    offset = int_param(request, "_offset", 0, 10**9)
    found = search_page(request, kind, offset, count)
    chunk = found.page
    links = [_page_link(request, kind.name, "self", offset, count)]
    if count and offset + count < found.total:
        links.append(_page_link(request, kind.name, "next", offset + count, count))
    if offset > 0 and count:
        links.append(_page_link(request, kind.name, "previous", max(0, offset - count), count))
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": found.total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url(request)}/{kind.name}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in chunk
        ],
    }
    # A record that could not be mapped was left out: said so, as FHIR R4 allows a searchset
    # to (an OperationOutcome entry, search mode "outcome"), naming the record, not its content.
    bundle["entry"] += [
        {"resource": unmapped.outcome(), "search": {"mode": "outcome"}}
        for unmapped in found.unmapped
    ]
    if not bundle["entry"]:
        del bundle["entry"]
    return fhir_response(bundle)


@fhir_view
def read_view(request: HttpRequest, kind_name: str, resource_id: str) -> HttpResponse:
    """``GET /fhir/<type>/<id>``."""
    if request.method != "GET":
        raise FhirError(405, "only read (GET) is supported on a resource", "not-supported")
    return fhir_response(read_resource(request, kind_named(kind_name), resource_id))


@fhir_view
def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise FhirError(404, "no such FHIR path", "not-found")
