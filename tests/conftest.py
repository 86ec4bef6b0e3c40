"""Settings for the whole test run.

Passwords are hashed with Django's MD5 hasher in tests, as Django's documentation advises for
test suites ("Speeding up the tests"): the app's Argon2 costs about a quarter of a CPU second a
hash, and every persona, demo user and sign-in pays it. The app's own list stays in
``acuknee.site.settings.PASSWORD_HASHERS``; ``test_passwords_are_stored_with_argon2`` checks
that list and hashes a password with it. Servers the tests start as subprocesses keep Argon2.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session", autouse=True)
def _background_commands(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Start the run's background commands (tests/shared_run.py) with its first test."""
    from tests.shared_run import start_wanted

    start_wanted(tmp_path_factory, request.session.items)


LONGEST_FIRST = (
    "tests/research/test_differencing.py",
    "tests/fhir/test_server.py",
    "tests/e2e/test_practitioner_day_more.py",
    "tests/e2e/test_scenarios.py",
    "tests/pages/test_sessions.py",
    "tests/security/test_authorization_matrix.py",
    "tests/research/test_sqlite_stages.py",
    "tests/robustness/test_form_text.py",
    "tests/reports/test_progress_report.py",
    "tests/api/test_contract.py",
    "tests/reports/test_stricta_report.py",
    "tests/pages/test_intake.py",
)
"""The files that take longest (measured per test with the whole suite, 2026-12-06), handed to
the workers first: each worker takes whole files (``--dist loadfile``), and a long file taken
last keeps one worker busy while the other has finished. Any other order is kept."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before pytest-django's own (stable) sort, so Django's order still holds: tests in a
    transaction first, then those that flush the database, then those without one."""
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    root = config.rootpath
    items.sort(key=lambda item: rank.get(str(item.path.relative_to(root)), len(rank)))
