"""Who must pass a second factor, and the TOTP device they use.

Clinic admins manage staff and API tokens, so a stolen password alone must not open their
account: they enrol before reaching any page. Anyone else may enrol; once enrolled, the code is
asked at every sign-in.
"""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from acuknee.accounts.access import staff_of
from acuknee.records.models import Role

DEVICE_NAME = "authenticator app"
REQUIRED_ROLES = frozenset({Role("clinic_admin")})


def confirmed_device(user: Any) -> TOTPDevice | None:
    """The user's enrolled (confirmed) TOTP device, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


ENROLLED_ATTR = "acuknee_enrolled"
"""Set by ``accounts.backends.StaffBackend`` on the request's user: whether a confirmed device
existed when the user was read, in the same query."""


def is_enrolled(user: Any) -> bool:
    """Whether the user has a confirmed TOTP device: read with the user where the backend did,
    so the check before every page of an unverified user costs no query of its own."""
    known = getattr(user, ENROLLED_ATTR, None)
    if known is not None:
        return bool(known)
    return confirmed_device(user) is not None


def pending_device(user: Any) -> TOTPDevice:
    """The device being enrolled: reused on reload, so a scanned code stays valid."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def required_for(user: Any) -> bool:
    """True when the user's role requires a second factor."""
    staff = staff_of(user)
    return staff is not None and staff.role in REQUIRED_ROLES
