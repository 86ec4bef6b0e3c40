"""Fixtures for the care layer's tests: the clinic personas and a knee OA course."""

from __future__ import annotations

from tests.pages.conftest import (  # noqa: F401  (fixtures re-exported for tests/care)
    alice,
    bob,
    carol,
    dana,
    erin,
    northside,
    patient,
    rex,
    southside,
)
