"""Production logging (issue 13, case 8): one JSON line per event on stderr, errors with their
traceback in the same line, and no link token or search text in any message.

Before, production had Django's default: with DEBUG off, ``django.request`` errors went only to
mail_admins (not configured), so a 500 left no traceback anywhere. ``settings`` installs
``LOGGING`` from ``production_logging()`` when ``ACUKNEE_PRODUCTION`` is set; development keeps
Django's console defaults.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from acuknee.site.access_log import redact


class OneLine(logging.Formatter):
    """``{"time", "level", "logger", "message"[, "traceback"]}`` as one line of JSON: a
    traceback's newlines are escaped, so a log shipper never splits an event."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["traceback"] = record.exc_text
        status = getattr(record, "status_code", None)
        if status is not None:
            event["status"] = status
        return json.dumps(event, ensure_ascii=True)


class Redact(logging.Filter):
    """Self-report link tokens and search text out of every message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def production_logging(level: str = "INFO") -> dict[str, Any]:
    """The ``LOGGING`` dict for production: everything through one redacting JSON handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "acuknee.site.logs.Redact"}},
        "formatters": {"line": {"()": "acuknee.site.logs.OneLine"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django": {"handlers": ["stderr"], "level": level, "propagate": False},
            "django.request": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }
