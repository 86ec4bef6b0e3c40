"""gunicorn's access log without the secrets a URL can carry (issue 13, case 9).

A self-report link is ``/r/<token>/``: the token is the patient's only credential, and
gunicorn's default access line (``"GET /r/<token>/ HTTP/1.1"``) wrote it in clear to the
production log, where anyone who reads logs could open the questionnaire. A patient search puts
a name or record number in ``?q=``. ``RedactingLogger`` (``acuknee serve`` passes it as
``--logger-class``) replaces both in every atom of the line, and drops credential headers, so no
log format can print them.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

LINK = re.compile(r"/r/[^/?#\s\"]+")
SEARCH = re.compile(r"(^|[?&])(q=)[^&#\s\"]*")
SECRET_HEADERS = ("{authorization}i", "{cookie}i", "{set-cookie}o", "{http_authorization}e")


def redact(text: str) -> str:
    """A URL (or a line holding one) with self-report tokens and search text replaced."""
    return SEARCH.sub(r"\1\2[search]", LINK.sub("/r/[token]", text))


class RedactingLogger(Logger):
    """gunicorn's logger, whose access-log atoms never hold a link token or search text."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in SECRET_HEADERS:
            if key in atoms:
                atoms[key] = "[redacted]"
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
