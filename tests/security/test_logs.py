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


def test_production_logs_an_error_as_one_json_line_with_its_traceback() -> None:
    """Issue 13, case 8: in production a 500 logged no traceback anywhere."""
    import io
    import json

    from acuknee.site.logs import OneLine, Redact, production_logging

    config = production_logging()
    assert config["handlers"]["stderr"]["formatter"] == "line"
    assert config["handlers"]["stderr"]["filters"] == ["redact"]
    assert config["loggers"]["django.request"]["handlers"] == ["stderr"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLine())
    handler.addFilter(Redact())
    logger = logging.getLogger("acuknee.tests.production")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise OverflowError("date value out of range")
        except OverflowError:
            logger.error("Internal Server Error: %s", f"/r/{TOKEN}/", exc_info=True)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["level"] == "ERROR"
    assert "OverflowError: date value out of range" in event["traceback"]
    assert TOKEN not in lines[0]
    assert "/r/[token]/" in event["message"]


def test_production_settings_install_the_json_logging() -> None:
    import subprocess
    import sys

    code = (
        "import os; os.environ.update(ACUKNEE_PRODUCTION='1', ACUKNEE_SECRET_KEY='x'*60, "
        "ACUKNEE_ALLOWED_HOSTS='clinic.example'); "
        "import acuknee.site.settings as s; print(s.LOGGING['formatters']['line']['()'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "acuknee.site.logs.OneLine"
