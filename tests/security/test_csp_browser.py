"""Chromium loads every HTML page of the app under the real CSP and reports no violation.

The pages come from the authorization matrix's routes (so new pages are included), opened as
the first role allowed to see them, with the demo clinic's records. A violation is caught both
from the console and from the ``securitypolicyviolation`` event. The clinic admin signs in
through the real two-factor enrolment (QR page, secret, code).
"""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.e2e.conftest import browser, demo, sign_in  # noqa: F401  (fixtures)
from tests.security.world import World

pytestmark = pytest.mark.e2e

LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` at ${e.sourceFile || ''}:${e.lineNumber || ''}`);
});
"""


def _pages(world: World) -> list[tuple[str, str]]:
    """(role, path) of every HTML page a role may open, found with the test client first."""
    pages: list[tuple[str, str]] = [("anonymous", "/api/v1/docs")]
    return pages + [(role, path) for role, path, _ in world.html_pages()]


SETTLE_MS = 50
"""After the load event, time for a violation's event (queued as a task) to be dispatched."""


def _load(page: Any, url: str, errors: list[str]) -> list[str]:
    """The CSP violations seen while ``url`` loads: every subresource the document names has
    been fetched (or blocked) by the load event; the app starts no fetch after it (its scripts
    only change what is already on the page), so waiting for the network to stay idle for
    half a second per page would check nothing more."""
    errors.clear()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(SETTLE_MS)
    seen: list[str] = page.evaluate("() => window.__cspViolations || []")
    return [*seen, *errors]


def _enrol(page: Any, base: str) -> None:
    """Finish the clinic admin's first sign-in: read the secret, answer with a TOTP code."""
    from django_otp.oath import totp

    secret = page.locator("code.secret").inner_text().strip()
    code = totp(base64.b32decode(secret))
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{code:06d}")
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_url(lambda url: "two-factor" not in url)


@pytest.mark.skipif(
    bool(os.environ.get("ACUKNEE_DATABASE_URL")),
    reason="page markup and headers do not depend on the database: walked in the SQLite pass",
)
def test_every_page_loads_without_a_csp_violation(
    browser: Any,  # noqa: F811  (the e2e fixture, imported above)
    demo: Any,  # noqa: F811
    live_server: Any,
) -> None:
    world = World()
    base = live_server.url
    pages = _pages(world)
    assert len(pages) > 10, pages
    # The test client verified the admin with a device; the browser enrols one for real.
    TOTPDevice.objects.filter(user=world.users["clinic_admin"]).delete()
    contexts: dict[str, Any] = {}
    violations: list[str] = []
    try:
        for role, path in pages:
            if role not in contexts:
                context = browser.new_context()
                context.add_init_script(LISTEN)
                page = context.new_page()
                username = {
                    "practitioner": "practitioner",
                    "front_desk": "frontdesk",
                    "clinic_admin": "clinicadmin",
                    "researcher": "researcher",
                }.get(role)
                if username:
                    sign_in(page, base, username)
                    if role == "clinic_admin":
                        _enrol(page, base)
                errors: list[str] = []
                page.on(
                    "console",
                    lambda msg, errors=errors: (
                        errors.append(msg.text)
                        if msg.type == "error" and "Content Security Policy" in msg.text
                        else None
                    ),
                )
                contexts[role] = (context, page, errors)
            _, page, errors = contexts[role]
            violations += [f"{role} {path}: {v}" for v in _load(page, base + path, errors)]
    finally:
        for context, _, _ in contexts.values():
            context.close()
    print(f"\nCSP: {len(pages)} pages loaded in Chromium")
    assert not violations, "\n".join(violations)


def test_the_check_reports_a_blocked_inline_script_and_style(browser: Any) -> None:  # noqa: F811
    """The walk above can fail: a page under the app's policy with an inline script and style."""
    from django.conf import settings

    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    policy = "; ".join(
        f"{directive.replace('_', '-').lower()} {' '.join(values)}"
        for directive, values in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()
    )
    context.route(
        "http://planted.invalid/",
        lambda route: route.fulfill(
            body="<!doctype html><title>t</title><style>p{color:red}</style>"
            "<script>document.title='x'</script><p>t</p>",
            content_type="text/html",
            headers={"Content-Security-Policy": policy},
        ),
    )
    try:
        found = _load(page, "http://planted.invalid/", [])
    finally:
        context.close()
    assert any("script-src" in v for v in found), found
    assert any("style-src" in v for v in found), found
