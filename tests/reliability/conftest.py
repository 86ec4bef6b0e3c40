"""Personas for the reliability tests: the clinic app's (alice, carol, erin, ...)."""

from tests.pages.conftest import *  # noqa: F403
