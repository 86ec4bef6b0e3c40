"""One error shape for every API failure: ``{"errors": [{"field": ..., "message": ...}]}``.

Ninja's own answers (validation, authentication, unparsable bodies, Http404) and Django's
(permission denied, oversized body) are all rewritten here, so a client handles one shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from acuknee.care import errors as care
from acuknee.records.models import StaleEdit

CARE_STATUS: tuple[tuple[type[care.CareError], int], ...] = (
    (care.NotFound, 404),
    (care.LinkGone, 410),
    (care.InvalidRecord, 422),
    (care.CareError, 409),
)
"""How a refused clinical act is answered (first match wins): not found, gone, a record that
would contradict itself (422, naming the field), else a conflict with the record's state
(voided, stale, duplicate submit, referral open, planning not allowed: 409)."""

OUT_OF_RANGE = "out_of_range"
"""The pydantic error type of a number too large for the database (``schemas.Storable``)."""

_SOURCES = {"body", "query", "path", "header", "cookie", "form"}
"""The first part of ninja's error location, which says where, not what."""

_BODY_PARAMS = {"payload", "filters", "ninja_pagination"}
"""The handler parameter names the API uses for its bodies and query schemas (not fields)."""


class ApiError(Exception):
    """An error the API answers with ``status`` and these ``(field, message)`` pairs."""

    def __init__(self, status: int, errors: Iterable[tuple[str | None, str]]) -> None:
        self.status = status
        self.errors = list(errors)
        super().__init__("; ".join(m for _, m in self.errors))


class UnsupportedMediaType(Exception):
    """A body that is not ``application/json``."""


def body(errors: Iterable[tuple[str | None, str]]) -> dict[str, Any]:
    return {"errors": [{"field": f, "message": m} for f, m in errors]}


def field_path(loc: Sequence[Any]) -> str | None:
    """``("body", "payload", "points", 0, "side")`` -> ``points.0.side``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if parts and parts[0] in _BODY_PARAMS:
        parts = parts[1:]
    return ".".join(parts) or None


_NAMED = re.compile(r"([a-z_]+(?:\.[a-z0-9_]+)*): (.+)", re.DOTALL)
"""A model-level check of the core names the field it is about first ("points: ST35 is listed
twice on the left side", "number_of_needles: 3 is fewer than ..."): pydantic places it on the
model, so the field would otherwise be null."""


def pydantic_errors(errors: Iterable[Mapping[str, Any]]) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for e in errors:
        path = field_path(e.get("loc", ()))
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        named = _NAMED.fullmatch(message)
        if named is not None:
            path = f"{path}.{named.group(1)}" if path else named.group(1)
        out.append((path, message))
    return out


def install(api: NinjaAPI) -> None:
    """Register the handlers that give every error the one shape."""

    def answer(request: HttpRequest, status: int, errors: Any) -> HttpResponse:
        response = api.create_response(request, body(errors), status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="acuknee"'
        return response

    def on_api_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, exc.status, exc.errors)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        # A number beyond what the database stores is a bad request (400), not a 500.
        beyond = any(e.get("type") == OUT_OF_RANGE for e in exc.errors)
        return answer(request, 400 if beyond else 422, pydantic_errors(exc.errors))

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 401, [(None, "a valid API token is required (Bearer)")])

    def on_http(request: HttpRequest, exc: Any) -> HttpResponse:
        cause = exc.__cause__
        if isinstance(cause, ApiError):  # raised by the API's own body parser
            return on_api_error(request, cause)
        if isinstance(cause, RequestDataTooBig):
            return on_too_big(request, cause)
        if isinstance(cause, UnsupportedMediaType):
            return answer(request, 415, [(None, str(cause))])
        if exc.status_code == 400:
            return answer(request, 400, [(None, "the request body is not valid JSON")])
        return answer(request, exc.status_code, [(None, str(exc))])

    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 404, [(None, "not found")])

    def on_403(request: HttpRequest, exc: Any) -> HttpResponse:
        from acuknee.api.auth import InsufficientScope

        if isinstance(exc, InsufficientScope):
            return answer(request, 403, [(None, str(exc))])
        return answer(request, 403, [(None, "your role may not use this resource")])

    def on_too_big(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 413, [(None, "the request body is too large")])

    def on_stale(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 409, [(None, str(exc))])

    def on_care(request: HttpRequest, exc: Any) -> HttpResponse:
        status = next(code for cls, code in CARE_STATUS if isinstance(exc, cls))
        response = answer(request, status, exc.problems)
        existing = getattr(exc, "existing_id", None)
        if existing is not None:
            response["X-Existing-Id"] = str(existing)
        return response

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(PermissionDenied, on_403)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(StaleEdit, on_stale)
    api.add_exception_handler(care.CareError, on_care)
