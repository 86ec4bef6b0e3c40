"""django-axes' lockout check, for sign-ins that come with a request, and the user model backend
that reads the staff profile with the user."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from acuknee.accounts.twofactor import ENROLLED_ATTR
from acuknee.records.prepared import Prepared


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """Refuse a locked-out username+address before the password is checked.

    ``authenticate()`` without a request comes from code (a shell, a test), not from a sign-in
    over the network, so there is no address to lock and nothing to brute-force: it passes to
    the next backend instead of failing as axes' own backend does. Every web sign-in (Django's
    ``LoginView``) passes the request.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


_ENROLLED = Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))


def _signed_in_user(user_id: int) -> Any:
    return (
        get_user_model()
        ._default_manager.select_related("staff__clinic")
        .annotate(**{ENROLLED_ATTR: _ENROLLED})
        .filter(pk=user_id)
    )


SIGNED_IN_USER = Prepared(_signed_in_user, user_id=int)
"""Every signed-in request reads its user: compiled once (``records.prepared``)."""


class StaffBackend(ModelBackend):  # type: ignore[misc]
    """Django's user model backend that reads a signed-in user's staff profile and clinic, and
    whether they have enrolled a second factor, with the user, in the one query every request
    makes for the user: every page then asks for the role and the clinic
    (``accounts.access.staff_of``), and an unverified user's every page for the device
    (``accounts.middleware.TwoFactorMiddleware``); those were two more queries."""

    def get_user(self, user_id: Any) -> Any:
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except (TypeError, ValueError, ValidationError):
            return None
        user = SIGNED_IN_USER.first(user_id=pk)
        return user if user is not None and self.user_can_authenticate(user) else None
