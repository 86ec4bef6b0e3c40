"""The common-effect (fixed-effect) model: metafor's "EE", shown beside the random-effects ones."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.urls import reverse

from acuknee.clinical.numbers import format_number
from acuknee.evidence import meta
from acuknee.evidence.synthesis import pooled_analyses
from tests.evidence.test_meta_vs_metafor import BCG
from tests.pages.conftest import login


def test_common_effect_matches_metafor_ee_on_bcg_log_risk_ratios() -> None:
    """metafor's test_misc_metan_vs_rma.uni_with_dat.bcg.r: rma(yi, vi, method="EE") on dat.bcg
    (log RR) gives -0.4303 (95 % CI -0.5097 to -0.3509), z -10.6247, as Stata's metan does."""
    effects = [meta.log_risk_ratio(a, a + b, c, c + d) for a, b, c, d in BCG]
    result = meta.common_effect([e.yi for e in effects], [e.vi for e in effects])
    assert round(result.estimate, 4) == -0.4303
    assert round(result.ci[0], 4) == -0.5097
    assert round(result.ci[1], 4) == -0.3509
    assert round(result.zval, 4) == -10.6247
    assert result.tau2 == 0.0


def test_common_effect_is_the_inverse_variance_weighted_mean() -> None:
    # By hand: w = 100 and 25; mean (100 * 0.1 + 25 * 0.3) / 125 = 0.14; SE 1 / sqrt(125).
    result = meta.common_effect([0.1, 0.3], [0.01, 0.04])
    assert result.estimate == pytest.approx(0.14, abs=1e-12)
    assert result.se == pytest.approx(1 / math.sqrt(125), abs=1e-12)
    z = 1.959963984540054
    assert result.ci == pytest.approx((0.14 - z / math.sqrt(125), 0.14 + z / math.sqrt(125)))
    # Q = 100 (0.1 - 0.14)^2 + 25 (0.3 - 0.14)^2 = 0.16 + 0.64 = 0.8
    assert result.q == pytest.approx(0.8, abs=1e-12)
    assert result.method == "EE"


def test_common_effect_needs_two_studies() -> None:
    with pytest.raises(meta.MetaAnalysisError, match="at least two studies"):
        meta.common_effect([0.1], [0.01])


def test_evidence_page_shows_the_common_effect_beside_the_random_effects(alice: Any) -> None:
    html = login(alice).get(reverse("evidence"), {"method": "PM"}).content.decode()
    assert "Common effect (fixed effect)" in html
    for analysis in pooled_analyses("PM", False):
        # Through the one number formatter: three decimals, no trailing zeros, never "-0".
        assert format_number(analysis.common.estimate, 3) in html
        assert format_number(analysis.result.estimate, 3) in html
