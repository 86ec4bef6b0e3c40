"""Who is calling: a Bearer token resolved to its user, and the web app's access rules.

The rules are ``clinic.access``'s, applied to the token's user: the same role sets
(``CLINICAL_ROLES``, ``SCHEDULING_ROLES``), a staff profile required, another clinic's patient a
404. A token's scopes are checked here, once, for every API, FHIR and bulk-export request: read
for GET/HEAD, write for any other method, export for anything under ``$export`` (kick-off,
status, files). Token management (who may list and revoke whose tokens) is here too, shared by
the API endpoints and the ``/account/tokens/`` page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from acuknee.accounts.access import staff_clinic, staff_profile
from acuknee.records.models import ApiToken, Patient, Role, TokenScope

ALL_ROLES: frozenset[Role] = frozenset(Role(value) for value in Role.values)
"""The knowledge base and a user's own tokens hold no patient data: every staff role."""

_TOUCH_EVERY = dt.timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, not on every request."""


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class InsufficientScope(PermissionDenied):  # type: ignore[misc]
    """A valid token without the scope the request needs (403, saying which scope)."""


def required_scope(request: HttpRequest) -> TokenScope:
    """Export for a bulk export's kick-off, status and files; read for GET; write otherwise."""
    if "$export" in request.path:
        return TokenScope("export")
    if (request.method or "GET") in READ_METHODS:
        return TokenScope("read")
    return TokenScope("write")


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``: an unexpired, unrevoked token of an active user, else
    401; a token without the scope the request needs, 403."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        if not token:
            return None
        now = timezone.now()
        found = (
            ApiToken.objects.select_related("user")
            .filter(
                token_hash=ApiToken.hash_token(token.strip()),
                revoked_at__isnull=True,
                expires_at__gt=now,
            )
            .first()
        )
        if found is None or not found.user.is_active:
            return None
        request.user = found.user  # also when refused below: the audit row names who tried
        needed = required_scope(request)
        if needed not in found.scope_set:
            raise InsufficientScope(f"this token lacks the {needed.value} scope")
        if found.last_used_at is None or now - found.last_used_at > _TOUCH_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return cast(ApiToken, found)


def require(request: HttpRequest, roles: Collection[Role]) -> None:
    """A staff profile with one of ``roles``, else 403 (as ``clinic_view``)."""
    if staff_profile(request).role not in roles:
        raise PermissionDenied("role not allowed")


def clinic_patients(request: HttpRequest) -> QuerySet[Patient]:
    """The patients of the caller's clinic (a caller without a clinic is refused: 403)."""
    return Patient.objects.filter(clinic=staff_clinic(request))


def clinic_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The caller's clinic's patient, voided ones included; another clinic's is a 404."""
    try:
        return cast(Patient, clinic_patients(request).get(pk=patient_id))
    except Patient.DoesNotExist as exc:
        raise Http404("no such patient") from exc


# --- token management --------------------------------------------------------------------------


def _is_clinic_admin(user: Any) -> bool:
    staff = getattr(user, "staff", None)
    return staff is not None and staff.role == Role("clinic_admin") and staff.clinic_id is not None


def manageable_tokens(user: Any) -> QuerySet[ApiToken]:
    """The user's own tokens; a clinic admin's also include those of their clinic's staff."""
    tokens = ApiToken.objects.select_related("user")
    if _is_clinic_admin(user):
        return tokens.filter(user__staff__clinic_id=user.staff.clinic_id) | tokens.filter(user=user)
    return tokens.filter(user=user)
