"""Shared fixtures for the research tests: the clinic personas and one 50k synthetic cohort."""

from __future__ import annotations

from typing import Any

import pytest

from acuknee.research.synth import Cohort, synthesize
from tests.pages.conftest import *  # noqa: F403

RATES_PATIENTS = 50_000
RATES_SEED = 20261125


@pytest.fixture(scope="session")
def cohort_50k() -> Cohort:
    """Generated once per session: the rate and consistency tests all read it."""
    return synthesize(RATES_PATIENTS, 40, RATES_SEED)


@pytest.fixture(autouse=True)
def _duckdb_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB on one thread: each test worker already has a core, and these tables of a few
    hundred courses spend DuckDB's time planning, not scanning (the research tests took 15%
    less time this way; the numbers they compare do not depend on the threads)."""
    from acuknee.research import analytics

    made = analytics._connect

    def one_thread() -> Any:
        connection = made()
        connection.execute("SET threads = 1")
        return connection

    monkeypatch.setattr(analytics, "_connect", one_thread)
