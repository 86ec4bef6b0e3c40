"""The clinic's personas (tests/pages/conftest.py) and an API client authenticated by token."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from acuknee.records.models import ApiToken, Clinic, Patient
from tests.pages.conftest import (  # noqa: F401  (fixtures re-exported for tests/api)
    alice,
    bob,
    carol,
    dana,
    erin,
    northside,
    patient,
    rex,
    southside,
)


class Api:
    """A client speaking to /api/v1 with ``Authorization: Bearer <token>`` (or none)."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(
        self, path: str, data: Any = None, content_type: str = "application/json", raw: Any = None
    ) -> Any:
        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.post(
            f"/api/v1{path}", body, content_type=content_type, headers=self._headers()
        )


def api_for(user: User | None) -> Api:
    if user is None:
        return Api()
    _, secret = ApiToken.issue(user, "tests")
    return Api(secret)


def another_patient(clinic: Clinic, user: User, number: str) -> Patient:
    return Patient.objects.create(
        clinic=clinic,
        record_number=number,
        given_name="Bea",
        family_name=f"Example{number}",
        date_of_birth=dt.date(1955, 3, 2),
        sex="male",
        synthetic=True,
        created_by=user,
    )


def assert_error_shape(response: Any, status: int, field: str | None = "<any>") -> list[Any]:
    """The one error shape: ``{"errors": [{"field": ..., "message": ...}]}``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"errors"}
    assert data["errors"], "an error answer lists at least one error"
    for error in data["errors"]:
        assert set(error) == {"field", "message"}
        assert isinstance(error["message"], str)
        assert error["message"]
    if field != "<any>":
        assert field in [e["field"] for e in data["errors"]], data
    return list(data["errors"])
