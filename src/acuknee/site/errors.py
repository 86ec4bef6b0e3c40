"""Error views: a 400 that reads nothing from the request, and 403 and 404 pages that keep the
site's navigation and say what to do.

Django's default 400 view is wrapped in ``requires_csrf_token``, which runs the CSRF check again
and so reads the POST body again. When the body is the reason for the 400 and Django did not mark
it unreadable (a urlencoded body declaring a charset other than UTF-8, ``BadRequest`` since
Django 5.0, ticket #34709), that second read raises again, the 500 view does the same, and the
exception escapes to the server as a 500. This view answers 400 without touching the body.

A 403 or 404 in the clinic app is a person at a dead end: the pages extend the base layout (so
the navigation stays) and point to the user's own landing page. The API and FHIR keep Django's
plain answers, which their clients do not read as pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views import defaults

from acuknee.accounts.access import landing_page

_BODY = b"<!doctype html>\n<title>Bad Request (400)</title>\n<h1>Bad Request (400)</h1>\n"
_MACHINE_PREFIXES = ("/api/", "/fhir/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(_BODY, content_type="text/html; charset=utf-8")


_LANDING_TITLES = {
    "worklist": "your worklist",
    "patient-list": "the patient list",
    "research-home": "the research pages",
}


def _context(request: HttpRequest) -> dict[str, str | None]:
    """Where the user can go from here: their landing page (the sign-in page when signed out;
    nothing for a user without a staff profile, whose every page is refused) and their role.
    A missing profile reads as None: its RelatedObjectDoesNotExist is an AttributeError."""
    user = request.user
    if not user.is_authenticated:
        return {"landing": reverse("login"), "landing_name": "the sign-in page", "role": None}
    profile = getattr(user, "staff", None)
    if profile is None:
        return {"landing": None, "landing_name": None, "role": None}
    name = landing_page(profile.role)
    return {
        "landing": reverse(name),
        "landing_name": _LANDING_TITLES.get(name, "your start page"),
        "role": profile.get_role_display(),
    }


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: the page exists but the user's role may not open it; say so and where to go."""
    if request.path.startswith(_MACHINE_PREFIXES):
        return defaults.permission_denied(request, exception)
    return render(request, "pages/403.html", _context(request), status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: nothing here, or a record of another clinic (never confirmed to exist)."""
    if request.path.startswith(_MACHINE_PREFIXES):
        return defaults.page_not_found(request, exception)
    return render(request, "pages/404.html", _context(request), status=404)
