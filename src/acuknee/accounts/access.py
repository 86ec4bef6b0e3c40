"""Who may open which clinic page: one decorator every clinic view uses.

Access is decided here, once, so no view can forget a check: login, a staff profile, the role,
and the patient's clinic. Another clinic's patient is a 404, never a 403, so a URL does not even
reveal that the record exists.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from acuknee.records.models import Clinic, Patient, Role, StaffProfile
from acuknee.records.prepared import Prepared

# Role("...") rather than Role.X: Django is untyped here, so mypy sees Role.X as a tuple.
CLINICAL_ROLES: frozenset[Role] = frozenset({Role("practitioner"), Role("clinic_admin")})
"""Who may read and write clinical sections (intake, plan, sessions, outcomes)."""

SCHEDULING_ROLES: frozenset[Role] = CLINICAL_ROLES | {Role("front_desk")}
"""Who may list, search and register patients and see a patient's header."""

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])

LANDING_PAGES: dict[str, str] = {
    "practitioner": "worklist",
    "clinic_admin": "worklist",
    "front_desk": "patient-list",
    "researcher": "research-home",
}
"""Each role's first page after sign-in (a URL name): one its role may open."""


def landing_page(role: str) -> str:
    """The URL name of ``role``'s landing page (the patient list for a role not listed)."""
    return LANDING_PAGES.get(str(role), "patient-list")


def admits(user: Any, path: str) -> bool:
    """Whether the page at ``path`` lets ``user`` in by the roles its view declares, so sign-in
    never lands someone on a 403 (a researcher sent to the patient list). A path that resolves
    to no declared view, or a user without a profile yet, is left to the page itself."""
    try:
        match = resolve(path.split("?", 1)[0])
    except Resolver404:
        return True
    roles = getattr(match.func, "acuknee_roles", None)
    profile = getattr(user, "staff", None) if getattr(user, "is_authenticated", False) else None
    if roles is None or profile is None:
        return True
    return Role(profile.role) in roles


def staff_of(user: Any) -> StaffProfile | None:
    """The user's staff profile with its clinic, read together once and kept on the user
    (``user.staff``): a page reads the role, then the clinic, and these were two queries."""
    if not getattr(user, "is_authenticated", False):
        return None
    related = get_user_model().staff.related  # ``user`` may be the request's lazy proxy
    if not related.is_cached(user):
        profile = StaffProfile.objects.select_related("clinic").filter(user=user).first()
        related.set_cached_value(user, profile)
        if profile is not None:
            StaffProfile.user.field.set_cached_value(profile, user)
    return cast(StaffProfile | None, related.get_cached_value(user))


def staff_profile(request: HttpRequest) -> StaffProfile:
    """The user's staff profile; a logged-in user without one is refused (403)."""
    profile = staff_of(request.user)
    if profile is None:
        raise PermissionDenied("no staff profile")
    return profile


def staff_clinic(request: HttpRequest) -> Clinic:
    """The user's clinic; a user without one (e.g. a network researcher) is refused (403)."""
    clinic = cast(Clinic | None, staff_profile(request).clinic)
    if clinic is None:
        raise PermissionDenied("no clinic")
    return clinic


def _clinic_patient(patient_id: int, clinic_id: int) -> QuerySet[Patient]:
    return Patient.objects.filter(pk=patient_id, clinic_id=clinic_id)


CLINIC_PATIENT = Prepared(_clinic_patient, patient_id=int, clinic_id=int)
"""Every patient's page reads the patient in the user's clinic: compiled once."""


def clinic_view(*, roles: Collection[Role] | None = None) -> Callable[[ViewFunc], ViewFunc]:
    """Decorate a clinic view: login, staff profile, role, and patient scoped to the clinic.

    ``roles`` defaults to ``CLINICAL_ROLES`` (pass ``SCHEDULING_ROLES`` for front-desk pages; a
    custom set as ``{Role("researcher")}``, since mypy reads ``Role.X`` as a tuple).

    A URL keyword ``patient_id`` is replaced by ``patient``: the Patient of the user's own
    clinic (voided ones included: they stay visible), or 404. Only then is a clinic required, so
    a researcher without one can open an aggregates view (``roles={Role("researcher")}``); a
    view without a patient that needs the clinic calls ``staff_clinic(request)``.
    """
    allowed = frozenset(Role(r) for r in (CLINICAL_ROLES if roles is None else roles))

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            profile = staff_profile(request)
            if profile.role not in allowed:
                raise PermissionDenied("role not allowed")
            if "patient_id" in kwargs:
                patient_id = kwargs.pop("patient_id")
                clinic = staff_clinic(request)
                patient = CLINIC_PATIENT.first(patient_id=patient_id, clinic_id=clinic.pk)
                if patient is None:
                    raise Http404("no such patient")
                patient.clinic = clinic  # the same row: not read again by patient.clinic
                kwargs["patient"] = patient
            return view(request, *args, **kwargs)

        # Declared for the authorization matrix (tests/security): who this view admits.
        wrapper.acuknee_roles = allowed  # type: ignore[attr-defined]
        return cast(ViewFunc, wrapper)

    return decorator


def public_view(*, reason: str) -> Callable[[ViewFunc], ViewFunc]:
    """Mark a view as open to anyone, saying why; it changes nothing at run time.

    The authorization matrix (tests/security) fails for a URL whose view declares no rule:
    a view is either ``@clinic_view(roles=...)`` or ``@public_view(reason=...)`` (the login page,
    the health check, a patient's self-report link, which checks its own token).
    """
    if not reason.strip():
        raise ValueError("public_view needs a reason: why may anyone open this view?")

    def decorator(view: ViewFunc) -> ViewFunc:
        view.acuknee_public = reason  # type: ignore[attr-defined]
        return view

    return decorator
