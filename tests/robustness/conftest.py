"""Personas for the bad-input tests: the clinic app's (alice, bob, carol, dana, ...)."""

from tests.pages.conftest import *  # noqa: F403
