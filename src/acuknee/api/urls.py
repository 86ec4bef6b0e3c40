"""``/api/v1/``: the ninja API, then a catch-all so an unknown API path is a 404 in the error
shape rather than the site's HTML page."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path

from acuknee.api.errors import body
from acuknee.api.rest import api


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse(body([(None, "no such API path")]), status=404)


urlpatterns: list[URLPattern | URLResolver] = [
    path("", api.urls),
    re_path(r"^(?P<rest>.*)$", not_found),
]
