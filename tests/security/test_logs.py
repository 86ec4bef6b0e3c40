"""Secrets stay out of the production access log (issue 13, case 9): a self-report link's token
and a patient search's text never reach gunicorn's access line."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from acuknee.cli import gunicorn_args
from acuknee.site.access_log import RedactingLogger, redact

TOKEN = "Xk3v9Q_secretLINKtoken0123456789abcdef"


def _environ(path: str, query: str = "") -> dict[str, str]:
    raw = path + (f"?{query}" if query else "")
    return {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://clinic.example/r/{TOKEN}/",
        "HTTP_AUTHORIZATION": "Bearer apitokensecret",
    }


def _access_line(environ: dict[str, str], caplog: pytest.LogCaptureFixture) -> str:
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", config.access_log_format + ' "%({authorization}i)s"')
    logger = RedactingLogger(config)
    logger.access_log.addHandler(caplog.handler)
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("Set-Cookie", "sessionid=s")])
    request = SimpleNamespace(headers=[("AUTHORIZATION", "Bearer apitokensecret")])
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access(response, request, environ, dt.timedelta(milliseconds=5))
    return "\n".join(r.getMessage() for r in caplog.records)


def test_a_self_report_token_never_reaches_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    line = _access_line(_environ(f"/r/{TOKEN}/"), caplog)
    assert "/r/[token]/" in line
    assert TOKEN not in line


def test_search_text_and_credentials_never_reach_the_access_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = _access_line(_environ("/patients/", "q=Cleo+Patient&page=2"), caplog)
    assert "q=[search]&page=2" in line
    assert "Cleo" not in line
    assert "apitokensecret" not in line


def test_redact_keeps_ordinary_paths() -> None:
    assert redact("/patients/12/sessions/?page=3") == "/patients/12/sessions/?page=3"
    assert redact("/research/?quarter=1") == "/research/?quarter=1"


def test_acuknee_serve_uses_the_redacting_logger() -> None:
    args = gunicorn_args("127.0.0.1:8000", 2)
    assert args[args.index("--logger-class") + 1] == "acuknee.site.access_log.RedactingLogger"
