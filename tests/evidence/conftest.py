"""Personas for the evidence page tests (alice practitioner, erin admin, rex researcher, ...)."""

from tests.clinic.conftest import *  # noqa: F403
