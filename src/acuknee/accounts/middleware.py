"""Hold a signed-in but unverified user at the second factor before any page.

It runs after django-otp's ``OTPMiddleware`` (which sets ``user.is_verified()``). Passed through:
views marked public (sign-in, sign-out, health check, self-report links), the two-factor steps
themselves (``two_factor_step``), and the API and FHIR, which authenticate by Bearer token and
never by this session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject, empty

from acuknee.accounts.twofactor import is_enrolled, required_for

TOKEN_PREFIXES = ("/api/", "/fhir/")

View = TypeVar("View", bound=Callable[..., Any])


def two_factor_step(view: View) -> View:
    """Mark a view an unverified user may open (enrolment, verification)."""
    view.acuknee_two_factor_step = True  # type: ignore[attr-defined]
    return view


def _passes(view: Any) -> bool:
    """Public or a two-factor step, looking through decorators that keep ``__wrapped__``."""
    while view is not None:
        if getattr(view, "acuknee_public", None) or getattr(view, "acuknee_two_factor_step", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def concrete_user(user: Any) -> Any:
    """The user object behind the lazy proxies Django's and django-otp's middleware put on
    ``request.user`` (a proxy of a proxy): the user read, with django-otp's ``otp_device`` and
    ``is_verified`` set on it. Every attribute read through the two proxies costs two calls;
    an intake save read the user's about 770 times (its rows' and history rows' foreign keys),
    0.5 ms of the save (issue 15, goal 1's thirteenth round). Anything else is returned as it
    is."""
    while type(user) is SimpleLazyObject:
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The user is read on every request already (SessionLifetimeMiddleware asks whether it
        # is signed in, process_view whether it is verified): no query is added.
        if hasattr(request, "user"):
            request.user = concrete_user(request.user)
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        if _passes(view) or request.path.startswith(TOKEN_PREFIXES):
            return None
        if is_enrolled(user):
            target = "two-factor-verify"
        elif required_for(user):
            target = "two-factor-setup"
        else:
            return None
        try:
            step = reverse(target)
        except NoReverseMatch:  # a URLconf without the two-factor pages: refuse, never skip
            raise PermissionDenied("second factor required") from None
        return HttpResponseRedirect(f"{step}?{urlencode({'next': request.get_full_path()})}")


SIGNED_IN_AT = "acuknee_signed_in_at"
"""Session key: when the password was given (seconds since the epoch)."""


def stamp_sign_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: start the absolute session clock."""
    import time

    request.session[SIGNED_IN_AT] = int(time.time())


class SessionLifetimeMiddleware:
    """End a session ``ACUKNEE_SESSION_MAX_HOURS`` after sign-in however active it was (the
    idle limit alone let a session renewed every 29 minutes live for ever). A session without
    the stamp (made before this existed) is stamped now."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import time

        from django.conf import settings
        from django.contrib.auth import logout

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            now = int(time.time())
            if started is None:
                request.session[SIGNED_IN_AT] = now
            elif now - int(started) > settings.ACUKNEE_SESSION_MAX_SECONDS:
                logout(request)
        return self.get_response(request)


class NoStoreWhenSignedInMiddleware:
    """A page shown to a signed-in user may hold a patient's record: no browser or proxy keeps
    it (ASVS 8.1.1), unless the view set its own caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.utils.cache import add_never_cache_headers

        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
