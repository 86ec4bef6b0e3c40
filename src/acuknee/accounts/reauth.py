"""Re-authentication before a sensitive action (ASVS 2.2 and 3.7.1): a signed-in session that
has not proved its user in the last ``RECENT_SECONDS`` is sent to confirm the password (and a
current code, where the user has enrolled a device) first, so a borrowed or hijacked session
alone cannot take data away.

Used by the audit log's CSV export; minting an API token (which any API export needs) asks for
a fresh code on its own form.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from acuknee.accounts.middleware import SIGNED_IN_AT

RECENT_SECONDS = 15 * 60
"""How long a sign-in or a confirmation counts as recent."""

CONFIRMED_AT = "acuknee_confirmed_at"


def recently_confirmed(request: HttpRequest) -> bool:
    proved = max(
        int(request.session.get(CONFIRMED_AT, 0) or 0),
        int(request.session.get(SIGNED_IN_AT, 0) or 0),
    )
    return time.time() - proved <= RECENT_SECONDS


def mark_confirmed(request: HttpRequest) -> None:
    request.session[CONFIRMED_AT] = int(time.time())


def confirm_first(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Send a session that has not proved its user recently to ``confirm-identity`` first,
    coming back here after."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not recently_confirmed(request):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('confirm-identity')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped
