"""``/api/v1/``: the ninja API, then a catch-all so an unknown API path is a 404 in the error
shape rather than the site's HTML page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path

from acuknee.api import research
from acuknee.api.errors import body
from acuknee.api.rest import api


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse(body([(None, "no such API path")]), status=404)


def _json_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """ninja answers a method a path lacks with a plain-text 405; give it the one error shape
    (found by schemathesis), keeping the ``Allow`` header."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        message = f"{request.method} is not allowed here; use {response.get('Allow', 'another')}"
        answer = JsonResponse(body([(None, message)]), status=405)
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        return answer

    return wrapped


api.add_router("/research", research.router)  # GET /api/v1/research/outcomes (issue 6)
_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    if isinstance(_pattern, URLPattern):
        _pattern.callback = _json_not_allowed(_pattern.callback)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", (_patterns, _app_name, _namespace)),
    re_path(r"^(?P<rest>.*)$", not_found),
]
