"""Effect sizes and the meta-analysis by hand on tiny examples, and bad input."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from acuknee.evidence import meta


def test_log_risk_ratio_by_hand() -> None:
    es = meta.log_risk_ratio(10, 20, 5, 25)
    assert es.yi == pytest.approx(math.log((10 / 20) / (5 / 25)))
    assert es.vi == pytest.approx(1 / 10 - 1 / 20 + 1 / 5 - 1 / 25)


def test_zero_cell_adds_one_half_to_that_studys_four_cells() -> None:
    es = meta.log_risk_ratio(0, 10, 4, 10)
    a, b, c, d = 0.5, 10.5, 4.5, 6.5
    assert es.yi == pytest.approx(math.log((a / (a + b)) / (c / (c + d))))
    assert es.vi == pytest.approx(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))


def test_no_correction_without_a_zero_cell() -> None:
    assert meta.log_risk_ratio(1, 10, 1, 10).yi == 0.0


def test_no_events_in_either_group_is_an_error() -> None:
    with pytest.raises(meta.MetaAnalysisError, match="undefined"):
        meta.log_risk_ratio(0, 10, 0, 12)


def test_smd_by_hand_with_exact_hedges_factor() -> None:
    es = meta.smd(12.0, 4.0, 10, 10.0, 4.0, 10)
    m = 18
    j = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    assert j == pytest.approx(1 - 3 / (4 * m - 1), abs=1e-3)  # the usual approximation
    g = j * 2.0 / 4.0
    assert es.yi == pytest.approx(g)
    assert es.vi == pytest.approx(1 / 10 + 1 / 10 + g**2 / (2 * 20))


def test_smd_rejects_non_positive_sd() -> None:
    with pytest.raises(meta.MetaAnalysisError, match="sd1, sd2"):
        meta.smd(1.0, 0.0, 10, 1.0, 1.0, 10)


def test_dersimonian_laird_by_hand_on_two_studies() -> None:
    y, v = [0.0, 1.0], [0.1, 0.1]
    res = meta.random_effects(y, v, method="DL")
    q = (0 - 0.5) ** 2 / 0.1 + (1 - 0.5) ** 2 / 0.1  # 5.0
    c = 20 - 200 / 20  # sum w - sum w^2 / sum w = 10
    assert res.q == pytest.approx(q)
    assert res.tau2 == pytest.approx((q - 1) / c)
    assert res.estimate == pytest.approx(0.5)
    assert res.se == pytest.approx(math.sqrt(1 / (2 / (0.1 + 0.4))))
    assert res.i2 == pytest.approx(100 * (q - 1) / q)  # equals Higgins' I^2 for DL
    assert res.q_p == pytest.approx(stats.chi2.sf(q, 1))


def test_homogeneous_studies_give_tau2_zero_for_every_method() -> None:
    for method in meta.METHODS:
        res = meta.random_effects([0.2, 0.2, 0.2], [0.1, 0.2, 0.3], method=method)
        assert res.tau2 == 0.0
        assert res.i2 == 0.0


def test_knapp_hartung_interval_uses_t_with_k_minus_1_df() -> None:
    y, v = [0.1, 0.5, 0.3, 0.9], [0.04, 0.05, 0.03, 0.06]
    res = meta.random_effects(y, v, method="REML", knha=True)
    crit = stats.t.isf(0.025, 3)
    assert res.ci[1] - res.estimate == pytest.approx(crit * res.se)
    assert res.pi[1] - res.estimate == pytest.approx(crit * math.sqrt(res.se**2 + res.tau2))


def test_prediction_interval_without_knapp_hartung_uses_z() -> None:
    y, v = [0.1, 0.5, 0.3, 0.9], [0.04, 0.05, 0.03, 0.06]
    res = meta.random_effects(y, v, method="PM")
    assert res.pi[1] - res.estimate == pytest.approx(
        stats.norm.isf(0.025) * math.sqrt(res.se**2 + res.tau2)
    )


def test_one_study_is_not_a_meta_analysis() -> None:
    with pytest.raises(meta.MetaAnalysisError, match="at least two studies"):
        meta.random_effects([0.3], [0.1])


def test_unknown_method_is_named_in_the_error() -> None:
    with pytest.raises(meta.MetaAnalysisError, match="method"):
        meta.random_effects([0.3, 0.1], [0.1, 0.1], method="HS")  # type: ignore[arg-type]


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(meta.MetaAnalysisError, match="2 effects but 3 variances"):
        meta.random_effects([0.3, 0.1], [0.1, 0.1, 0.2])
