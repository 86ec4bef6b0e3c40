"""Fixtures for the records' tests: the clinic personas and a patient."""

from __future__ import annotations

from tests.pages.conftest import (  # noqa: F401  (fixtures re-exported for tests/records)
    alice,
    northside,
    other_patient,
    patient,
)
