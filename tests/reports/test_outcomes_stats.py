"""The clinic report's statistics against closed forms and published values.

Expected values come from outside the code under test: the Wilson closed form written out here,
a published worked example (13 of 16: Fagerland, Lydersen & Laake, Statistical Analysis of
Contingency Tables, 2017, as checked in the ``contingencytables`` R package's tests), and R 4's
``prop.test(correct = FALSE)``, ``t.test`` and ``poisson.test`` run once by hand.
"""

from __future__ import annotations

import math

import pytest

from acuknee.reports.outcomes_stats import (
    SMALL_CELL,
    mean_interval,
    poisson_rate,
    wilson,
)

Z = 1.959963984540054  # the 97.5th percentile of the standard normal


def _wilson_closed_form(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 10), (10, 10), (3, 5), (1, 29)])
def test_wilson_matches_the_closed_form(k: int, n: int) -> None:
    low, high = _wilson_closed_form(k, n)
    result = wilson(k, n)
    assert result.low == pytest.approx(max(low, 0.0), abs=1e-9)
    assert result.high == pytest.approx(min(high, 1.0), abs=1e-9)
    assert result.estimate == pytest.approx(k / n)


def test_wilson_reproduces_the_published_13_of_16_example() -> None:
    result = wilson(13, 16)
    assert (round(result.low or 0, 4), round(result.high or 0, 4)) == (0.5699, 0.9341)


def test_wilson_for_none_of_ten_starts_at_zero_and_is_not_degenerate() -> None:
    result = wilson(0, 10)
    assert result.low == 0.0
    assert result.high == pytest.approx(0.2775, abs=1e-4)


def test_wilson_for_all_of_ten_ends_at_one() -> None:
    result = wilson(10, 10)
    assert result.high == 1.0
    assert result.low == pytest.approx(0.7225, abs=1e-4)


def test_three_responders_of_five_read_as_percent_with_interval() -> None:
    # R: prop.test(3, 5, correct = FALSE)$conf.int = 0.2307243 0.8823792
    assert wilson(3, 5).percent() == "60% (23% to 88%)"


def test_an_empty_group_has_no_estimate() -> None:
    result = wilson(0, 0)
    assert (result.estimate, result.low, result.high) == (None, None, None)
    assert result.percent() == "no patients"


def test_groups_below_the_small_cell_size_are_flagged() -> None:
    assert wilson(1, SMALL_CELL - 1).small
    assert not wilson(1, SMALL_CELL).small


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_refuses_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="count"):
        wilson(k, n)


def test_mean_interval_matches_r_t_test() -> None:
    # R: t.test(c(-2, -1, 0, 1, 5))$conf.int = -2.754791385 3.954791385
    result = mean_interval([-2, -1, 0, 1, 5])
    assert result.mean == pytest.approx(0.6)
    assert result.low == pytest.approx(-2.754791385, abs=1e-8)
    assert result.high == pytest.approx(3.954791385, abs=1e-8)


def test_one_value_has_a_mean_but_no_interval() -> None:
    result = mean_interval([4.0])
    assert result.mean == 4.0
    assert (result.low, result.high, result.sd) == (None, None, None)


def test_no_values_have_no_mean() -> None:
    assert mean_interval([]).mean is None


def test_poisson_rate_matches_r_poisson_test() -> None:
    # R: poisson.test(3, 40)$conf.int = 0.01546680307 0.21918182674 (per session)
    result = poisson_rate(3, 40)
    assert result.rate == pytest.approx(75.0)
    assert result.low == pytest.approx(15.46680307, abs=1e-6)
    assert result.high == pytest.approx(219.18182674, abs=1e-6)


def test_no_events_give_a_zero_rate_with_an_upper_limit() -> None:
    # R: poisson.test(0, 250)$conf.int = 0 0.01475551782 (per session)
    result = poisson_rate(0, 250)
    assert (result.rate, result.low) == (0.0, 0.0)
    assert result.high == pytest.approx(14.75551782, abs=1e-6)
    assert result.small


def test_no_sessions_give_no_rate() -> None:
    assert poisson_rate(0, 0).rate is None


def test_rates_refuse_negative_counts() -> None:
    with pytest.raises(ValueError, match="events"):
        poisson_rate(-1, 10)


def test_level_outside_zero_and_one_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        wilson(1, 2, level=1.5)
