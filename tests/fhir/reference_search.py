"""The reference search, the oracle of tests/fhir/test_search_sql.py: every resource of the
clinic mapped (each type's ``source``, as a read maps it), then filtered and sorted in Python.

Slow but plainly right: ``search.search_page`` (a plan per type that filters, counts and pages
in SQL and maps only the page) must answer what it answers, resource for resource, on random
data. Product code never calls it.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from acuknee.api.fhir_api.query import Span, code_matches, date_matches, parse_query, span_of
from acuknee.api.fhir_api.resources import ResourceType, Scope, Unmapped, id_scope
from acuknee.api.fhir_api.responses import Json

SourceKey = tuple[str, int, frozenset[int] | None, frozenset[int] | None]
"""What a type's ``source`` maps: the type, the caller, the patients and the rows in scope."""


def search_resources(
    request: HttpRequest,
    kind: ResourceType,
    unmapped: list[Unmapped] | None = None,
    mapped: dict[SourceKey, list[Json]] | None = None,
) -> list[Json]:
    """Every resource of ``kind`` the caller may see that matches the request's parameters,
    filtered in Python over every resource of the clinic (the parameters parsed by the server's
    own ``parse_query``: the oracle checks the search, not the parsing). With ``unmapped``, a
    record that cannot be mapped is left out and listed there; without, its error propagates.
    ``mapped`` keeps each scope's mapped resources for the next search over the same, unchanged
    records (many searches, one mapping each)."""
    query = parse_query(request, kind)  # the parameters as the server reads them
    ids = list(query.ids)
    scope = Scope(request, query.patients, id_scope(kind, ids) if ids else None, unmapped)
    key = (kind.name, request.user.pk, scope.patients, scope.pks)
    if mapped is not None and unmapped is None and key in mapped:
        resources = list(mapped[key])  # a copy: callers sort what they get in place
    else:
        resources = kind.source(scope)
        if mapped is not None and unmapped is None:
            mapped[key] = resources
    if ids:
        resources = [r for r in resources if r.get("id") in ids]
    for prefix, span in query.dates:
        resources = [
            r
            for r in resources
            if (value := span_of(r)) is not None and date_matches(prefix, span, value)
        ]
    for tokens in query.codes:
        resources = [r for r in resources if code_matches(r, list(tokens))]
    for url in query.urls:
        resources = [r for r in resources if r.get("url") == url]
    return resources


def sort_by_date(resources: list[Json], key: str) -> list[Json]:
    """``_sort`` in Python (a stable sort keeps the id order among equal dates; a resource with
    no date sorts last either way)."""
    dated = [r for r in resources if span_of(r) is not None]
    undated = [r for r in resources if span_of(r) is None]
    dated.sort(key=lambda r: cast(Span, span_of(r))[0], reverse=key.startswith("-"))
    return dated + undated
