"""``/fhir``: a FHIR R4 server (read, search, and ``POST QuestionnaireResponse``) over the clinic.

Plain Django views rather than ninja: FHIR negotiates ``application/fhir+json`` and answers every
error as an OperationOutcome, which fits ninja's JSON-schema API poorly. The views are adapters:
the Bearer token, roles and clinic scoping are ``api.auth``'s (the REST API's rules), resources
are built by the pure mapping ``acuknee.fhir`` from the stored core models, and a posted response
is stored by ``care.services`` after the clinic's own ``MeasurementsForm`` scores it.

FHIR version: the resources are those fhir.resources' R4B models validate (served as the plain
JSON the mapping builds; tests validate it with those models), and the CapabilityStatement
declares ``fhirVersion`` 4.0.1 (R4), because R4 endpoints are what clients and EHRs expect. For
the resource types served here R4B changed no element that acuknee emits, so the JSON is
wire-compatible with R4 (the offline validators in tests/fhir check it against R4).

One module, one job:

- ``responses``: OperationOutcome errors, the JSON response, and ``fhir_view`` (token, content
  negotiation, every failure as an OperationOutcome).
- ``resources``: each served type (``RESOURCE_TYPES``: its roles, declared once per type, its
  rows and its id pattern), the rows mapped to resources, and read by id.
- ``query``: search parameters parsed and checked once (``Query``), FHIR date prefixes.
- ``search``: search in SQL (``search_page``: one plan per type filters, counts and pages in SQL
  and maps only the page); the Python reference it is tested against (maps every row, filters in
  Python) is a test oracle, tests/fhir/reference_search.py.
- ``writes``: ``POST QuestionnaireResponse``.
- ``capability``: the CapabilityStatement (``/fhir/metadata``).
- ``views``: search, read and not-found views; this module assembles the URLs.

Bulk ``$export`` is ``acuknee.api.bulk_export``.
"""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from acuknee.api.fhir_api.capability import metadata_view
from acuknee.api.fhir_api.views import not_found_view, read_view, search_view

urlpatterns: list[URLPattern] = [
    path("metadata", metadata_view, name="fhir-metadata"),
    re_path(r"^(?P<kind_name>[A-Z][A-Za-z]+)$", search_view, name="fhir-search"),
    re_path(r"^(?P<kind_name>[A-Z][A-Za-z]+)/(?P<resource_id>[^/]+)$", read_view, name="fhir-read"),
    re_path(r"^(?P<rest>.*)$", not_found_view),
]
