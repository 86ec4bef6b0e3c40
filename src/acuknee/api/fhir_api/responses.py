"""FHIR answers: an error is a ``FhirError`` answered as an OperationOutcome, and
``fhir_view`` wraps every view (Bearer token, JSON only, every failure an OperationOutcome).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from acuknee.api.auth import BearerToken, InsufficientScope

Json = dict[str, Any]
logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"


class FhirError(Exception):
    """An error answered as an OperationOutcome with ``status``."""

    def __init__(
        self, status: int, message: str, code: str = "invalid", expression: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.issues: list[tuple[str, str, str | None]] = [(code, message, expression)]


def outcome(issues: Iterable[tuple[str, str, str | None]], severity: str = "error") -> Json:
    out: list[Json] = []
    for code, message, expression in issues:
        issue: Json = {"severity": severity, "code": code, "diagnostics": message}
        if expression:
            issue["expression"] = [expression]
        out.append(issue)
    return {"resourceType": "OperationOutcome", "issue": out}


def fhir_response(data: Json, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    return response


def error_response(status: int, issues: Iterable[tuple[str, str, str | None]]) -> HttpResponse:
    response = fhir_response(outcome(issues), status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="acuknee"'
    return response


def _authenticate(request: HttpRequest) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        found = BearerToken().authenticate(request, token) if scheme.lower() == "bearer" else None
    except InsufficientScope as exc:
        raise FhirError(403, str(exc), "forbidden") from None
    if found is None:
        raise FhirError(401, "a valid API token is required (Authorization: Bearer)", "login")


def fhir_view(
    view: Callable[..., HttpResponse], *, public: bool = False
) -> Callable[..., HttpResponse]:
    """Token authentication (unless ``public``), JSON negotiation, and every failure as an
    OperationOutcome. Token auth needs no CSRF check: no cookie authenticates here."""

    @csrf_exempt  # type: ignore[untyped-decorator]
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            _negotiate(request)
            if not public:
                _authenticate(request)
            return view(request, *args, **kwargs)
        except FhirError as exc:
            return error_response(exc.status, exc.issues)
        except PermissionDenied:
            return error_response(403, [("forbidden", "your role may not use this resource", None)])
        except Http404:
            return error_response(404, [("not-found", "no such resource", None)])
        except RequestDataTooBig:
            return error_response(413, [("too-costly", "the request body is too large", None)])
        except Exception:  # a bug or bad stored data: logged, and still an OperationOutcome
            logger.exception("FHIR request failed: %s %s", request.method, request.path)
            return error_response(500, [("exception", "the server could not answer", None)])

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return cast(Callable[..., HttpResponse], wrapper)


def _negotiate(request: HttpRequest) -> None:
    """JSON only: ``_format`` or an Accept header asking for XML alone is a 406."""
    wanted = request.GET.get("_format", "")
    if wanted and "json" not in wanted:
        raise FhirError(406, "only JSON is served (_format=json)", "not-supported")
    accept = request.headers.get("Accept", "")
    if accept and not any(kind in accept for kind in ("json", "*/*", "application/*")):
        raise FhirError(406, "only application/fhir+json is served", "not-supported")


def base_url(request: HttpRequest) -> str:
    return str(request.build_absolute_uri("/fhir/")).rstrip("/")
