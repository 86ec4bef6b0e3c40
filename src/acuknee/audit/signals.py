"""Logins, failed logins and logouts, from Django's auth signals (one row each).

The signals carry Django's own verdict, so a login is recorded as it was decided, whichever view
or backend (django-axes included) handled it. A failed login keeps the username that was tried,
never the password (Django strips it from ``credentials``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from acuknee.audit import capture
from acuknee.audit.models import Action, AuditEvent


def _event(request: HttpRequest | None, action: str, **fields: Any) -> None:
    if request is not None:
        fields |= {
            "ip": capture.client_ip(request),
            "user_agent": capture.clean(request.META.get("HTTP_USER_AGENT", ""), 300),
            "method": capture.clean(request.method or "", 10),
            "path": capture.clean(request.path or "", 1000),
        }
    AuditEvent(action=action, object_type="user", **fields).save()


@receiver(user_logged_in, dispatch_uid="acuknee-audit-login")
def logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    _event(request, Action("login"), status=200, **capture.who(user))


@receiver(user_logged_out, dispatch_uid="acuknee-audit-logout")
def logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    _event(request, Action("logout"), status=200, **capture.who(user))


@receiver(user_login_failed, dispatch_uid="acuknee-audit-login-failed")
def login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    tried = str(credentials.get("username", ""))
    named: dict[str, Any] = {}
    found = get_user_model().objects.filter(username=tried).select_related("staff").first()
    if found is not None:  # the clinic's admin sees attempts on their staff
        identity = capture.who(found)
        named = {"clinic_id": identity.get("clinic_id"), "subject_user_id": found.pk}
        named["subject_username"] = identity["username"]
    _event(request, Action("login_failed"), status=401, username=capture.clean(tried, 150), **named)
