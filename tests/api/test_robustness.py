"""Issue 4, section 4, bounded and offline: every operation of the published OpenAPI document is
called with hostile parameters and bodies; nothing may answer 5xx, and every 4xx has the one
error shape. (A stand-in for schemathesis, which is not a dependency yet.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from acuknee.records.models import ApiToken, Patient
from tests.api.conftest import assert_error_shape

HOSTILE = ["", "0", "-1", "abc", "9" * 30, "2026-13-45", "1e309", "' OR 1=1 --", "\u00e9\u0000"]
BODIES = ["{}", "[]", '"text"', "null", "1", '{"name": {"nested": [1, 2]}}', '{"answers": []}']


def _operations() -> list[tuple[str, str, list[str]]]:
    document = Client().get("/api/v1/openapi.json").json()
    ops = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            ops.append((method, path, query))
    return ops


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value.replace("/", "_") or "x", path)


def _check(response: Any) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert_error_shape(response, response.status_code)


@pytest.fixture
def secret(alice: User, patient: Patient) -> str:
    return ApiToken.issue(alice, "robustness")[1]


def test_hostile_parameters_never_cause_a_server_error(secret: str) -> None:
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}
    for method, path, query in _operations():
        for value in HOSTILE:
            url = _fill(path, value)
            if method == "get":
                params = dict.fromkeys(query, value)
                _check(client.get(url, params, headers=headers))
            else:
                _check(client.post(url, "{}", content_type="application/json", headers=headers))


def test_hostile_bodies_never_cause_a_server_error(secret: str, patient: Patient) -> None:
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}
    for method, path, _ in _operations():
        if method != "post":
            continue
        url = _fill(path, str(patient.pk))
        for body in BODIES:
            _check(client.post(url, body, content_type="application/json", headers=headers))
        _check(client.post(url, json.dumps({"x": 1}), content_type="text/csv", headers=headers))


def test_an_unknown_api_path_is_404_in_the_error_shape(secret: str) -> None:
    response = Client().get("/api/v1/no-such-thing", headers={"Authorization": f"Bearer {secret}"})
    assert_error_shape(response, 404, None)


def test_token_requests_need_no_csrf_token(secret: str) -> None:
    token = ApiToken.objects.get(token_hash=ApiToken.hash_token(secret))
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/api/v1/tokens/{token.pk}/revoke",
        json.dumps({}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200
