"""Settings for the whole test run.

Passwords are hashed with Django's MD5 hasher in tests, as Django's documentation advises for
test suites ("Speeding up the tests"): the app's Argon2 costs about a quarter of a CPU second a
hash, and every persona, demo user and sign-in pays it. The app's own list stays in
``acuknee.site.settings.PASSWORD_HASHERS``; ``test_passwords_are_stored_with_argon2`` checks
that list and hashes a password with it. Servers the tests start as subprocesses keep Argon2.

The live server (pytest-django's ``live_server``: browser, CSP and FHIR client tests) answers
one request at a time. On SQLite its threads share the test database's one in-memory
connection, and a page whose charts the browser fetches while the next page is asked for (the
outcomes section links a chart not drawn yet) had two requests interleave their savepoints on
it ("no such savepoint"). Production serves with gunicorn, each worker its own connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    if not settings.configured:
        return
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()

    from django.test.testcases import LiveServerThread

    LiveServerThread.server_class = _one_request_at_a_time()


class _Quiet:
    """When the live server last finished a request, and a lock it holds while handling one."""

    handling = threading.Lock()
    finished = 0.0


def _one_request_at_a_time() -> type:
    """Django's development server without its threads (see the module's docstring); it closes
    each connection after its answer, so a browser's parallel requests wait their turn."""
    from django.core.servers.basehttp import WSGIServer

    class OneRequestAtATime(WSGIServer):  # type: ignore[misc]  (django-stubs not installed)
        def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)  # the server's own thread has the connections

        def process_request(self, request: Any, client_address: Any) -> None:
            with _Quiet.handling:
                try:
                    super().process_request(request, client_address)
                finally:
                    _Quiet.finished = time.monotonic()

    return OneRequestAtATime


def wait_until_the_live_server_is_quiet(quiet_s: float = 0.25, timeout_s: float = 30.0) -> None:
    """Return once the live server has handled no request for ``quiet_s``: the requests a
    browser sent before its context closed (charts a page linked) are answered on the test's
    database, not on the next test's or after it was emptied."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        start = time.monotonic()
        time.sleep(quiet_s)
        with _Quiet.handling:
            if _Quiet.finished < start:
                return


@pytest.fixture(autouse=True)
def _live_server_quiet_before_the_database_is_emptied(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """For a test with the live server: its database (set up before this fixture, so torn down
    after it) is emptied only once the server has answered every request it received."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    wait_until_the_live_server_is_quiet()


@pytest.fixture(scope="session", autouse=True)
def _background_commands(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Start the run's background commands (tests/shared_run.py) with its first test."""
    from tests.shared_run import start_wanted

    start_wanted(tmp_path_factory, request.session.items)
