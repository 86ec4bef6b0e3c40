"""Response headers: a strict Content-Security-Policy, frame denial, referrer policy, nosniff;
and no template carries what that policy would block (inline script, style or handlers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.pages.conftest import login

SRC = Path(__file__).resolve().parents[2] / "src" / "acuknee"

INLINE = [
    (
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
        "an inline <script>",
    ),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on*= event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def _directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(alice: User) -> None:
    response = login(alice).get(reverse("patient-list"))
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_pages_deny_framing_and_sniffing_and_limit_the_referrer() -> None:
    response = Client().get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_the_api_docs_page_runs_no_inline_script() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    for pattern, what in INLINE:
        assert not pattern.search(html), f"the API docs page has {what}"
    assert "swagger-ui-init.js" in html, "ninja's init script is a static file"


def test_no_template_has_inline_script_style_or_handlers() -> None:
    found = []
    for template in sorted([*SRC.rglob("templates/**/*.html"), *SRC.rglob("jinja2/**/*.html")]):
        text = template.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(SRC)}:{line}: {what}")
    assert not found, "the CSP blocks these; move them to static CSS/JS:\n" + "\n".join(found)
