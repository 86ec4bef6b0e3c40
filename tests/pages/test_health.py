"""``/healthz/``: public, "ok", and no database (the served benchmark's floor relies on it)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def test_healthz_answers_ok_to_an_anonymous_client_without_touching_the_database() -> None:
    # No ``db`` fixture: pytest-django fails the test if the view opens the database.
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_healthz_is_never_cached() -> None:
    response = Client().get(reverse("healthz"))
    assert "no-cache" in response["Cache-Control"]


def test_healthz_sets_no_session_cookie() -> None:
    response = Client().get(reverse("healthz"))
    assert not response.cookies


def test_healthz_refuses_a_post() -> None:
    response = Client(enforce_csrf_checks=False).post(reverse("healthz"))
    assert response.status_code == 405


def test_healthz_lives_at_a_fixed_path() -> None:
    assert reverse("healthz") == "/healthz/"
