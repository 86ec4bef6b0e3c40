"""The clinic's personas (tests/clinic/conftest.py) for the security tests."""

from tests.clinic.conftest import *  # noqa: F403
