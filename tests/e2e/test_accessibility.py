"""Every main page passes axe-core with no serious or critical violation.

The same tour writes the README's screenshots when ``ACUKNEE_SCREENSHOTS`` names a folder (see
``tests/e2e/screenshots.py``); a normal test run writes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.demo import DEMO_CASES
from acuknee.forms.measurements import SELF_REPORT_INSTRUMENTS
from acuknee.records.models import Patient, PlanRecord, SelfReportLink
from tests.e2e.conftest import DESKTOP, PHONE, axe_violations, describe, sign_in

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect

SCREENSHOT_HEIGHT = 1100
"""Long pages are cut here: the top of a page shows what it is, and the files stay small."""


def demo_patient(stage: str, note: str = "") -> Patient:
    """The demo patient built from the first case of ``stage`` (whose note contains ``note``)."""
    number = next(
        i for i, case in enumerate(DEMO_CASES, start=1) if case.stage == stage and note in case.note
    )
    return Patient.objects.get(clinic__slug="demo", record_number=f"DEMO-{number:04d}")


@dataclass(frozen=True)
class Stop:
    """One page of the tour: its name (and screenshot file), URL, and what shows it is ready."""

    name: str
    path: str
    ready: str = "main h1"
    phone: bool = False
    user: str | None = "practitioner"


def tour() -> list[Stop]:
    responder = demo_patient("completed_responder")
    pregnant = demo_patient("in_course", "pregnant")
    referral = demo_patient("referral")
    fresh = demo_patient("intake")
    plan = PlanRecord.objects.filter(patient=pregnant, status="signed").get()
    draft = PlanRecord.objects.filter(patient=demo_patient("draft"), status="draft").get()
    referral_intake = referral.intakes.get()
    user = User.objects.get(username="frontdesk")
    _, token = SelfReportLink.issue(
        responder, user, list(SELF_REPORT_INSTRUMENTS), dt.timedelta(days=7)
    )
    p = "/patients"
    return [
        Stop("login", "/login/", user=None),
        Stop("worklist", reverse("worklist")),
        Stop("patient-list", "/", "main table"),
        Stop("patient-page", f"{p}/{responder.pk}/", "#outcomes img.trend-large"),
        Stop("intake-form", f"{p}/{fresh.pk}/intake/new/"),
        Stop("intake-form-safety", f"{p}/{fresh.pk}/intake/new/?step=safety"),
        Stop("intake-form-examination", f"{p}/{fresh.pk}/intake/new/?step=examination"),
        Stop("intake-form-baseline", f"{p}/{fresh.pk}/intake/new/?step=baseline"),
        Stop("intake-form-all", f"{p}/{fresh.pk}/intake/new/?step=all"),
        Stop("screening-referral", f"{p}/{referral.pk}/intakes/{referral_intake.pk}/"),
        Stop("plan-page", f"{p}/{pregnant.pk}/plans/{plan.pk}/"),
        Stop("plan-edit", f"{p}/{draft.patient_id}/plans/{draft.pk}/edit/"),
        Stop("session-form", f"{p}/{pregnant.pk}/sessions/new/"),
        Stop("outcomes", f"{p}/{responder.pk}/outcomes/", "table.verdicts"),
        Stop("reassessment-form", f"{p}/{responder.pk}/measurements/new/"),
        Stop("self-report-link", f"{p}/{responder.pk}/self-report/"),
        Stop("self-report-phone", f"/r/{token}/", phone=True, user=None),
        Stop("point-reference", reverse("reference")),
        Stop("point-reference-st36", reverse("reference-point", args=["ST36"])),
        Stop("research", "/research/", user="researcher"),
    ]


def visit_each(
    browser: Any, base: str, stops: list[Stop], check: Callable[[Stop, Any], None]
) -> None:
    """Open each stop in its user's (or an anonymous) context and run ``check`` on it."""
    contexts: dict[tuple[str | None, bool], Any] = {}
    try:
        for stop in stops:
            key = (stop.user, stop.phone)
            if key not in contexts:
                viewport = PHONE if stop.phone else DESKTOP
                contexts[key] = browser.new_context(viewport=viewport, is_mobile=stop.phone)
                if stop.user:
                    sign_in(contexts[key].new_page(), base, stop.user)
            page = contexts[key].pages[0] if contexts[key].pages else contexts[key].new_page()
            response = page.goto(base + stop.path)
            assert response is not None
            assert response.ok, f"{stop.name}: HTTP {response.status}"
            expect(page.locator(stop.ready).first).to_be_visible()
            check(stop, page)
    finally:
        for context in contexts.values():
            context.close()


def screenshot(folder: Path, stop: Stop, page: Any) -> None:
    width = PHONE["width"] if stop.phone else DESKTOP["width"]
    height = page.evaluate("() => document.documentElement.scrollHeight")
    limit = PHONE["height"] if stop.phone else SCREENSHOT_HEIGHT
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, limit)}
    page.screenshot(path=str(folder / f"{stop.name}.png"), full_page=True, clip=clip)


@pytest.mark.skipif(
    bool(os.environ.get("ACUKNEE_DATABASE_URL")),
    reason="page markup and headers do not depend on the database: walked in the SQLite pass",
)
def test_every_main_page_has_no_serious_or_critical_accessibility_violation(
    browser: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    folder = os.environ.get("ACUKNEE_SCREENSHOTS")
    failures: list[str] = []

    def check(stop: Stop, page: Any) -> None:
        if folder:
            screenshot(Path(folder), stop, page)
        violations = axe_violations(page, axe_script)
        if violations:
            failures.append(f"{stop.name} ({stop.path}):\n{describe(violations)}")

    stops = tour()
    visit_each(browser, live_server.url, stops, check)
    assert not failures, "\n\n".join(failures)


def test_the_check_reports_a_serious_violation_when_there_is_one(
    browser: Any, axe_script: Path
) -> None:
    """The check above can fail: an unlabelled input and grey-on-white text are caught."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        '<!doctype html><html lang="en"><title>t</title><main><h1>t</h1>'
        '<form><input name="q"></form><p><font color="#cccccc">faint</font></p></main></html>'
    )
    found = {v["id"] for v in axe_violations(page, axe_script)}
    context.close()
    assert {"label", "color-contrast"} <= found
