"""Personas for the evidence page tests (alice practitioner, erin admin, rex researcher, ...)."""

from tests.pages.conftest import *  # noqa: F403
