"""How the clinic pages answer a refused clinical act (``acuknee.care.errors``), in one place:
the HTTP status of the page re-shown, and where the message goes (a form's field, the form as a
whole, or a flash message)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from acuknee.care import errors

STATUS: tuple[tuple[type[errors.CareError], int], ...] = (
    (errors.NotFound, 404),
    (errors.LinkGone, 410),
    (errors.InvalidRecord, 400),
    (errors.CareError, 409),
)
"""First match wins: not found, gone, bad input (the form again), else a conflict with the
record's state (voided, stale, duplicate, referral open, planning not allowed)."""


def status_of(exc: errors.CareError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def on_form(form: forms.Form, exc: errors.CareError, rename: dict[str, str] | None = None) -> int:
    """Put each problem on the form field it names (the whole form when it names none or one
    the form lacks); returns the page's status."""
    for field, message in exc.problems:
        name = (rename or {}).get(field or "", field)
        if name is not None and name not in form.fields:
            name = name.replace(".", "__")  # an intake path (health.pregnant) as its form field
        form.add_error(name if name in form.fields else None, message)
    return status_of(exc)


def flash(request: HttpRequest, exc: errors.CareError) -> int:
    """The problems as error messages (for a POST that redirects); returns the status."""
    for _, message in exc.problems:
        messages.error(request, message)
    return status_of(exc)


def lines(exc: errors.CareError) -> list[str]:
    return [message for _, message in exc.problems]


def context(exc: errors.CareError) -> dict[str, Any]:
    return {"care_error": exc, "care_problems": lines(exc)}
