"""The clinic's personas (tests/pages/conftest.py) for the security tests."""

from tests.pages.conftest import *  # noqa: F403
