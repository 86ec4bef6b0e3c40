"""Every POST form of the app carries the CSRF token, and posting it without one is refused.

The pages come from the URLconf (the authorization matrix's routes), each opened as the first
role allowed to see it, with the demo clinic's records; every ``<form method="post">`` found is
checked, then posted (its fields, no token) by a client that enforces CSRF checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import pytest
from django.db import transaction
from django.test import Client

from tests.demo_snapshot import restore_demo
from tests.pages.conftest import verify_second_factor
from tests.security.world import World
from tests.shared_run import once_per_run

pytestmark = pytest.mark.django_db

TOKEN = "csrfmiddlewaretoken"
FIELDS = {"input", "select", "textarea", "button"}


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class Forms(HTMLParser):
    """The POST forms of a page: action and named fields (the token among them)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = (
                Form(a.get("action", "")) if a.get("method", "").lower() == "post" else None
            )
            if self._current is not None:
                self.forms.append(self._current)
        elif self._current is not None and a.get("name") and tag in FIELDS:
            self._current.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


@dataclass
class Found:
    role: str
    page: str
    form: Form


def _client(world: World, role: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    if role in world.users:
        client.force_login(world.users[role])
        if role == "clinic_admin":
            verify_second_factor(client, world.users[role])
    elif role == "link_holder":
        client.get(f"/r/{world.own.link_token}/")
    return client


@dataclass
class Walk:
    """The walk's findings (JSON-able, so xdist workers can share one walk)."""

    forms: list[Found]
    posted: int
    accepted: list[str]


def _walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Find every POST form, then post each (role, target) once without the token."""
    world = World(lambda day: restore_demo(tmp_path_factory, day))
    forms: list[Found] = []
    for role, page, answer in world.html_pages():
        parser = Forms()
        parser.feed(answer.content.decode())
        forms += [Found(role, page, f) for f in parser.forms]
    seen: set[tuple[str, str]] = set()
    accepted = []
    for f in forms:
        target = urljoin(f.page, f.form.action) if f.form.action else f.page
        if (f.role, target) in seen:
            continue
        seen.add((f.role, target))
        data = {k: v for k, v in f.form.fields.items() if k != TOKEN}
        answer = _client(world, f.role).post(target, data)
        if answer.status_code != 403 or b"CSRF" not in answer.content:
            accepted.append(f"{f.role} POST {target} (form on {f.page}) -> {answer.status_code}")
    return {"forms": [asdict(f) for f in forms], "posted": len(seen), "accepted": accepted}


@pytest.fixture(scope="module")
def found(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Walk:
    """One walk per test run (one xdist worker walks, inside a transaction rolled back after;
    the others read its findings: tests/shared_run.py)."""

    def run() -> dict[str, Any]:
        with django_db_blocker.unblock(), transaction.atomic():
            walked = _walk(tmp_path_factory)
            transaction.set_rollback(True)
        return walked

    walked = once_per_run(tmp_path_factory, "csrf-walk", run)
    forms = [
        Found(f["role"], f["page"], Form(f["form"]["action"], f["form"]["fields"]))
        for f in walked["forms"]
    ]
    return Walk(forms, walked["posted"], walked["accepted"])


def test_the_walk_finds_the_apps_post_forms(found: Walk) -> None:
    forms = found.forms
    pages = {f.page for f in forms}
    assert len(pages) >= 10, pages
    print(f"\nCSRF: {len(forms)} POST forms on {len(pages)} pages")


def test_every_post_form_carries_the_csrf_token(found: Walk) -> None:
    forms = found.forms
    missing = [
        f"{f.role} {f.page} -> {f.form.action or '(same page)'}"
        for f in forms
        if not f.form.fields.get(TOKEN)
    ]
    assert not missing, "POST forms without {% csrf_token %}:\n" + "\n".join(missing)


def test_posting_any_form_without_the_token_is_refused(found: Walk) -> None:
    assert found.posted
    assert not found.accepted, "accepted without a CSRF token:\n" + "\n".join(found.accepted)
