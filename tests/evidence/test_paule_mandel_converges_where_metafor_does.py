"""Paule-Mandel converges wherever R's metafor converges, and matches metafor's published result.

metafor solves Q(tau^2) = k - 1 with a bracketing root-finder (``uniroot``) after setting
tau^2 = 0 when Q(0) is below k - 1; statsmodels' fixed-point iteration, used before, stopped
short on small data sets whose root lies at rounding noise above 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from acuknee.evidence import meta

# DerSimonian & Kacker 2007, CLASP example (log odds ratios), as in metafor's own test
# tests/testthat/test_analysis_example_dersimonian2007.r (wviechtb/metafor), which checks
# rma(yi, vi, method="PM") against the paper's Tables 3 and 4: tau 0.3681, mu -0.3811,
# se 0.2060 (rounded to 4 decimals).
CLASP_N1 = (156, 303, 565, 1570, 103, 4659)
CLASP_N2 = (74, 303, 477, 1565, 105, 4650)
CLASP_A = (5, 5, 12, 69, 9, 313)
CLASP_C = (8, 17, 9, 94, 11, 352)


def _clasp() -> tuple[list[float], list[float]]:
    """metafor escalc(measure="OR"): log odds ratio and its variance (no zero cells here)."""
    yi, vi = [], []
    for n1, n2, a, c in zip(CLASP_N1, CLASP_N2, CLASP_A, CLASP_C, strict=True):
        b, d = n1 - a, n2 - c
        yi.append(math.log(a * d / (b * c)))
        vi.append(1 / a + 1 / b + 1 / c + 1 / d)
    return yi, vi


def test_paule_mandel_matches_metafor_on_the_clasp_example() -> None:
    yi, vi = _clasp()
    result = meta.random_effects(yi, vi, method="PM")
    assert round(math.sqrt(result.tau2), 4) == 0.3681
    assert round(result.estimate, 4) == -0.3811
    assert round(result.se, 4) == 0.2060


# Two small trials whose Cochran's Q exceeds k - 1 = 1 by about 0.001: the estimating equation
# reaches its root at tau^2 of about 1.7e-4. The previous statsmodels-based estimator raised
# "Paule-Mandel did not converge" here.
NEAR_ZERO_Y = (0.097, -0.445)
NEAR_ZERO_V = (0.2383072881704895, 0.05512359318766693)


def test_paule_mandel_converges_on_two_trials_with_heterogeneity_near_zero() -> None:
    tau2 = meta.tau_squared(NEAR_ZERO_Y, NEAR_ZERO_V, "PM")
    # With two trials Q(tau^2) = (y1 - y2)^2 / (v1 + v2 + 2 tau^2), so the root is closed-form.
    (y1, y2), (v1, v2) = NEAR_ZERO_Y, NEAR_ZERO_V
    exact = ((y1 - y2) ** 2 - v1 - v2) / 2
    assert exact > 0
    assert tau2 == pytest.approx(exact, abs=1e-12)


def test_paule_mandel_solves_its_equation_when_q_exceeds_k_minus_1_by_rounding_noise() -> None:
    # Three equal variances scaled so that Q(0) = 2 (1 + 1e-7): the root is about 4e-9.
    y = np.array([0.1, 0.3, 0.5])
    v = np.full(3, 0.04 * (1 - 1e-7))
    tau2 = meta.tau_squared(y, v, "PM")
    assert tau2 > 0
    assert meta.generalised_q(y, v, tau2) == pytest.approx(2.0, abs=1e-10)


def test_paule_mandel_is_zero_when_q_at_zero_is_not_above_k_minus_1() -> None:
    # Equal variances 0.04 and spread giving Q(0) = 2 exactly (metafor: tau2.min).
    assert meta.tau_squared([0.1, 0.3, 0.5], [0.04, 0.04, 0.04], "PM") == pytest.approx(0.0)
    assert meta.tau_squared([0.1, 0.11, 0.12], [0.04, 0.04, 0.04], "PM") == 0.0


def test_paule_mandel_converges_on_many_small_near_homogeneous_data_sets() -> None:
    """Data sets of 2-4 trials scaled so Q(0) is k - 1 plus a tiny excess, values rounded as a
    paper would print them: every one is solved (Q(tau^2) = k - 1, or tau^2 = 0)."""
    rng = np.random.default_rng(20260101)
    for _ in range(500):
        k = int(rng.integers(2, 5))
        v = rng.uniform(0.01, 0.5, k)
        y = rng.normal(0, np.sqrt(v))
        w = 1 / v
        mu = float(np.sum(w * y) / np.sum(w))
        q0 = float(np.sum(w * (y - mu) ** 2))
        excess = float(rng.choice([1e-15, 1e-12, 1e-9, 1e-6, 1e-3]))
        y = np.round(mu + (y - mu) * math.sqrt((k - 1) / q0 * (1 + excess)), 4)
        tau2 = meta.tau_squared(y, v, "PM")
        if tau2 == 0.0:
            assert meta.generalised_q(y, v, 0.0) <= k - 1
        else:
            assert meta.generalised_q(y, v, tau2) == pytest.approx(k - 1, abs=1e-9)
