"""Shared fixtures for the research tests: the clinic personas and one 50k synthetic cohort."""

from __future__ import annotations

import pytest

from acuknee.research.synth import Cohort, synthesize
from tests.pages.conftest import *  # noqa: F403

RATES_PATIENTS = 50_000
RATES_SEED = 20261125


@pytest.fixture(scope="session")
def cohort_50k() -> Cohort:
    """Generated once per session: the rate and consistency tests all read it."""
    return synthesize(RATES_PATIENTS, 40, RATES_SEED)
