"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

The browser is /usr/bin/chromium (installed by `make e2e-setup`); Playwright never downloads one.
Without it, or without the ``playwright`` package, every test here skips with the reason; without
axe-core in ``tests/e2e/node_modules`` only the accessibility tests skip.
"""

from __future__ import annotations

import atexit
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

# Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a
# thread with a running loop unless told that this is safe (it is: the tests are synchronous).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

TODAY = timezone.localdate()
"""The clinic's today (settings' time zone), as the views date their forms: fixed for the whole
run by ``clinic_today`` below."""
_LOCALDATE = timezone.localdate

NO_CHROMIUM = (
    "browser tests skipped: /usr/bin/chromium is missing; run `make e2e-setup` as root "
    "(it installs Debian's chromium package) or `apt-get install chromium`"
)
NO_AXE = (
    "accessibility tests skipped: axe-core is not installed in tests/e2e/node_modules; "
    "run `make e2e-setup` (npm ci from tests/e2e/package-lock.json)"
)


_CHROMIUM: list[Any] = []
"""The one Chromium of this test process, shared by every module that uses ``browser``: a module
that imports the fixture defines a second one, and Playwright's sync API refuses a second
``sync_playwright()`` in a process whose first one is still running."""


def _chromium(sync_api: Any) -> Any:
    if not _CHROMIUM:
        playwright = sync_api.sync_playwright().start()
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        _CHROMIUM.append(chromium)

        def stop() -> None:
            chromium.close()
            playwright.stop()

        atexit.register(stop)
    return _CHROMIUM[0]


@pytest.fixture(scope="session")
def browser() -> Any:
    """One Chromium per test process, with a fresh temporary profile (Playwright's ``launch``
    makes a new empty user-data-dir and removes it on close)."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="browser tests skipped: the playwright package is missing"
    )
    # Assertions wait up to 10 s (Playwright's default is 5 s), for a loaded CI machine.
    sync_api.expect.set_options(timeout=10_000)
    return _chromium(sync_api)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop-sized page in its own context (no cookies shared between tests)."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized page (390x844, touch), as a patient filling a self-report link has."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _frozen_localdate(value: Any = None, timezone: Any = None) -> Any:
    return TODAY if value is None else _LOCALDATE(value, timezone)


@pytest.fixture(autouse=True)
def clinic_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The views' today stays the run's ``TODAY``: the tests date their records and expectations
    from it, and a run that crosses midnight would otherwise see the server's today move on
    (the live server is a thread of this process, so the patch reaches its views)."""
    monkeypatch.setattr(timezone, "localdate", _frozen_localdate)


@pytest.fixture
def demo(transactional_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo clinics, users and patients, dated from today (built once per run and copied
    in: tests/demo_snapshot.py)."""
    from tests.demo_snapshot import restore_demo

    return restore_demo(tmp_path_factory, TODAY)


@pytest.fixture
def axe_script() -> Path:
    if not AXE.exists():
        pytest.skip(NO_AXE)
    return AXE


def sign_in(page: Any, base_url: str, username: str, password: str | None = None) -> None:
    """Sign in through the real login form, with a demo user's password by default."""
    from playwright.sync_api import expect

    from acuknee.demo import password_for

    # The live server's first answer imports the views; on a busy machine that can pass the
    # 10 s default, which is for the page's own work, not the server's start.
    page.goto(f"{base_url}/login/", timeout=60_000)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or password_for(username))
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def axe_violations(page: Any, script: Path) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on the page as it is now."""
    # Evaluated through the DevTools protocol: the CSP (script-src 'self', no inline) blocks the
    # inline <script> that add_script_tag would insert.
    page.evaluate(script.read_text(encoding="utf-8"))
    # resultTypes: axe-core details only the violations (passes and the rest name one node
    # each), the same verdict, sooner (about a fifth off this module's browser time).
    result = page.evaluate("async () => await axe.run({resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in {"serious", "critical"}]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [", ".join(n["target"]) for n in v["nodes"][:5]]
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) at {targets}")
    return "\n".join(lines)
