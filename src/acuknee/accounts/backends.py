"""django-axes' lockout check, for sign-ins that come with a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


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
