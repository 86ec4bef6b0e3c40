"""The statistics of the clinic outcomes report: proportions, mean changes and event rates.

Pure functions over plain numbers (no Django), so the figures a clinic reads can be checked
against textbook values in isolation:

- a proportion with its Wilson score 95% interval (Wilson 1927; recommended for small samples by
  Newcombe 1998, Stat Med 17:857-872), from ``statsmodels``' ``proportion_confint``;
- a mean with its t-based 95% interval (Student's t with n - 1 degrees of freedom);
- an event rate per 1,000 sessions with the exact Poisson interval (Garwood 1936: chi-squared
  quantiles), from ``scipy``.

Small cells: a group with fewer than ``SMALL_CELL`` patients (or no events) still gets its
figure, but carries ``small=True`` so the report can say the interval is wide and the estimate
unstable; an empty group has no estimate at all (``None``), never a 0% that reads like a result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LEVEL = 0.95
SMALL_CELL = 5
"""Groups with fewer patients than this are flagged as small (wide, unstable intervals)."""


@dataclass(frozen=True)
class Proportion:
    """``count`` of ``total`` with its Wilson interval (all None when ``total`` is 0)."""

    count: int
    total: int
    estimate: float | None
    low: float | None
    high: float | None

    @property
    def small(self) -> bool:
        return self.total < SMALL_CELL

    def percent(self, digits: int = 0) -> str:
        """``"60% (23% to 88%)"``, or ``"no patients"`` for an empty group."""
        if self.estimate is None or self.low is None or self.high is None:
            return "no patients"
        return (
            f"{_pct(self.estimate, digits)} ({_pct(self.low, digits)} to {_pct(self.high, digits)})"
        )


@dataclass(frozen=True)
class Mean:
    """The mean of ``n`` values with its t-based interval (None when it cannot be computed)."""

    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None

    @property
    def small(self) -> bool:
        return self.n < SMALL_CELL


@dataclass(frozen=True)
class Rate:
    """``events`` over ``sessions``, per ``per`` sessions, with the exact Poisson interval."""

    events: int
    sessions: int
    per: int
    rate: float | None
    low: float | None
    high: float | None

    @property
    def small(self) -> bool:
        return self.events == 0 or self.sessions < SMALL_CELL


def _pct(value: float, digits: int) -> str:
    return f"{value * 100:.{digits}f}%"


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level}")


def wilson(count: int, total: int, level: float = LEVEL) -> Proportion:
    """``count`` of ``total`` with the Wilson score interval (no continuity correction).

    Wilson EB. J Am Stat Assoc 1927;22:209-212; Newcombe RG. Stat Med 1998;17:857-872 (method 3).
    """
    _check_level(level)
    if total < 0 or count < 0 or count > total:
        raise ValueError(f"need 0 <= count <= total, got count={count}, total={total}")
    if total == 0:
        return Proportion(count=0, total=0, estimate=None, low=None, high=None)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(count, total, alpha=1 - level, method="wilson")
    # The Wilson limits are exactly 0 at 0/n and exactly 1 at n/n; floating point gives
    # 1e-17 or 0.9999999999999999 there, which would print as "0%" but compare wrongly.
    return Proportion(
        count=count,
        total=total,
        estimate=count / total,
        low=0.0 if count == 0 else min(max(float(low), 0.0), 1.0),
        high=1.0 if count == total else min(max(float(high), 0.0), 1.0),
    )


def mean_interval(values: Sequence[float], level: float = LEVEL) -> Mean:
    """The mean with a t-based interval: mean +/- t(1 - a/2, n - 1) x sd / sqrt(n).

    One value has a mean but no interval (no spread to estimate); none has neither.
    """
    _check_level(level)
    n = len(values)
    if n == 0:
        return Mean(n=0, mean=None, sd=None, low=None, high=None)
    mean = math.fsum(values) / n
    if n == 1:
        return Mean(n=1, mean=mean, sd=None, low=None, high=None)
    from scipy.stats import t

    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(1 - (1 - level) / 2, n - 1)) * sd / math.sqrt(n)
    return Mean(n=n, mean=mean, sd=sd, low=mean - half, high=mean + half)


def poisson_rate(events: int, sessions: int, per: int = 1000, level: float = LEVEL) -> Rate:
    """Events per ``per`` sessions with the exact (Garwood) Poisson interval:
    lower = chi2(a/2, 2k) / 2, upper = chi2(1 - a/2, 2k + 2) / 2, scaled by ``per / sessions``.
    """
    _check_level(level)
    if events < 0 or sessions < 0:
        raise ValueError(f"events and sessions must be >= 0, got {events} and {sessions}")
    if per <= 0:
        raise ValueError(f"per must be positive, got {per}")
    if sessions == 0:
        return Rate(events=events, sessions=0, per=per, rate=None, low=None, high=None)
    from scipy.stats import chi2

    alpha = 1 - level
    low = 0.0 if events == 0 else float(chi2.ppf(alpha / 2, 2 * events)) / 2
    high = float(chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2
    scale = per / sessions
    return Rate(
        events=events,
        sessions=sessions,
        per=per,
        rate=events * scale,
        low=low * scale,
        high=high * scale,
    )
