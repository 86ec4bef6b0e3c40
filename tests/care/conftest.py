"""The clinic's personas (tests/clinic/conftest.py), for the care layer's service tests."""

from __future__ import annotations

from tests.clinic.conftest import (  # noqa: F401  (fixtures re-exported for tests/care)
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
