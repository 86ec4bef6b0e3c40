"""Error views that read nothing from the request.

Django's default 400 view is wrapped in ``requires_csrf_token``, which runs the CSRF check again
and so reads the POST body again. When the body is the reason for the 400 and Django did not mark
it unreadable (a urlencoded body declaring a charset other than UTF-8, ``BadRequest`` since
Django 5.0, ticket #34709), that second read raises again, the 500 view does the same, and the
exception escapes to the server as a 500. This view answers 400 without touching the body.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBadRequest

_BODY = b"<!doctype html>\n<title>Bad Request (400)</title>\n<h1>Bad Request (400)</h1>\n"


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(_BODY, content_type="text/html; charset=utf-8")
