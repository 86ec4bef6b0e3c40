"""Idle expiry without a database write on every request.

A session ends ``SESSION_COOKIE_AGE`` after the last request (docs/security.md). Django's
``SESSION_SAVE_EVERY_REQUEST`` keeps that window by rewriting the session row on every request:
a write transaction per page view, which on SQLite queues every reader behind the one writer
(issue 15). Here the row is rewritten only when its stored expiry has fallen more than
``RENEW_AFTER_S`` behind a fresh window, so a session still ends between
``SESSION_COOKIE_AGE - RENEW_AFTER_S`` and ``SESSION_COOKIE_AGE`` after the last request, and
an active user's session is written about once a minute instead of once a request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from acuknee.records.prepared import Prepared

RENEW_AFTER_S = 60
"""How far a stored expiry may lag behind a fresh window before a request rewrites it."""


def _live_session(session_key: str, now: dt.datetime) -> Any:
    """Django's own read of a session row (``db.SessionStore._get_session_from_db``)."""
    return SessionStore.get_model_class().objects.filter(
        session_key=session_key, expire_date__gt=now
    )


LIVE_SESSION = Prepared(_live_session, session_key=str, now=dt.datetime)
"""Every signed-in request reads its session: compiled once (``records.prepared``)."""


class SessionStore(DatabaseSessionStore):  # type: ignore[misc]
    """The database store, remembering the expiry stored with the row it loaded, and reading
    the row as a prepared read."""

    stored_expiry: dt.datetime | None = None

    def _get_session_from_db(self) -> Any:
        key = self.session_key  # None when the cookie's key was not a valid one
        row = LIVE_SESSION.first(session_key=key, now=timezone.now()) if key else None
        if row is None:
            self._session_key = None
        self.stored_expiry = row.expire_date if row is not None else None
        return row


class RenewingSessionMiddleware(SessionMiddleware):  # type: ignore[misc]
    """Django's session middleware that renews a stale expiry (see the module docstring)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        stored = getattr(session, "stored_expiry", None)
        if session is not None and stored is not None and not session.modified:
            fresh = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
            if fresh - stored > dt.timedelta(seconds=RENEW_AFTER_S):
                session.modified = True
        return super().process_response(request, response)
