"""The published OpenAPI document and the docs page (served without any CDN)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from ninja.responses import NinjaJSONEncoder

from acuknee.api.rest import api

RESOURCES = [
    "/api/v1/patients",
    "/api/v1/intakes",
    "/api/v1/plans",
    "/api/v1/sessions",
    "/api/v1/measurements",
    "/api/v1/evaluations",
    "/api/v1/points",
    "/api/v1/protocols",
    "/api/v1/tokens",
]


def test_the_openapi_document_is_public_and_lists_every_resource(db: object) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    for path in RESOURCES:
        assert path in document["paths"], path
    assert "BearerToken" in document["components"]["securitySchemes"]


def test_every_operation_documents_the_error_shape(db: object) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "422"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method)


def test_the_docs_page_loads_nothing_from_another_host(db: object) -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html


def test_the_document_is_built_once_and_is_what_ninja_builds_afresh(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept after the first request (ninja would build it again for each, about 170 ms), and the
    very document ninja builds from the operations now."""
    import ninja.main

    built: list[str] = []
    build = ninja.main.get_schema

    def counted(**kwargs: Any) -> Any:
        built.append(kwargs["path_prefix"])
        return build(**kwargs)

    monkeypatch.setattr(api, "_schemas", {})
    monkeypatch.setattr(ninja.main, "get_schema", counted)
    first = Client().get("/api/v1/openapi.json").json()
    second = Client().get("/api/v1/openapi.json").json()
    assert built == ["/api/v1/"]
    afresh = json.loads(json.dumps(build(api=api, path_prefix="/api/v1/"), cls=NinjaJSONEncoder))
    assert first == second == afresh
