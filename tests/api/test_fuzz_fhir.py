"""schemathesis on the FHIR server: an OpenAPI description built from its own
CapabilityStatement (every type's read and search with its declared parameters, the
QuestionnaireResponse create, the $export kick-offs), fuzzed with strings from every code point
(lone surrogates, control characters) and numbers of any size. No request may answer 5xx.

FHIR's views are plain Django, not ninja, so there is no served OpenAPI document; describing the
server from ``/fhir/metadata`` keeps the fuzzed surface the one the server declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from acuknee.api.fhir_api.capability import capability_statement
from acuknee.records.models import ApiToken, Patient
from acuknee.site.wsgi import application
from tests.api import fuzzing

MAX_EXAMPLES = fuzzing.examples(3)
TEXT: dict[str, Any] = {"type": "string"}


def _parameter(name: str, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": TEXT}


def fhir_openapi() -> dict[str, Any]:
    """OpenAPI 3 paths for what ``/fhir/metadata`` declares."""
    statement = capability_statement(RequestFactory().get("/fhir/metadata"))
    paths: dict[str, Any] = {}
    any_answer = {"default": {"description": "FHIR resource or OperationOutcome"}}
    common = ["_count", "_sort", "_elements", "_format", "_summary", "_include"]
    for resource in statement["rest"][0]["resource"]:
        kind = resource["type"]
        interactions = {i["code"] for i in resource.get("interaction", [])}
        if "search-type" in interactions:
            names = [p["name"] for p in resource["searchParam"]] + common
            paths[f"/fhir/{kind}"] = {
                "get": {
                    "operationId": f"search{kind}",
                    "parameters": [_parameter(n) for n in names],
                    "responses": any_answer,
                }
            }
        if "read" in interactions:
            paths[f"/fhir/{kind}/{{id}}"] = {
                "get": {
                    "operationId": f"read{kind}",
                    "parameters": [_parameter("id", "path")],
                    "responses": any_answer,
                }
            }
        if "create" in interactions:
            paths.setdefault(f"/fhir/{kind}", {})["post"] = {
                "operationId": f"create{kind}",
                "requestBody": {
                    "required": True,
                    "content": {"application/fhir+json": {"schema": {"type": "object"}}},
                },
                "responses": any_answer,
            }
    export = ["_type", "_since", "_outputFormat", "_typeFilter"]
    for path in ("/fhir/$export", "/fhir/Patient/$export"):
        paths[path] = {
            "get": {
                "operationId": "export" + path.split("/")[2].strip("$"),
                "parameters": [_parameter(n) for n in export]
                + [{"name": "Prefer", "in": "header", "schema": TEXT}],
                "responses": any_answer,
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "acuknee FHIR (from its CapabilityStatement)", "version": "1"},
        "paths": paths,
    }


schema = schemathesis.openapi.from_dict(fhir_openapi())
schema.app = application
schema.config.generation.update(codec=None, allow_x00=True)


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(alice: User, patient: Patient, keep_test_connection: None) -> dict[str, str]:
    _, secret = ApiToken.issue(alice, "fhir fuzz")
    return {"Authorization": f"Bearer {secret}", "Accept": "application/fhir+json"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_fhir_never_answers_a_server_error(case: Any, bearer: dict[str, str]) -> None:
    response = case.call(headers=bearer)
    fuzzing.count("FHIR", response.status_code)
    case.validate_response(response, checks=[not_a_server_error])


def test_the_fuzzed_surface_is_the_declared_one() -> None:
    """Every type the CapabilityStatement declares is searched and read by the fuzzer."""
    paths = fhir_openapi()["paths"]
    assert "/fhir/Patient" in paths
    assert "/fhir/Patient/{id}" in paths
    assert "post" in paths["/fhir/QuestionnaireResponse"]
    assert len(paths) > 10


def teardown_module() -> None:
    fuzzing.write_tally()
