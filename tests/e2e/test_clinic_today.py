"""The browser tests' today: fixed for the run, so a run that crosses midnight still finds the
records and dates the tests made from ``TODAY`` (three tests once failed that way)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.e2e.conftest import TODAY


def test_past_midnight_the_views_today_is_still_the_runs_today(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    next_midnight = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(0, 1))
    after = timezone.make_aware(next_midnight, timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: after)
    assert timezone.localtime().date() == TODAY + dt.timedelta(days=1)
    assert timezone.localdate() == TODAY
    # A date asked of a given time is still converted, not fixed.
    assert timezone.localdate(after) == TODAY + dt.timedelta(days=1)
